export type TransformErrorCode = 'INVALID_SAMPLE' | 'INVALID_OPTION' | 'OUT_OF_BOUNDS' | 'SHAPE_MISMATCH';

/** Thrown by every @steel/transforms function on bad input; switch on `code`, not on `message`. */
export class TransformError extends Error {
  override readonly name = 'TransformError';
  readonly code: TransformErrorCode;
  constructor(code: TransformErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

/** Checks `name`, so it still works when two versions of @steel/transforms are installed. */
export const isTransformError = (error: unknown): error is TransformError =>
  error instanceof Error && error.name === 'TransformError';

/** Formats a value for an error message, truncated to about 80 characters. */
export function echo(value: unknown): string {
  let text: string;
  if (typeof value === 'string') text = JSON.stringify(value);
  else if (ArrayBuffer.isView(value)) text = `${value.constructor.name}(${(value as unknown as ArrayLike<number>).length})`;
  else if (Array.isArray(value)) text = `[${value.map((v) => echo(v)).join(', ')}]`;
  else if (typeof value === 'object' && value !== null) {
    try {
      text = JSON.stringify(value) ?? String(value);
    } catch {
      text = String(value);
    }
  } else text = String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** Throws `INVALID_OPTION` unless `value` is a finite number in [min, max]. */
export function checkNumber(where: string, name: string, value: unknown, min = -Infinity, max = Infinity): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    const range = min === -Infinity && max === Infinity ? 'a finite number' : `a number in [${min}, ${max}]`;
    throw new TransformError('INVALID_OPTION', `${where}: expected ${name} to be ${range}, got ${echo(value)}.`);
  }
  return value;
}

/** Throws `INVALID_OPTION` unless `value` is an integer in [min, max]. */
export function checkInteger(where: string, name: string, value: unknown, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer in [${min}, ${max}]`;
    throw new TransformError('INVALID_OPTION', `${where}: expected ${name} to be ${range}, got ${echo(value)}.`);
  }
  return value;
}

/** Turns `limit` or `[low, high]` into a checked `[low, high]` range; a single number `x` means `[-x, x]`. */
export function checkRange(where: string, name: string, value: unknown, symmetric: boolean): readonly [number, number] {
  if (typeof value === 'number') {
    checkNumber(where, name, value, symmetric ? 0 : -Infinity);
    return symmetric ? [-value, value] : [value, value];
  }
  if (
    Array.isArray(value) &&
    value.length === 2 &&
    value.every((v) => typeof v === 'number' && Number.isFinite(v)) &&
    (value[0] as number) <= (value[1] as number)
  ) {
    return [value[0] as number, value[1] as number];
  }
  throw new TransformError(
    'INVALID_OPTION',
    `${where}: expected ${name} to be a number or a [low, high] pair with low <= high, got ${echo(value)}.`,
  );
}
