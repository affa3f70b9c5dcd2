import type { BackendError, BackendErrorCode } from '@steel/backend';
import type { DataError, DataErrorCode } from '@steel/data';
import type { EnsembleError, EnsembleErrorCode } from '@steel/ensemble';
import type { InferenceError, InferenceErrorCode } from '@steel/inference';
import type { LossesError, LossesErrorCode } from '@steel/losses';
import type { MetricsError, MetricsErrorCode } from '@steel/metrics';
import type { ModelsError, ModelsErrorCode } from '@steel/models';
import type { OnnxError, OnnxErrorCode } from '@steel/onnx';
import type { RleError, RleErrorCode } from '@steel/rle';
import type { TransformError, TransformErrorCode } from '@steel/transforms';

/**
 * Errors the user can fix. The CLI prints only the message (what failed, where, what to do) and exits with `exitCode`;
 * anything else is a bug and is printed with its stack.
 */
export type AppErrorCode =
  | 'USAGE'
  | 'CONFIG'
  | 'DATA_NOT_FOUND'
  | 'BAD_CSV'
  | 'BAD_IMAGE'
  | 'UNKNOWN_NAME'
  | 'BAD_SIZE'
  | 'CHECKPOINT'
  | 'BACKEND'
  | 'NON_FINITE_LOSS'
  | 'WRITE_FAILED'
  | 'INTERRUPTED';

const EXIT_CODES: Record<AppErrorCode, number> = {
  USAGE: 2,
  CONFIG: 2,
  DATA_NOT_FOUND: 3,
  BAD_CSV: 3,
  BAD_IMAGE: 3,
  UNKNOWN_NAME: 2,
  BAD_SIZE: 2,
  CHECKPOINT: 4,
  BACKEND: 5,
  NON_FINITE_LOSS: 6,
  WRITE_FAILED: 7,
  INTERRUPTED: 130,
};

/** A mistake in the input that the user can fix; printed without a stack trace. */
export class AppError extends Error {
  override readonly name = 'AppError';
  readonly code: AppErrorCode;
  readonly exitCode: number;
  constructor(code: AppErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.exitCode = EXIT_CODES[code];
  }
}

export const isAppError = (error: unknown): error is AppError => error instanceof Error && error.name === 'AppError';

/** The error classes of the packages the app calls, by their `name`. */
type PackageError = RleError | DataError | TransformError | ModelsError | OnnxError | LossesError | BackendError | EnsembleError | MetricsError | InferenceError;

/** Every code those classes can carry. */
type PackageErrorCode =
  | RleErrorCode
  | DataErrorCode
  | TransformErrorCode
  | ModelsErrorCode
  | OnnxErrorCode
  | LossesErrorCode
  | BackendErrorCode
  | EnsembleErrorCode
  | MetricsErrorCode
  | InferenceErrorCode;

/**
 * Package errors whose messages are written for users (what, expected/found, fix), by class name. Typed against the
 * classes, so a renamed or removed class fails typecheck.
 */
const USER_FACING_ERRORS = {
  RleError: 'BAD_CSV',
  DataError: 'BAD_IMAGE',
  TransformError: 'CONFIG',
  ModelsError: 'CHECKPOINT',
  LossesError: 'CONFIG',
  BackendError: 'BACKEND',
  EnsembleError: 'CONFIG',
  MetricsError: 'CONFIG',
  InferenceError: 'CONFIG',
  OnnxError: 'CHECKPOINT',
} as const satisfies Record<PackageError['name'], AppErrorCode>;

/** Package error codes that map to a more specific app code; a key no package has fails typecheck. */
const CODE_MAP = {
  MISSING_FILE: 'DATA_NOT_FOUND',
  INVALID_CSV: 'BAD_CSV',
  INVALID_DATASET: 'BAD_CSV',
  INVALID_RLE: 'BAD_CSV',
  OUT_OF_BOUNDS: 'BAD_CSV',
  INVALID_IMAGE: 'BAD_IMAGE',
  INVALID_SHAPE: 'BAD_SIZE',
  UNKNOWN_NAME: 'UNKNOWN_NAME',
  UNKNOWN_LOSS: 'UNKNOWN_NAME',
  NOT_INSTALLED: 'BACKEND',
  WEIGHTS_MISMATCH: 'CHECKPOINT',
  INVALID_SAFETENSORS: 'CHECKPOINT',
  INVALID_CONFIG: 'CONFIG',
  INVALID_OPTION: 'CONFIG',
  INVALID_ARGUMENT: 'CONFIG',
  CHANNEL_MISMATCH: 'CHECKPOINT',
  CLASS_MISMATCH: 'CHECKPOINT',
  BAD_OUTPUT: 'CHECKPOINT',
  INVALID_MODEL: 'CHECKPOINT',
} as const satisfies Partial<Record<PackageErrorCode, AppErrorCode>>;

const lookup = <T extends object>(table: T, key: unknown): AppErrorCode | undefined =>
  typeof key === 'string' && Object.hasOwn(table, key) ? (table[key as keyof T] as AppErrorCode) : undefined;

/**
 * Turns a library error with a user-facing message into an AppError; returns undefined for anything else (a bug).
 */
export function toAppError(error: unknown): AppError | undefined {
  if (isAppError(error)) return error;
  if (!(error instanceof Error)) return undefined;
  const code = (error as { code?: unknown }).code;
  const byName = lookup(USER_FACING_ERRORS, error.name);
  if (byName === undefined) {
    // Node file-system errors on paths the user gave.
    if (code === 'ENOSPC' || code === 'EDQUOT' || code === 'EROFS') {
      return new AppError('WRITE_FAILED', `${error.message}. The disk is full or read-only: free some space or pick another folder.`, { cause: error });
    }
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EACCES') {
      return new AppError('DATA_NOT_FOUND', `${error.message}. Check the path.`, { cause: error });
    }
    return undefined;
  }
  const mapped = lookup(CODE_MAP, code);
  return new AppError(mapped ?? byName, error.message, { cause: error });
}
