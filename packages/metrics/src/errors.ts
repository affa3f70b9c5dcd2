/** What went wrong; switch on this, not on the message. */
export type MetricsErrorCode = 'SHAPE_MISMATCH' | 'INVALID_ARGUMENT';

/** Thrown by every @steel/metrics function on bad input; switch on `code`, not on `message`. */
export class MetricsError extends Error {
  override readonly name = 'MetricsError';
  readonly code: MetricsErrorCode;
  constructor(code: MetricsErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

/** Checks `name`, so it still works when two versions of @steel/metrics are installed. */
export const isMetricsError = (error: unknown): error is MetricsError =>
  error instanceof Error && error.name === 'MetricsError';
