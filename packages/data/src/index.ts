export { detectTrainCsvFormat, formatTrainCsv, parseTrainCsv, type ParseTrainCsvOptions, type TrainCsv, type TrainCsvFormat, type TrainRow } from './csv.ts';
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
} from './dataset.ts';
export { computeEda, formatEda, type AreaStats, type ClassStats, type EdaReport } from './eda.ts';
export { edaPageData, renderEdaPage, type EdaPageData } from './eda-page.ts';
export { DataError, isDataError, type DataErrorCode, type DataErrorDetails } from './errors.ts';
export { decodeImage, readImage, readImageSize, readLabelMap, type DecodedImage, type ReadImageOptions } from './image.ts';
export { importMaskFolder, type ImportMaskFolderOptions, type ImportMaskFolderResult, type LinkMode } from './import-mask-folder.ts';
export { createLoader, type Batch, type Loader, type LoaderOptions } from './loader.ts';
export { createRandom, hashSeed, type Random } from './random.ts';
export { loadSample, resolveTransform, type Sample, type SampleConfig, type SampleJob, type SampleTransform, type TransformContext, type TransformSpec } from './sample.ts';
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
} from './splits.ts';
export { generateSyntheticDataset, SYNTHETIC_VERSION, syntheticImageId, type SyntheticDatasetOptions, type SyntheticDatasetResult, type SyntheticProgress } from './synthetic.ts';
export {
  barChart,
  CLASS_COLOURS,
  classColour,
  escapeHtml,
  formatNumber,
  outlineMasks,
  pngDataUri,
  reportCell,
  reportPage,
  reportTable,
  type BarChartOptions,
  type BarGroup,
} from './report-html.ts';
export { renderSyntheticImage, SEVERSTAL_CLASS_SETS, type SyntheticImage } from './synthetic-render.ts';
