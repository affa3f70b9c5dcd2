export { labelComponents, type ComponentLabels, type Connectivity, type ImageShape } from './components.ts';
export { parsePostprocessConfig, type ParsedPostprocessConfig } from './config.ts';
export {
  combineProbabilities,
  COMBINE_MODES,
  createEnsemble,
  createInputAdapter,
  normalizeWeights,
  type CombineMode,
  type CombineOptions,
  type EnsembleMember,
  type InputAdapter,
  type InputAdapterOptions,
} from './ensemble.ts';
export { EnsembleError, isEnsembleError, type ConfigIssue, type EnsembleErrorCode } from './errors.ts';
export {
  createStepEvaluator,
  formatPooledTable,
  formatStepTable,
  type StepEvaluator,
  type StepEvaluatorOptions,
  type StepRow,
  type StepSample,
  type StepTable,
} from './evaluate.ts';
export {
  listComponents,
  postprocess,
  postprocessClass,
  REFERENCE_MIN_AREAS,
  REFERENCE_POSTPROCESS,
  type ClassRule,
  type DefectComponent,
  type PostprocessConfig,
  type ProbabilityShape,
} from './postprocess.ts';
export {
  predictSubmission,
  toSubmissionLines,
  writeSubmission,
  type ImageBatch,
  type PredictionProgress,
  type PredictSubmissionOptions,
} from './submission.ts';
export type { GroundTruth } from './truth.ts';
export {
  flipArray,
  parseTtaTransforms,
  TTA_TRANSFORMS,
  withTta,
  withTtaArrays,
  type ArrayBatch,
  type ArrayPredictFn,
  type PredictFn,
  type TtaOptions,
  type TtaTransform,
} from './tta.ts';
export {
  createTuner,
  DEFAULT_MIN_AREAS,
  DEFAULT_THRESHOLDS,
  type Tuner,
  type TunerOptions,
  type TuningCandidate,
  type TuningGrid,
  type TuningResult,
} from './tune.ts';
