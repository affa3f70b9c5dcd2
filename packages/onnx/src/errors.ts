/**
 * Why a @steel/onnx function refused its input:
 * - `INVALID_MODEL`: bytes that are not a complete ONNX model (corrupt, truncated, not protobuf, no graph or opset).
 * - `UNSUPPORTED_LAYER`: a layer class (or a setting of one, such as `channelsFirst`) the exporter has no ONNX form for.
 * - `UNSUPPORTED_MODEL`: a model whose shape of graph the exporter does not handle (several inputs, a nested model).
 * - `INVALID_OPTION`: an option out of range (`opset`, a metadata value that is not a string).
 */
export type OnnxErrorCode = 'INVALID_MODEL' | 'UNSUPPORTED_LAYER' | 'UNSUPPORTED_MODEL' | 'INVALID_OPTION';

/** Thrown by every @steel/onnx function on bad input; switch on `code`, not on `message`. */
export class OnnxError extends Error {
  override readonly name = 'OnnxError';
  readonly code: OnnxErrorCode;
  constructor(code: OnnxErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

/** Checks `name`, so it still works when two versions of @steel/onnx are installed. */
export const isOnnxError = (error: unknown): error is OnnxError => error instanceof Error && error.name === 'OnnxError';

/** Truncates echoed input to about 80 characters. */
export function echo(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
