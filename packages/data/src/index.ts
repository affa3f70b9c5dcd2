export { detectTrainCsvFormat, formatTrainCsv, parseTrainCsv, type ParseTrainCsvOptions, type TrainCsv, type TrainCsvFormat, type TrainRow } from './csv';
export {
  decodeMask,
  MANIFEST_FILE,
  openKaggleDataset,
  readManifest,
  SEVERSTAL_CLASSES,
  SEVERSTAL_IMAGE_SHAPE,
  type DatasetManifest,
  type ImageEntry,
  type KaggleDataset,
  type OpenKaggleDatasetOptions,
  type SkippedImage,
} from './dataset';
export { computeEda, formatEda, type AreaStats, type ClassStats, type EdaReport } from './eda';
export { DataError, isDataError, type DataErrorCode, type DataErrorDetails } from './errors';
export { readImage, readImageSize, readLabelMap, type DecodedImage, type ReadImageOptions } from './image';
export { importMaskFolder, type ImportMaskFolderOptions, type ImportMaskFolderResult, type LinkMode } from './import-mask-folder';
export { createLoader, type Batch, type Loader, type LoaderOptions } from './loader';
export { createRandom, hashSeed, type Random } from './random';
export { loadSample, resolveTransform, type Sample, type SampleConfig, type SampleJob, type SampleTransform, type TransformContext, type TransformSpec } from './sample';
export {
  addHardNegatives,
  classSetKey,
  foldSplit,
  holdoutSplit,
  onlyDefective,
  parseIdList,
  readIdList,
  readSplit,
  stratifiedKFold,
  writeIdList,
  writeSplit,
  type HoldoutOptions,
  type Split,
} from './splits';
export { generateSyntheticDataset, SYNTHETIC_VERSION, syntheticImageId, type SyntheticDatasetOptions, type SyntheticDatasetResult, type SyntheticProgress } from './synthetic';
export { renderSyntheticImage, SEVERSTAL_CLASS_SETS, type SyntheticImage } from './synthetic-render';
