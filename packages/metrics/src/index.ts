export {
  createDiceAccumulator,
  summarize,
  type AccumulatorAddOptions,
  type DiceAccumulator,
  type DiceAccumulatorOptions,
  type MetricsSummary,
  type PooledScores,
  type SummaryOptions,
} from './accumulator.ts';
export { competitionDice, confusionCounts, dice, iou, type CompetitionDice } from './confusion.ts';
export { isMetricsError, MetricsError, type MetricsErrorCode } from './errors.ts';
export {
  accuracy,
  f1Score,
  fbetaScore,
  iouScore,
  precision,
  recall,
  specificity,
  type ArrayReduction,
  type Reduction,
  type ScalarReduction,
  type ScoreFunction,
  type ScoreOptions,
  type ScoreResult,
} from './scores.ts';
export type { ConfusionCounts, MaskData, StackOptions, ThresholdOptions } from './types.ts';
