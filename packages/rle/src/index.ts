export { CLASS_COUNT, labelMapToMasks, masksToLabelMap, masksToStack, stackToMasks } from './classes.ts';
export { decode, encode, validateRle, type DecodeOptions } from './codec.ts';
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
} from './csv.ts';
export { isRleError, RleError, type RleErrorCode, type RleErrorLocation } from './errors.ts';
export type { BinaryMask, MaskShape } from './types.ts';
