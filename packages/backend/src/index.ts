export { BackendError, isBackendError, type BackendErrorCode } from './errors.ts';
export { registerKernelFixes } from './kernels/register.ts';
export {
  BACKEND_NAMES,
  setupBackend,
  type BackendName,
  type BackendSetup,
  type ResolvedBackendName,
  type SetupBackendOptions,
} from './setup-backend.ts';
export { createAdam } from './adam.ts';
export { setWinograd } from './kernels/winograd-route.ts';
