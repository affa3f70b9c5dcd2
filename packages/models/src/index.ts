export {
  architectures,
  countParameters,
  createModel,
  encoders,
  FPN_CHANNELS,
  UNET_DECODER_CHANNELS,
  type ArchitectureName,
  type ArchitectureSpec,
  type ClassificationHeadOptions,
  type CreateModelOptions,
  type DecoderContext,
  type EncoderName,
  type EncoderSpec,
} from './create-model';
export { recalibrateBatchNorm } from './batch-norm';
export { isModelsError, ModelsError, type ModelsErrorCode } from './errors';
export { checkInputShape, nearestMultiple, registerSteelLayers } from './layers';
export { createMemoryIOHandler, type MemoryIOHandler } from './memory-io';
export {
  loadPytorchWeights,
  toPytorchWeights,
  type LoadPytorchWeightsOptions,
  type PytorchWeightsFormat,
  type PytorchWeightsReport,
} from './pytorch-weights';
export {
  decodeSafetensors,
  encodeSafetensors,
  type SafeTensor,
  type SafeTensorInput,
  type SafetensorsDtype,
  type SafetensorsFile,
} from './safetensors';
