/** Why an @steel/inference function rejected its input. */
export type InferenceErrorCode = 'INVALID_IMAGE' | 'INVALID_OPTION' | 'CHANNEL_MISMATCH' | 'CLASS_MISMATCH' | 'BAD_OUTPUT';

/** Thrown by every @steel/inference function on bad input; switch on `code`, not on `message`. */
export class InferenceError extends Error {
  override readonly name = 'InferenceError';
  readonly code: InferenceErrorCode;
  constructor(code: InferenceErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

/** Checks `name`, so it still works when two versions of @steel/inference are installed. */
export const isInferenceError = (error: unknown): error is InferenceError => error instanceof Error && error.name === 'InferenceError';

/** Echoes a value in an error message, truncated to about 80 characters. */
export function echo(value: unknown): string {
  let text: string;
  if (typeof value === 'string') text = `'${value}'`;
  else if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) text = String(value);
  else if (ArrayBuffer.isView(value)) text = `${value.constructor.name}(${(value as unknown as ArrayLike<number>).length})`;
  else {
    try {
      text = JSON.stringify(value) ?? String(value);
    } catch {
      text = String(value);
    }
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
