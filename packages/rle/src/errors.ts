/**
 * What went wrong, for `switch`:
 * - `INVALID_RLE`: odd token count, a token that is not a positive integer, a zero length, runs that overlap or go backwards;
 * - `OUT_OF_BOUNDS`: a run passes the last pixel;
 * - `SHAPE_MISMATCH`: a shape that is not two positive integers, or data whose length does not match it;
 * - `INVALID_CLASS`: a class id outside `1..classes` in a label map, or masks that overlap where a label map needs one class per pixel;
 * - `INVALID_CSV`: an unknown header, a row with the wrong number of fields, a bad image id or class id.
 */
export type RleErrorCode = 'INVALID_RLE' | 'OUT_OF_BOUNDS' | 'SHAPE_MISMATCH' | 'INVALID_CLASS' | 'INVALID_CSV';

/** Where in the input an {@link RleError} was found; every field is optional. */
export interface RleErrorLocation {
  /** 1-based position of the offending token in the RLE string. */
  readonly token?: number;
  /** 1-based line number in the CSV text (the header is line 1). */
  readonly line?: number;
  /** Image id of the CSV row. */
  readonly imageId?: string;
  /** Class id of the CSV row. */
  readonly classId?: number;
}

/** Thrown by every @steel/rle function on bad input; switch on `code`, not on `message`. */
export class RleError extends Error {
  override readonly name = 'RleError';
  readonly code: RleErrorCode;
  /** Where the problem is: token position, CSV line, image id, class id (the fields that apply). */
  readonly location: RleErrorLocation;
  constructor(code: RleErrorCode, message: string, options?: ErrorOptions & { location?: RleErrorLocation }) {
    super(message, options);
    this.code = code;
    this.location = options?.location ?? {};
  }
}

/** Checks `name`, so it still works when two versions of @steel/rle are installed. */
export const isRleError = (error: unknown): error is RleError => error instanceof Error && error.name === 'RleError';

/** Shortens echoed input to about 80 characters. */
export function echo(text: string, max = 80): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/**
 * Returns a copy of `error` whose message starts with the CSV line, image id and class id; keeps `code` and the token position.
 * Errors that are not {@link RleError}s are returned unchanged.
 */
export function withCsvContext(error: unknown, line: number, imageId: string, classId?: number): unknown {
  if (!isRleError(error)) return error;
  const where = `Line ${line} (image '${echo(imageId, 40)}'${classId === undefined ? '' : `, class ${classId}`})`;
  const location: RleErrorLocation = classId === undefined
    ? { ...error.location, line, imageId }
    : { ...error.location, line, imageId, classId };
  return new RleError(error.code, `${where}: ${error.message}`, { cause: error, location });
}
