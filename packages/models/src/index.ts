export {
  countParameters,
  createModel,
  type ClassificationHeadOptions,
  type CreateModelOptions,
} from './create-model.ts';
export { architectures, type ArchitectureName } from './decoders/registry.ts';
export { FPN_CHANNELS } from './decoders/fpn.ts';
export { UNET_DECODER_CHANNELS } from './decoders/unet.ts';
export { encoders, type EncoderName } from './encoders/registry.ts';
export type { ArchitectureSpec, DecoderContext, EncoderContext, EncoderSpec } from './model-spec.ts';
export { recalibrateBatchNorm } from './batch-norm.ts';
export { isModelsError, ModelsError, type ModelsErrorCode } from './errors.ts';
export { checkInputShape, nearestMultiple, registerSteelLayers } from './layers.ts';
export { createMemoryIOHandler, type MemoryIOHandler } from './memory-io.ts';
export {
  loadPytorchWeights,
  toPytorchWeights,
  type LoadPytorchWeightsOptions,
  type PytorchWeightsFormat,
  type PytorchWeightsReport,
} from './pytorch-weights.ts';
export {
  decodeSafetensors,
  encodeSafetensors,
  type SafeTensor,
  type SafeTensorInput,
  type SafetensorsDtype,
  type SafetensorsFile,
} from './safetensors.ts';
