import { z } from 'zod';
import { DataError, echo } from './errors.ts';

/** The two competition layouts of train.csv: `ImageId,ClassId,EncodedPixels` and `ImageId_ClassId,EncodedPixels`. */
export type TrainCsvFormat = 'train' | 'legacy';

/** One (image, class) mask of train.csv. `line` is the 1-based line it came from (0 when built in code). */
export interface TrainRow {
  readonly imageId: string;
  readonly classId: number;
  readonly encodedPixels: string;
  readonly line: number;
}

/** A parsed train.csv: the non-empty masks and every image id it mentions (the legacy layout also lists defect-free ones). */
export interface TrainCsv {
  readonly format: TrainCsvFormat;
  readonly rows: readonly TrainRow[];
  readonly imageIds: readonly string[];
}

/** Options of {@link parseTrainCsv}. */
export interface ParseTrainCsvOptions {
  /** Named in error messages. Default `'train.csv'`. */
  readonly file?: string;
  /** Largest valid ClassId. Default 4. */
  readonly classes?: number;
  /** Image height and width in pixels, to bound the runs. Default 256 x 1600. */
  readonly height?: number;
  readonly width?: number;
}

const HEADERS: Record<TrainCsvFormat, string> = {
  train: 'ImageId,ClassId,EncodedPixels',
  legacy: 'ImageId_ClassId,EncodedPixels',
};

const IMAGE_ID = /^[^\s,/\\]+\.(jpg|jpeg|png)$/i;

/** Returns the problem with an RLE string, or undefined if it is valid for `total` pixels. */
function rleProblem(rle: string, total: number): string | undefined {
  if (!/^\d+ \d+( \d+ \d+)*$/.test(rle)) return 'not space-separated integer pairs';
  const tokens = rle.split(' ');
  let end = 0;
  for (let t = 0; t < tokens.length; t += 2) {
    const start = Number(tokens[t]);
    const length = Number(tokens[t + 1]);
    if (start < 1 || length < 1) return `pair ${t / 2 + 1} has a zero start or length`;
    if (start - 1 < end) return `pair ${t / 2 + 1} starts at ${start}, before the previous run ends (${end})`;
    end = start - 1 + length;
    if (end > total) return `pair ${t / 2 + 1} ends at pixel ${end}, past ${total}`;
  }
  return undefined;
}

function rowSchema(classes: number, total: number, allowEmpty: boolean) {
  const rleExpected = `${allowEmpty ? 'empty or ' : ''}'start length' pairs, increasing, within pixels 1..${total}`;
  return z.object({
    ImageId: z.string().regex(IMAGE_ID, { error: 'an image file name like 0002cc93b.jpg' }),
    ClassId: z
      .string()
      .regex(/^\d+$/, { error: `an integer class id 1..${classes}` })
      .transform(Number)
      .refine((n) => n >= 1 && n <= classes, { error: `an integer class id 1..${classes}` }),
    EncodedPixels: z.string().superRefine((value, ctx) => {
      if (value === '' && allowEmpty) return;
      const problem = value === '' ? 'empty' : rleProblem(value, total);
      if (problem !== undefined) ctx.addIssue({ code: 'custom', message: rleExpected, params: { problem } });
    }),
  });
}

function fail(file: string, line: number, column: string, expected: string, found: string, note = ''): never {
  const shown = echo(found);
  throw new DataError(
    'INVALID_CSV',
    `${file}:${line}: column ${column}: expected ${expected}, got '${shown}'${note}.`,
    { file, line, column, expected, found: shown },
  );
}

/**
 * Returns the layout of a train.csv from its header line.
 * @throws {DataError} `INVALID_CSV` if the header is neither layout.
 */
export function detectTrainCsvFormat(header: string, file = 'train.csv'): TrainCsvFormat {
  const clean = header.replace(/^\uFEFF/, '').trim();
  for (const [format, expected] of Object.entries(HEADERS) as [TrainCsvFormat, string][]) if (clean === expected) return format;
  return fail(file, 1, '(header)', `'${HEADERS.train}' or '${HEADERS.legacy}'`, clean);
}

