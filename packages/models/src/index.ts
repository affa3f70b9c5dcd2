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
export { isModelsError, ModelsError, type ModelsErrorCode } from './errors';
export { registerSteelLayers } from './layers';
