import { validateRle } from './codec.ts';
import { RleError, echo, withCsvContext } from './errors.ts';
import { checkShape } from './shape.ts';
import type { MaskShape } from './types.ts';

/**
 * The competition's three CSV layouts:
 * - `'train'`: `ImageId,ClassId,EncodedPixels`, one row per image and present class (the current train.csv);
 * - `'legacy'`: `ImageId_ClassId,EncodedPixels`, 4 rows per image, empty = no defect (the first train.csv and submissions);
 * - `'submission'`: `ImageId,EncodedPixels,ClassId` (sample_submission.csv).
 */
export type CsvFormat = 'train' | 'legacy' | 'submission';

/** One mask of one image: `rle` is the competition RLE (`''` = empty). In `'legacy'` files the id column is `${imageId}_${classId}`. */
export interface RleRecord {
  imageId: string;
  classId: number;
  rle: string;
}

/** Options of {@link parseCsv} and {@link readCsv}. */
export interface CsvOptions {
  /** Expected layout; the header must match it. Default: detected from the header. */
  readonly format?: CsvFormat;
  /** Shape to check every RLE against (e.g. `{ height: 256, width: 1600 }`), so a bad row fails with its line and image id. */
  readonly validate?: MaskShape;
}

/** The header line of each format, without the line ending. */
export const CSV_HEADERS = {
  train: 'ImageId,ClassId,EncodedPixels',
  legacy: 'ImageId_ClassId,EncodedPixels',
  submission: 'ImageId,EncodedPixels,ClassId',
} as const satisfies Record<CsvFormat, string>;

const FORMATS = Object.keys(CSV_HEADERS) as CsvFormat[];
const FIELD_COUNT: Record<CsvFormat, number> = { train: 3, legacy: 2, submission: 3 };

function unknownFormat(format: unknown): RleError {
  return new RleError('INVALID_CSV', `Unknown CSV format: expected one of ${FORMATS.map((f) => `'${f}'`).join(', ')}, got '${String(format)}'.`);
}

/** The header line of `format`, without the line ending. */
export function csvHeader(format: CsvFormat): string {
  if (!Object.hasOwn(CSV_HEADERS, format)) throw unknownFormat(format);
  return CSV_HEADERS[format];
}

/** Splits one CSV line into fields; double-quoted fields may hold commas and `""`. */
function splitFields(line: string): string[] {
  if (!line.includes('"')) return line.split(',');
  const fields: string[] = [];
  let i = 0;
  while (true) {
    if (line.charCodeAt(i) === 34) {
      let value = '';
      let j = i + 1;
      while (j < line.length) {
        const q = line.indexOf('"', j);
        if (q === -1) throw new RleError('INVALID_CSV', `expected a closing quote, got '${echo(line.slice(i))}'.`);
        value += line.slice(j, q);
        if (line.charCodeAt(q + 1) === 34) {
          value += '"';
          j = q + 2;
        } else {
          j = q + 1;
          break;
        }
      }
      fields.push(value);
      if (j >= line.length) return fields;
      if (line.charCodeAt(j) !== 44) throw new RleError('INVALID_CSV', `expected a comma after a quoted field, got '${echo(line.slice(j))}'.`);
      i = j + 1;
    } else {
      const comma = line.indexOf(',', i);
      if (comma === -1) {
        fields.push(line.slice(i));
        return fields;
      }
      fields.push(line.slice(i, comma));
      i = comma + 1;
    }
  }
}

/**
 * Returns the format whose header is `header` (a BOM, quotes around names and a trailing `\r` are ignored).
 * @throws {RleError} `INVALID_CSV` listing the three known headers.
 * @example detectCsvFormat('ImageId,ClassId,EncodedPixels'); // 'train'
 */
export function detectCsvFormat(header: string): CsvFormat {
  let line = String(header);
  if (line.charCodeAt(0) === 0xfeff) line = line.slice(1);
  line = line.replace(/\r?\n$/, '').replace(/\r$/, '');
  let normalized = line.trim();
  try {
    normalized = splitFields(normalized).map((field) => field.trim()).join(',');
  } catch {
    // keep the raw line for the message below
  }
  const format = FORMATS.find((f) => CSV_HEADERS[f] === normalized);
  if (format === undefined) {
    throw new RleError(
      'INVALID_CSV',
      `Unknown CSV header: expected one of ${FORMATS.map((f) => `'${CSV_HEADERS[f]}' (${f})`).join(', ')}, got '${echo(line)}'.`,
      { location: { line: 1 } },
    );
  }
  return format;
}

