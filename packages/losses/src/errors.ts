/** What went wrong; switch on this, not on the message. */
export type LossesErrorCode = 'SHAPE_MISMATCH' | 'INVALID_ARGUMENT' | 'UNKNOWN_LOSS';

/** Thrown by every @steel/losses function on bad input; switch on `code`, not on `message`. */
export class LossesError extends Error {
  override readonly name = 'LossesError';
  readonly code: LossesErrorCode;
  constructor(code: LossesErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

/** Checks `name`, so it still works when two versions of @steel/losses are installed. */
export const isLossesError = (error: unknown): error is LossesError => error instanceof Error && error.name === 'LossesError';
