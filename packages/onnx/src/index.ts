export { DEFAULT_OPSET, exportOnnx, INPUT_NAME, OUTPUT_NAMES, type ExportOnnxOptions } from './export';
export { isOnnxError, OnnxError, type OnnxErrorCode } from './errors';
export { SUPPORTED_LAYERS } from './layers';
export { describeOnnxModel, readOnnxMetadata, type OnnxModelDescription, type OnnxValueInfo } from './read';
export type { Dim as OnnxDim } from './proto';
