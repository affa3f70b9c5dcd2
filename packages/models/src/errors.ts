/**
 * Why a @steel/models function refused its input:
 * - `UNKNOWN_NAME`: an architecture or encoder name not in the registry.
 * - `INVALID_OPTION`: an option out of range (`inChannels`, `classes`, `seed`, `dropout`...).
 * - `INVALID_SHAPE`: an input whose height or width is not a multiple of 32, or whose rank or channels are wrong.
 * - `INVALID_SAFETENSORS`: bytes that are not a well-formed `.safetensors` file, or a dtype it cannot decode.
 * - `WEIGHTS_MISMATCH`: PyTorch tensors that are missing, unexpected or of the wrong shape for the model.
 * - `IO_ERROR`: a save or load through an IOHandler failed.
 */
export type ModelsErrorCode =
  | 'UNKNOWN_NAME'
  | 'INVALID_OPTION'
  | 'INVALID_SHAPE'
  | 'INVALID_SAFETENSORS'
  | 'WEIGHTS_MISMATCH'
  | 'IO_ERROR';

/** Thrown by every @steel/models function on bad input; switch on `code`, not on `message`. */
export class ModelsError extends Error {
  override readonly name = 'ModelsError';
  readonly code: ModelsErrorCode;
  constructor(code: ModelsErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

/** Checks `name`, so it still works when two versions of @steel/models are installed. */
export const isModelsError = (error: unknown): error is ModelsError =>
  error instanceof Error && error.name === 'ModelsError';

/** Truncates echoed input to about 80 characters. */
export function echo(value: unknown): string {
  let text: string;
  try {
    text = typeof value === 'string' ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value));
  } catch {
    text = String(value);
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
