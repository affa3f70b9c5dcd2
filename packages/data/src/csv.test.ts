import { describe, expect, it } from 'vitest';
import { detectTrainCsvFormat, formatTrainCsv, parseTrainCsv } from './csv.ts';
import { isDataError } from './errors.ts';

const HEADER = 'ImageId,ClassId,EncodedPixels';

function errorOf(text: string, options = {}) {
  try {
    parseTrainCsv(text, { file: 'x/train.csv', ...options });
  } catch (error) {
    if (isDataError(error)) return error;
    throw error;
  }
  throw new Error('expected parseTrainCsv to throw');
}

describe('parseTrainCsv', () => {
  it('parses both layouts; legacy keeps defect-free images in imageIds', () => {
    const train = parseTrainCsv(`${HEADER}\na.jpg,3,1 5 10 2\nb.jpg,1,7 1\n`);
    expect(train.format).toBe('train');
    expect(train.rows).toEqual([
      { imageId: 'a.jpg', classId: 3, encodedPixels: '1 5 10 2', line: 2 },
      { imageId: 'b.jpg', classId: 1, encodedPixels: '7 1', line: 3 },
    ]);
    const legacy = parseTrainCsv('ImageId_ClassId,EncodedPixels\r\na.jpg_1,\r\na.jpg_2,3 4\r\nb.jpg_1,\r\n');
    expect(legacy.format).toBe('legacy');
    expect(legacy.imageIds).toEqual(['a.jpg', 'b.jpg']);
    expect(legacy.rows).toEqual([{ imageId: 'a.jpg', classId: 2, encodedPixels: '3 4', line: 3 }]);
  });

  it('round-trips through formatTrainCsv', () => {
    const rows = [{ imageId: 'a.jpg', classId: 2, encodedPixels: '5 3', line: 2 }];
    expect(parseTrainCsv(formatTrainCsv(rows)).rows).toEqual(rows);
  });

  it.each([
    { name: 'image id', row: 'a.txt,1,1 2', line: 2, column: 'ImageId', expected: 'an image file name like 0002cc93b.jpg', found: 'a.txt' },
    { name: 'class 0', row: 'a.jpg,0,1 2', line: 2, column: 'ClassId', expected: 'an integer class id 1..4', found: '0' },
    { name: 'class text', row: 'a.jpg,x,1 2', line: 2, column: 'ClassId', expected: 'an integer class id 1..4', found: 'x' },
    { name: 'odd tokens', row: 'a.jpg,1,1 2 3', line: 2, column: 'EncodedPixels', expected: "'start length' pairs, increasing, within pixels 1..409600", found: '1 2 3' },
    { name: 'overlap', row: 'a.jpg,1,10 5 12 1', line: 2, column: 'EncodedPixels', expected: "'start length' pairs, increasing, within pixels 1..409600", found: '10 5 12 1' },
    { name: 'past the end', row: 'a.jpg,1,409600 2', line: 2, column: 'EncodedPixels', expected: "'start length' pairs, increasing, within pixels 1..409600", found: '409600 2' },
    { name: 'empty rle', row: 'a.jpg,1,', line: 2, column: 'EncodedPixels', expected: "'start length' pairs, increasing, within pixels 1..409600", found: '' },
    { name: 'columns', row: 'a.jpg,1', line: 2, column: '(row)', expected: '3 comma-separated columns (ImageId,ClassId,EncodedPixels)', found: 'a.jpg,1' },
  ])('reports $name with file, line, column, expected and found', ({ row, line, column, expected, found }) => {
    const error = errorOf(`${HEADER}\n${row}\n`);
    expect(error.code).toBe('INVALID_CSV');
    expect({ file: error.file, line: error.line, column: error.column, expected: error.expected, found: error.found }).toEqual({ file: 'x/train.csv', line, column, expected, found });
  });

  it('counts lines from the header and names the later row of a duplicate', () => {
    const error = errorOf(`${HEADER}\na.jpg,1,1 2\n\nb.jpg,2,1 2\na.jpg,1,5 2\n`);
    expect(error.line).toBe(5);
    expect(error.message).toMatchInlineSnapshot(`"x/train.csv:5: column ImageId: expected one row per (image, class); first seen on line 2, got 'a.jpg_1'."`);
  });

  it('validates legacy keys and the class range from options', () => {
    const error = errorOf('ImageId_ClassId,EncodedPixels\nabc,1 2\n');
    expect(error.column).toBe('ImageId_ClassId');
    expect(errorOf(`${HEADER}\na.jpg,4,1 2\n`, { classes: 3 }).expected).toBe('an integer class id 1..3');
    expect(errorOf(`${HEADER}\na.jpg,1,90 20\n`, { height: 10, width: 10 }).message).toMatchInlineSnapshot(
      `"x/train.csv:2: column EncodedPixels: expected 'start length' pairs, increasing, within pixels 1..100, got '90 20' (pair 1 ends at pixel 109, past 100)."`,
    );
  });

  it('rejects an unknown header', () => {
    expect(() => detectTrainCsvFormat('ImageId,EncodedPixels,ClassId')).toThrowError(/expected 'ImageId,ClassId,EncodedPixels' or 'ImageId_ClassId,EncodedPixels'/);
  });
});
