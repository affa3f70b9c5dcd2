import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { csvHeader, detectCsvFormat, formatCsv, formatCsvRow, parseCsv, readCsv, type CsvFormat, type RleRecord } from './csv.ts';
import { isRleError } from './errors.ts';

const TRAIN = 'ImageId,ClassId,EncodedPixels\n0002cc93b.jpg,1,29102 12 29346 24\n0007a71bf.jpg,3,18661 28 18863 82\n';
const LEGACY = 'ImageId_ClassId,EncodedPixels\n0002cc93b.jpg_1,29102 12 29346 24\n0002cc93b.jpg_2,\n0002cc93b.jpg_3,\n0002cc93b.jpg_4,\n';
const SUBMISSION = 'ImageId,EncodedPixels,ClassId\n0000f269f.jpg,1 409600,0\n000ccc2ac.jpg,1 409600,0\n';

async function collect(source: AsyncIterable<string | Uint8Array>, options = {}): Promise<RleRecord[]> {
  const out: RleRecord[] = [];
  for await (const record of readCsv(source, options)) out.push(record);
  return out;
}

async function* chunks<T>(parts: T[]): AsyncGenerator<T> {
  for (const part of parts) yield part;
}

const record = fc.record({
  imageId: fc.stringMatching(/^[0-9a-f]{9}\.jpg$/),
  classId: fc.integer({ min: 0, max: 4 }),
  rle: fc.oneof(fc.constant(''), fc.array(fc.integer({ min: 1, max: 409600 }), { minLength: 1, maxLength: 6 }).map((a) => a.join(' '))),
});
const format = fc.constantFrom<CsvFormat>('train', 'legacy', 'submission');

describe('CSV formats', () => {
  it.each([
    ['ImageId,ClassId,EncodedPixels', 'train'],
    ['ImageId_ClassId,EncodedPixels', 'legacy'],
    ['ImageId,EncodedPixels,ClassId', 'submission'],
    ['\ufeffImageId,ClassId,EncodedPixels\r\n', 'train'],
    ['"ImageId","EncodedPixels","ClassId"', 'submission'],
  ])('detects %j as %s', (header, expected) => {
    expect(detectCsvFormat(header)).toBe(expected);
  });

  it('parses the three formats', () => {
    expect(parseCsv(TRAIN)).toEqual({
      format: 'train',
      records: [
        { imageId: '0002cc93b.jpg', classId: 1, rle: '29102 12 29346 24' },
        { imageId: '0007a71bf.jpg', classId: 3, rle: '18661 28 18863 82' },
      ],
    });
    const legacy = parseCsv(LEGACY);
    expect(legacy.format).toBe('legacy');
    expect(legacy.records.map((r) => [r.imageId, r.classId, r.rle])).toEqual([
      ['0002cc93b.jpg', 1, '29102 12 29346 24'],
      ['0002cc93b.jpg', 2, ''],
      ['0002cc93b.jpg', 3, ''],
      ['0002cc93b.jpg', 4, ''],
    ]);
    expect(parseCsv(SUBMISSION).records[1]).toEqual({ imageId: '000ccc2ac.jpg', classId: 0, rle: '1 409600' });
  });

  it.each([TRAIN, LEGACY, SUBMISSION])('writes back byte for byte: %#', (text) => {
    const { format, records } = parseCsv(text);
    expect(formatCsv(records, format)).toBe(text);
  });

  it('accepts CRLF, a missing final newline and blank lines', () => {
    expect(parseCsv(TRAIN.replaceAll('\n', '\r\n')).records).toEqual(parseCsv(TRAIN).records);
    expect(parseCsv(`${TRAIN.trimEnd()}\n\n`).records).toEqual(parseCsv(TRAIN.trimEnd()).records);
  });

  it('formats rows and headers', () => {
    const r = { imageId: 'a.jpg', classId: 2, rle: '1 3' };
    expect(csvHeader('legacy')).toBe('ImageId_ClassId,EncodedPixels');
    expect([formatCsvRow(r, 'train'), formatCsvRow(r, 'legacy'), formatCsvRow(r, 'submission')]).toEqual(['a.jpg,2,1 3', 'a.jpg_2,1 3', 'a.jpg,1 3,2']);
    expect(formatCsv([], 'train')).toBe('ImageId,ClassId,EncodedPixels\n');
  });

  test.prop([fc.array(record, { maxLength: 20 }), format])('parseCsv(formatCsv(records)) returns the records', (records, f) => {
    expect(parseCsv(formatCsv(records, f), { format: f })).toEqual({ format: f, records });
  });

  test.prop([fc.array(record, { maxLength: 20 }), format, fc.array(fc.nat(), { maxLength: 12 }), fc.boolean()])(
    'readCsv gives the records of parseCsv wherever chunks split the text',
    async (records, f, cuts, asBytes) => {
      const text = formatCsv(records, f);
      const bytes = new TextEncoder().encode(text);
      const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
      const parts: (string | Uint8Array)[] = [];
      let from = 0;
      for (const p of [...points, bytes.length]) {
        const slice = bytes.subarray(from, p);
        parts.push(asBytes ? slice : new TextDecoder().decode(slice));
        from = p;
      }
      expect(await collect(chunks(parts))).toEqual(parseCsv(text).records);
    },
  );

  it('streams multi-byte characters split across chunks', async () => {
    const bytes = new TextEncoder().encode('ImageId,ClassId,EncodedPixels\nstahl-ü.jpg,1,1 2\n');
    const cut = bytes.indexOf(0xc3) + 1;
    expect(await collect(chunks([bytes.subarray(0, cut), bytes.subarray(cut)]))).toEqual([{ imageId: 'stahl-ü.jpg', classId: 1, rle: '1 2' }]);
  });
});

