export { DEFAULT_OPSET, exportOnnx, INPUT_NAME, OUTPUT_NAMES, type ExportOnnxOptions } from './export.ts';
export { isOnnxError, OnnxError, type OnnxErrorCode } from './errors.ts';
export { SUPPORTED_LAYERS } from './layers.ts';
export { describeOnnxModel, readOnnxMetadata, type OnnxModelDescription, type OnnxValueInfo } from './read.ts';
export type { Dim as OnnxDim } from './proto.ts';