function parseClassId(text: string): number {
  const value = text.trim();
  return /^\d{1,9}$/.test(value) ? Number(value) : Number.NaN;
}

/** Parses the lines of one CSV text or stream, header first; keeps the state between lines. */
function createLineParser(options: CsvOptions): { line(text: string, lineNumber: number): RleRecord | undefined; format(): CsvFormat | undefined } {
  const { format: expected, validate } = options;
  if (expected !== undefined && !Object.hasOwn(CSV_HEADERS, expected)) throw unknownFormat(expected);
  if (validate !== undefined) checkShape(validate, 'CSV validate');
  let format: CsvFormat | undefined;
  const fail = (lineNumber: number, imageId: string | undefined, message: string): RleError =>
    new RleError('INVALID_CSV', `Line ${lineNumber}${imageId === undefined ? '' : ` (image '${echo(imageId, 40)}')`}: ${message}`, {
      location: imageId === undefined ? { line: lineNumber } : { line: lineNumber, imageId },
    });
  return {
    format: () => format,
    line(raw, lineNumber) {
      const text = raw.charCodeAt(raw.length - 1) === 13 ? raw.slice(0, -1) : raw;
      if (format === undefined) {
        let detected: CsvFormat;
        try {
          detected = detectCsvFormat(text);
        } catch (error) {
          throw fail(lineNumber, undefined, (error as Error).message);
        }
        if (expected !== undefined && detected !== expected) {
          throw fail(1, undefined, `expected the ${expected} header '${CSV_HEADERS[expected]}', got '${echo(text)}' (the ${detected} header).`);
        }
        format = detected;
        return undefined;
      }
      if (text.trim() === '') return undefined;
      let fields: string[];
      try {
        fields = splitFields(text);
      } catch (error) {
        throw withCsvContext(error, lineNumber, '?');
      }
      if (fields.length !== FIELD_COUNT[format]) {
        throw fail(lineNumber, undefined, `expected ${FIELD_COUNT[format]} fields (${CSV_HEADERS[format]}), got ${fields.length}: '${echo(text)}'.`);
      }
      let imageId: string;
      let classText: string;
      let rle: string;
      if (format === 'train') [imageId, classText, rle] = fields as [string, string, string];
      else if (format === 'submission') [imageId, rle, classText] = fields as [string, string, string];
      else {
        const id = fields[0]!;
        const underscore = id.lastIndexOf('_');
        if (underscore <= 0) throw fail(lineNumber, undefined, `expected ImageId_ClassId like '0002cc93b.jpg_1', got '${echo(id)}'.`);
        imageId = id.slice(0, underscore);
        classText = id.slice(underscore + 1);
        rle = fields[1]!;
      }
      imageId = imageId.trim();
      if (imageId === '') throw fail(lineNumber, undefined, `expected an image id, got an empty field: '${echo(text)}'.`);
      const classId = parseClassId(classText);
      if (Number.isNaN(classId)) throw fail(lineNumber, imageId, `expected a class id (a non-negative integer), got '${echo(classText)}'.`);
      if (validate !== undefined) {
        try {
          validateRle(rle, validate);
        } catch (error) {
          throw withCsvContext(error, lineNumber, imageId, classId);
        }
      }
      return { imageId, classId, rle };
    },
  };
}

/**
 * Parses a whole CSV text in any of the three formats (detected from the header unless `format` is given).
 * Accepts `\n` and `\r\n` line endings and skips blank lines. Rows keep their RLE text as is.
 * @throws {RleError} `INVALID_CSV` for an unknown or unexpected header, a wrong field count, an empty image id or a bad
 * class id; with `validate`, the RLE errors of {@link decode}. Messages start with the line number and image id.
 * @example parseCsv('ImageId,ClassId,EncodedPixels\na.jpg,1,1 3\n').records; // [{ imageId: 'a.jpg', classId: 1, rle: '1 3' }]
 */
