/** Why an @steel/ensemble function rejected its input. */
export type EnsembleErrorCode =
  | 'INVALID_ARGUMENT'
  | 'SHAPE_MISMATCH'
  | 'INVALID_WEIGHTS'
  | 'UNKNOWN_NAME'
  | 'INVALID_CONFIG';

/** One problem found by {@link parsePostprocessConfig}: where (`classes[2].minArea`) and what. */
export interface ConfigIssue {
  readonly path: string;
  readonly message: string;
}

/** Thrown by every @steel/ensemble function on bad input; switch on `code`, not on `message`. */
export class EnsembleError extends Error {
  override readonly name = 'EnsembleError';
  readonly code: EnsembleErrorCode;
  /** For `INVALID_CONFIG`: every bad field, not only the first. Empty otherwise. */
  readonly issues: readonly ConfigIssue[];
  constructor(code: EnsembleErrorCode, message: string, options?: ErrorOptions & { issues?: readonly ConfigIssue[] }) {
    super(message, options);
    this.code = code;
    this.issues = options?.issues ?? [];
  }
}

/** Checks `name`, so it still works when two versions of @steel/ensemble are installed. */
export const isEnsembleError = (error: unknown): error is EnsembleError =>
  error instanceof Error && error.name === 'EnsembleError';

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
