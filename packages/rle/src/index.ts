export { CLASS_COUNT, labelMapToMasks, masksToLabelMap, masksToStack, stackToMasks } from './classes';
export { decode, encode, validateRle, type DecodeOptions } from './codec';
export {
  CSV_HEADERS,
  csvHeader,
  detectCsvFormat,
  formatCsv,
  formatCsvRow,
  parseCsv,
  readCsv,
  type CsvFormat,
  type CsvOptions,
  type RleRecord,
} from './csv';
export { isRleError, RleError, type RleErrorCode, type RleErrorLocation } from './errors';
export type { BinaryMask, MaskShape } from './types';
