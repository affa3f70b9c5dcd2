export { decode, encode } from './codec';
export { isRleError, RleError, type RleErrorCode } from './errors';
export type { MaskShape } from './types';
