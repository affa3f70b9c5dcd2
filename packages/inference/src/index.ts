export type { EngineKind, InferenceEngine } from './engine';
export { InferenceError, isInferenceError, type InferenceErrorCode } from './errors';
export {
  createOnnxEngine,
  type OnnxEngineOptions,
  type OnnxSessionLike,
  type OnnxTensorConstructor,
  type OnnxTensorLike,
} from './onnx-engine';
export { workSize, type GeometryOptions, type InferenceImage, type Normalization, type ProbabilityMap } from './pipeline';
export { createPredictor, type InferenceModel, type Predictor, type PredictorOptions } from './predictor';
export { createTfjsEngine } from './tfjs-engine';
export { padTo, planTiles, type Tile, type TilePlan, type TilePlanOptions } from './tiling';
