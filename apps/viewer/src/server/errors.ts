/** What went wrong when starting the viewer. */
export type ViewerErrorCode = 'USAGE' | 'NOT_FOUND' | 'NOT_A_RUN' | 'BAD_DATA' | 'PORT_IN_USE';

/** A start-up problem: printed as one line, with exit code 2, never a stack trace. */
export class ViewerError extends Error {
  override readonly name = 'ViewerError';
  readonly code: ViewerErrorCode;
  constructor(code: ViewerErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

/** Checks `name`, so it works across copies of this module. */
export const isViewerError = (error: unknown): error is ViewerError => error instanceof Error && error.name === 'ViewerError';
