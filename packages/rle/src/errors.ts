export type RleErrorCode = 'INVALID_RLE' | 'OUT_OF_BOUNDS' | 'SHAPE_MISMATCH' | 'INVALID_CSV';

/** Thrown by every @steel/rle function on bad input; switch on `code`, not on `message`. */
export class RleError extends Error {
  override readonly name = 'RleError';
  readonly code: RleErrorCode;
  constructor(code: RleErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

/** Checks `name`, so it still works when two versions of @steel/rle are installed. */
export const isRleError = (error: unknown): error is RleError => error instanceof Error && error.name === 'RleError';
