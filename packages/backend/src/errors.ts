/**
 * Why `setupBackend` failed:
 * - `INVALID_OPTION`: an option has the wrong type or value.
 * - `NOT_INSTALLED`: the package a backend needs is not installed; the message names the install command.
 * - `UNAVAILABLE`: the package is installed but cannot run here (no GPU adapter, a native library failed to load).
 * - `NO_BACKEND`: `auto` found no backend that works.
 */
export type BackendErrorCode = 'INVALID_OPTION' | 'NOT_INSTALLED' | 'UNAVAILABLE' | 'NO_BACKEND';

/** Thrown by `setupBackend`; switch on `code`, not on `message`. */
export class BackendError extends Error {
  override readonly name = 'BackendError';
  readonly code: BackendErrorCode;
  constructor(code: BackendErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

/** Checks `name`, so it still works when two versions of @steel/backend are installed. */
export const isBackendError = (error: unknown): error is BackendError =>
  error instanceof Error && error.name === 'BackendError';
