// Errors the user (or an HTTP client) can fix: a code, a one-line message, an exit code and an HTTP status.

/** What went wrong, as a closed set; switch on it, not on the message. */
export type ServeErrorCode =
  | 'USAGE'
  | 'CONFIG'
  | 'NOT_FOUND'
  | 'CHECKPOINT'
  | 'BACKEND'
  | 'REDIS'
  | 'BAD_IMAGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'EMPTY_BODY'
  | 'BODY_TOO_LARGE'
  | 'BAD_REQUEST'
  | 'UNAUTHORIZED'
  | 'OVERLOADED'
  | 'NOT_READY'
  | 'INTERRUPTED';

const EXIT_CODES: Record<ServeErrorCode, number> = {
  USAGE: 2,
  CONFIG: 2,
  NOT_FOUND: 3,
  BAD_IMAGE: 3,
  CHECKPOINT: 4,
  BACKEND: 5,
  REDIS: 7,
  UNSUPPORTED_MEDIA_TYPE: 2,
  EMPTY_BODY: 2,
  BODY_TOO_LARGE: 2,
  BAD_REQUEST: 2,
  UNAUTHORIZED: 2,
  OVERLOADED: 1,
  NOT_READY: 1,
  INTERRUPTED: 130,
};

/** HTTP status of each code when it answers a request. */
export const HTTP_STATUS: Record<ServeErrorCode, number> = {
  USAGE: 400,
  CONFIG: 400,
  NOT_FOUND: 404,
  BAD_IMAGE: 422,
  CHECKPOINT: 500,
  BACKEND: 500,
  REDIS: 503,
  UNSUPPORTED_MEDIA_TYPE: 415,
  EMPTY_BODY: 400,
  BODY_TOO_LARGE: 413,
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  OVERLOADED: 503,
  NOT_READY: 503,
  INTERRUPTED: 503,
};

/** A mistake the user can fix; the CLI prints its message without a stack trace, the service answers it as JSON. */
export class ServeError extends Error {
  override readonly name = 'ServeError';
  readonly code: ServeErrorCode;
  readonly exitCode: number;
  readonly status: number;
  constructor(code: ServeErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.exitCode = EXIT_CODES[code];
    this.status = HTTP_STATUS[code];
  }
}

/** Checks `name`, so it holds across module copies. */
export const isServeError = (error: unknown): error is ServeError => error instanceof Error && error.name === 'ServeError';

/** Package errors whose messages are written for users, and the code they become here. */
const USER_FACING: Record<string, ServeErrorCode> = {
  DataError: 'BAD_IMAGE',
  ModelsError: 'CHECKPOINT',
  EnsembleError: 'CONFIG',
  BackendError: 'BACKEND',
  InferenceError: 'CHECKPOINT',
};

/** A user-facing error as a ServeError (library errors with written messages included), or undefined for a bug. */
export function toServeError(error: unknown): ServeError | undefined {
  if (isServeError(error)) return error;
  if (!(error instanceof Error)) return undefined;
  const code = (error as { code?: unknown }).code;
  const mapped = USER_FACING[error.name];
  if (mapped !== undefined) {
    const specific: ServeErrorCode = code === 'MISSING_FILE' ? 'NOT_FOUND' : code === 'INVALID_IMAGE' ? 'BAD_IMAGE' : mapped;
    return new ServeError(specific, error.message, { cause: error });
  }
  if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EACCES') return new ServeError('NOT_FOUND', `${error.message}. Check the path.`, { cause: error });
  return undefined;
}

/** Cuts echoed input to about 80 characters. */
export const clip = (text: string, max = 80): string => (text.length > max ? `${text.slice(0, max)}…` : text);
