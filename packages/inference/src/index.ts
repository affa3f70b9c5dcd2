export type { EngineKind, InferenceEngine } from './engine.ts';
export { InferenceError, isInferenceError, type InferenceErrorCode } from './errors.ts';
export {
  createOnnxEngine,
  type OnnxEngineOptions,
  type OnnxSessionLike,
  type OnnxTensorConstructor,
  type OnnxTensorLike,
} from './onnx-engine.ts';
export { resizeBatch, toInputBatch, workSize, type GeometryOptions, type InferenceImage, type Normalization, type ProbabilityMap } from './pipeline.ts';
export { createPredictor, type InferenceModel, type Predictor, type PredictorOptions } from './predictor.ts';
export { createTfjsEngine } from './tfjs-engine.ts';
export { padTo, planTiles, type Tile, type TilePlan, type TilePlanOptions } from './tiling.ts';