export function parseCsv(text: string, options: CsvOptions = {}): { format: CsvFormat; records: RleRecord[] } {
  if (typeof text !== 'string') throw new RleError('INVALID_CSV', `parseCsv: expected the CSV text as a string, got ${typeof text}.`);
  const parser = createLineParser(options);
  const records: RleRecord[] = [];
  let start = 0;
  let lineNumber = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    const record = parser.line(text.slice(start, end), ++lineNumber);
    if (record !== undefined) records.push(record);
    start = end + 1;
  }
  const format = parser.format();
  if (format === undefined) throw new RleError('INVALID_CSV', `parseCsv: expected a header line, got an empty text.`);
  return { format, records };
}

/**
 * Streams the records of a CSV from chunks of text or bytes (UTF-8), e.g. a Node `ReadStream` or a web `ReadableStream`.
 * Chunks may split lines and characters anywhere. Same format, validation and errors as {@link parseCsv}.
 * @throws {RleError} as {@link parseCsv}; also `INVALID_CSV` for an empty source.
 * @example for await (const record of readCsv(createReadStream('train.csv'))) console.log(record.imageId);
 */
export async function* readCsv(source: AsyncIterable<string | Uint8Array>, options: CsvOptions = {}): AsyncGenerator<RleRecord> {
  const parser = createLineParser(options);
  const decoder = new TextDecoder();
  let carry = '';
  let lineNumber = 0;
  for await (const chunk of source) {
    carry += typeof chunk === 'string' ? decoder.decode() + chunk : decoder.decode(chunk, { stream: true });
    let start = 0;
    let end = carry.indexOf('\n');
    while (end !== -1) {
      const record = parser.line(carry.slice(start, end), ++lineNumber);
      if (record !== undefined) yield record;
      start = end + 1;
      end = carry.indexOf('\n', start);
    }
    carry = carry.slice(start);
  }
  carry += decoder.decode();
  if (carry !== '') {
    const record = parser.line(carry, ++lineNumber);
    if (record !== undefined) yield record;
  }
  if (parser.format() === undefined) throw new RleError('INVALID_CSV', `readCsv: expected a header line, got an empty source.`);
}

const UNSAFE = /[",\r\n]/;

/**
 * Formats one record as a CSV line of `format`, without the line ending.
 * @throws {RleError} `INVALID_CSV` for an image id or RLE with a comma, quote or line break, or a class id that is not a
 * non-negative integer.
 * @example formatCsvRow({ imageId: 'a.jpg', classId: 1, rle: '' }, 'legacy'); // 'a.jpg_1,'
 */
export function formatCsvRow(record: RleRecord, format: CsvFormat): string {
  if (!Object.hasOwn(CSV_HEADERS, format)) throw unknownFormat(format);
  const { imageId, classId, rle } = record;
  if (typeof imageId !== 'string' || imageId === '' || UNSAFE.test(imageId)) {
    throw new RleError('INVALID_CSV', `formatCsvRow: expected an image id without commas, quotes or line breaks, got '${echo(String(imageId))}'.`);
  }
  if (!Number.isInteger(classId) || classId < 0) {
    throw new RleError('INVALID_CSV', `formatCsvRow (image '${echo(imageId, 40)}'): expected a non-negative integer class id, got ${String(classId)}.`, {
      location: { imageId },
    });
  }
  if (typeof rle !== 'string' || UNSAFE.test(rle)) {
    throw new RleError('INVALID_CSV', `formatCsvRow (image '${echo(imageId, 40)}', class ${classId}): expected an RLE string of digits and spaces, got '${echo(String(rle))}'.`, {
      location: { imageId, classId },
    });
  }
  if (format === 'train') return `${imageId},${classId},${rle}`;
  if (format === 'legacy') return `${imageId}_${classId},${rle}`;
  return `${imageId},${rle},${classId}`;
}

/**
 * Formats records as a whole CSV file of `format`: the header, one line per record, `\n` line endings and a final `\n`,
 * byte for byte like the competition's files.
 * @throws {RleError} as {@link formatCsvRow}.
 * @example formatCsv([{ imageId: 'a.jpg', classId: 1, rle: '1 3' }], 'train'); // 'ImageId,ClassId,EncodedPixels\na.jpg,1,1 3\n'
 */
export function formatCsv(records: Iterable<RleRecord>, format: CsvFormat): string {
  const lines = [csvHeader(format)];
  for (const record of records) lines.push(formatCsvRow(record, format));
  lines.push('');
  return lines.join('\n');
}
