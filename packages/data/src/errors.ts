/** What went wrong, for `switch`; the message says where and how to fix it. */
export type DataErrorCode =
  | 'INVALID_CSV'
  | 'INVALID_IMAGE'
  | 'MISSING_FILE'
  | 'INVALID_DATASET'
  | 'INVALID_SPLIT'
  | 'INVALID_ARGUMENT'
  | 'WORKER_FAILED';

/** Where a bad value was found and what was expected there. Every field is optional. */
export interface DataErrorDetails {
  readonly file?: string;
  /** 1-based line number in `file` (the header is line 1). */
  readonly line?: number;
  /** Column name, e.g. `EncodedPixels`. */
  readonly column?: string;
  readonly expected?: string;
  /** The offending value, truncated to about 80 characters. */
  readonly found?: string;
}

/** Thrown by every @steel/data function on bad input or bad files; switch on `code`, not on `message`. */
export class DataError extends Error {
  override readonly name = 'DataError';
  readonly code: DataErrorCode;
  readonly file: string | undefined;
  readonly line: number | undefined;
  readonly column: string | undefined;
  readonly expected: string | undefined;
  readonly found: string | undefined;
  constructor(code: DataErrorCode, message: string, details: DataErrorDetails = {}, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.file = details.file;
    this.line = details.line;
    this.column = details.column;
    this.expected = details.expected;
    this.found = details.found;
  }
}

/** Checks `name`, so it still works when two versions of @steel/data are installed. */
export const isDataError = (error: unknown): error is DataError => error instanceof Error && error.name === 'DataError';

/** Echoes input in messages, truncated to about 80 characters. */
export function echo(value: string, max = 80): string {
  return value.length > max ? `${value.slice(0, max - 1)}…` : value;
}