describe('CSV errors', () => {
  const shape = { height: 256, width: 1600 };
  it.each([
    { text: 'Id,Rle\na,1 2\n', code: 'INVALID_CSV', line: 1, why: 'unknown header' },
    { text: 'ImageId,ClassId,EncodedPixels\na.jpg,1\n', code: 'INVALID_CSV', line: 2, why: 'missing field' },
    { text: 'ImageId,ClassId,EncodedPixels\na.jpg,one,1 2\n', code: 'INVALID_CSV', line: 2, why: 'bad class id' },
    { text: 'ImageId,ClassId,EncodedPixels\n,1,1 2\n', code: 'INVALID_CSV', line: 2, why: 'empty image id' },
    { text: 'ImageId_ClassId,EncodedPixels\na.jpg,1 2\n', code: 'INVALID_CSV', line: 2, why: 'legacy id without class' },
    { text: `ImageId,ClassId,EncodedPixels\na.jpg,1,1 2\nb.jpg,3,5 1 9\n`, code: 'INVALID_RLE', line: 3, why: 'odd token count' },
    { text: `ImageId,ClassId,EncodedPixels\nb.jpg,3,5 2 6 1\n`, code: 'INVALID_RLE', line: 2, why: 'overlap' },
    { text: `ImageId,EncodedPixels,ClassId\nb.jpg,409600 2,1\n`, code: 'OUT_OF_BOUNDS', line: 2, why: 'past the last pixel' },
    { text: `ImageId_ClassId,EncodedPixels\nb.jpg_2,1 0\n`, code: 'INVALID_RLE', line: 2, why: 'zero length' },
  ])('$why -> $code at line $line, in parseCsv and readCsv', async ({ text, code, line }) => {
    for (const error of [catchError(() => parseCsv(text, { validate: shape })), await catchAsync(() => collect(chunks([text]), { validate: shape }))]) {
      expect(error.code).toBe(code);
      expect(error.location.line).toBe(line);
      expect(error.message).toMatch(new RegExp(`^Line ${line}\\b`));
    }
  });

  it('messages name the line, image id, class, token, expected and found', () => {
    expect(catchError(() => detectCsvFormat('Id,Rle')).message).toMatchInlineSnapshot(`"Unknown CSV header: expected one of 'ImageId,ClassId,EncodedPixels' (train), 'ImageId_ClassId,EncodedPixels' (legacy), 'ImageId,EncodedPixels,ClassId' (submission), got 'Id,Rle'."`);
    expect(catchError(() => parseCsv('ImageId,ClassId,EncodedPixels\na.jpg,one,1 2\n')).message).toMatchInlineSnapshot(`"Line 2 (image 'a.jpg'): expected a class id (a non-negative integer), got 'one'."`);
    const rle = catchError(() => parseCsv('ImageId,ClassId,EncodedPixels\na.jpg,1,1 2\nb.jpg,3,5 1 9\n', { validate: shape }));
    expect(rle.message).toMatchInlineSnapshot(`"Line 3 (image 'b.jpg', class 3): Invalid RLE: expected an even number of tokens (start length pairs), got 3; token 3 (start 9) has no length."`);
    expect(rle.location).toEqual({ token: 3, line: 3, imageId: 'b.jpg', classId: 3 });
    const bounds = catchError(() => parseCsv('ImageId,EncodedPixels,ClassId\nb.jpg,409600 2,1\n', { validate: shape }));
    expect(bounds.message).toMatchInlineSnapshot(`"Line 2 (image 'b.jpg', class 1): RLE run past the last pixel at token 2 (length of run 1): expected a length of at most 1 (run 409600 2 must end by pixel 409600 of 256x1600), got 2."`);
  });

  it('rejects a header that is not the expected format, and unsafe fields when writing', () => {
    expect(catchError(() => parseCsv(TRAIN, { format: 'legacy' })).message).toMatch(/expected the legacy header 'ImageId_ClassId,EncodedPixels', got 'ImageId,ClassId,EncodedPixels'/);
    expect(catchError(() => formatCsvRow({ imageId: 'a,b', classId: 1, rle: '' }, 'train')).code).toBe('INVALID_CSV');
    expect(catchError(() => formatCsvRow({ imageId: 'a', classId: 1.5, rle: '' }, 'train')).code).toBe('INVALID_CSV');
    expect(catchError(() => parseCsv('')).code).toBe('INVALID_CSV');
  });
});

function catchError(call: () => unknown) {
  try {
    call();
  } catch (error) {
    if (isRleError(error)) return error;
    throw error;
  }
  throw new Error('expected an RleError, nothing was thrown');
}

async function catchAsync(call: () => Promise<unknown>) {
  try {
    await call();
  } catch (error) {
    if (isRleError(error)) return error;
    throw error;
  }
  throw new Error('expected an RleError, nothing was thrown');
}
