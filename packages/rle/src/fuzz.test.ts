// Fuzzing the parsers a user's file reaches: any RLE string and any CSV text gives a result or a typed RleError, never
// another exception or a hang. 500 cases each here; 10,000 in the slow suite.
import { fc, test } from '@fast-check/vitest';
import { fuzzSuites, typedOnly } from '../../../tooling/vitest/fuzz.ts';
import { decode } from './codec.ts';
import { parseCsv } from './csv.ts';
import { isRleError } from './errors.ts';

// Mostly RLE-like text (digits, spaces, signs, dots), sometimes anything.
const rleText = fc.oneof(
  fc.stringMatching(/^[0-9 \-+.e\n]{0,40}$/),
  fc.array(fc.integer({ min: -5, max: 400 }), { maxLength: 12 }).map((xs) => xs.join(' ')),
  fc.string({ maxLength: 40 }),
);
const csvText = fc.oneof(
  fc
    .array(fc.tuple(fc.stringMatching(/^[a-z0-9_.]{0,10}$/), fc.integer({ min: -1, max: 6 }), rleText), { maxLength: 6 })
    .chain((rows) =>
      fc.constantFrom('ImageId,ClassId,EncodedPixels', 'ImageId,EncodedPixels,ClassId', 'ImageId_ClassId,EncodedPixels', 'x,y').map(
        (header) => [header, ...rows.map(([id, c, r]) => (header.startsWith('ImageId_') ? `${id}_${c},${r}` : `${id},${c},${r}`))].join('\n'),
      ),
    ),
  fc.string({ maxLength: 200 }),
);

fuzzSuites('fuzzing the RLE parsers', (numRuns, suite) => {
  test.prop([rleText, fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1, max: 20 })], { numRuns })(`decode (${suite})`, async (rle, height, width) => {
    await typedOnly(() => decode(rle, { height, width }), isRleError);
  });
  test.prop([csvText], { numRuns })(`parseCsv (${suite})`, async (text) => {
    await typedOnly(() => parseCsv(text), isRleError);
  });
});
