export {
  countParameters,
  createModel,
  type ClassificationHeadOptions,
  type CreateModelOptions,
} from './create-model';
export { architectures, type ArchitectureName } from './decoders/registry';
export { FPN_CHANNELS } from './decoders/fpn';
export { UNET_DECODER_CHANNELS } from './decoders/unet';
export { encoders, type EncoderName } from './encoders/registry';
export type { ArchitectureSpec, DecoderContext, EncoderContext, EncoderSpec } from './model-spec';
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