/**
 * Parses and validates a train.csv in either competition layout; every row is checked with zod.
 * Rows with an empty EncodedPixels (legacy layout) are not in `rows`, but their images are in `imageIds`.
 * @throws {DataError} `INVALID_CSV` naming file, line, column, expected and found, for a bad header, a row with the
 * wrong number of columns, a bad image id, class id or RLE, or a duplicated (image, class) pair.
 * @example parseTrainCsv('ImageId,ClassId,EncodedPixels\na.jpg,3,1 5\n').rows[0]; // { imageId: 'a.jpg', classId: 3, ... }
 */
export function parseTrainCsv(text: string, options: ParseTrainCsvOptions = {}): TrainCsv {
  const { file = 'train.csv', classes = 4, height = 256, width = 1600 } = options;
  const lines = text.split('\n');
  const format = detectTrainCsvFormat(lines[0] ?? '', file);
  const schema = rowSchema(classes, height * width, format === 'legacy');
  const rows: TrainRow[] = [];
  const imageIds: string[] = [];
  const seenImages = new Set<string>();
  const seenPairs = new Map<string, number>();
  const columns = format === 'train' ? ['ImageId', 'ClassId', 'EncodedPixels'] : ['ImageId_ClassId', 'EncodedPixels'];
  for (let i = 1; i < lines.length; i++) {
    const raw = (lines[i] as string).replace(/\r$/, '');
    if (raw.trim() === '') continue;
    const line = i + 1;
    const cells = raw.split(',');
    if (cells.length !== columns.length) {
      fail(file, line, '(row)', `${columns.length} comma-separated columns (${columns.join(',')})`, raw, `, which has ${cells.length}`);
    }
    let record: { ImageId: string; ClassId: string; EncodedPixels: string };
    if (format === 'train') {
      record = { ImageId: cells[0] as string, ClassId: cells[1] as string, EncodedPixels: (cells[2] as string).trim() };
    } else {
      const key = cells[0] as string;
      const cut = key.lastIndexOf('_');
      if (cut < 0) fail(file, line, 'ImageId_ClassId', "'<image>_<class>', like 0002cc93b.jpg_1", key);
      record = { ImageId: key.slice(0, cut), ClassId: key.slice(cut + 1), EncodedPixels: (cells[1] as string).trim() };
    }
    const result = schema.safeParse(record);
    if (!result.success) {
      const issue = result.error.issues[0]!;
      const field = String(issue.path[0] ?? '(row)') as keyof typeof record;
      const column = format === 'legacy' && field !== 'EncodedPixels' ? 'ImageId_ClassId' : field;
      const problem = (issue as { params?: { problem?: string } }).params?.problem;
      fail(file, line, column, issue.message, record[field] ?? raw, problem === undefined ? '' : ` (${problem})`);
    }
    const { ImageId: imageId, ClassId: classId, EncodedPixels: encodedPixels } = result.data;
    if (!seenImages.has(imageId)) {
      seenImages.add(imageId);
      imageIds.push(imageId);
    }
    if (encodedPixels === '') continue;
    const pair = `${imageId}_${classId}`;
    const first = seenPairs.get(pair);
    if (first !== undefined) fail(file, line, columns[0]!, `one row per (image, class); first seen on line ${first}`, pair);
    seenPairs.set(pair, line);
    rows.push({ imageId, classId, encodedPixels, line });
  }
  return { format, rows, imageIds };
}

/** Formats masks as a train.csv in the current competition layout (`ImageId,ClassId,EncodedPixels`), one line per mask. */
export function formatTrainCsv(rows: readonly Pick<TrainRow, 'imageId' | 'classId' | 'encodedPixels'>[]): string {
  let out = `${HEADERS.train}\n`;
  for (const row of rows) out += `${row.imageId},${row.classId},${row.encodedPixels}\n`;
  return out;
}
