// Fuzzing the post-processing JSON a user passes with --postprocess: a parsed config or a typed EnsembleError, nothing else.
import { fc, test } from '@fast-check/vitest';
import { fuzzSuites, typedOnly } from '../../../tooling/vitest/fuzz.ts';
import { parsePostprocessConfig } from './config.ts';
import { isEnsembleError } from './errors.ts';

const number = fc.oneof(fc.double(), fc.integer({ min: -10, max: 5000 }), fc.constantFrom(0, 0.5, 1, -0, Number.NaN));
const rule = fc.dictionary(fc.constantFrom('threshold', 'minArea', 'topThreshold', 'minMaskArea', 'gate', 'x'), fc.oneof(number, fc.string(), fc.constant(null)));
const config = fc.oneof(
  fc.record({ version: fc.oneof(fc.constant(1), number), classes: fc.array(rule, { maxLength: 5 }), connectivity: fc.oneof(fc.constantFrom(4, 8), number) }, { requiredKeys: [] }),
  fc.jsonValue(),
);

fuzzSuites('fuzzing parsePostprocessConfig', (numRuns, suite) => {
  test.prop([config, fc.option(fc.integer({ min: 1, max: 5 }), { nil: undefined })], { numRuns })(`objects (${suite})`, async (value, classes) => {
    await typedOnly(() => parsePostprocessConfig(value, classes === undefined ? {} : { classes }), isEnsembleError);
  });
  test.prop([fc.oneof(config.map((c) => JSON.stringify(c)), fc.string())], { numRuns })(`JSON text (${suite})`, async (text) => {
    await typedOnly(() => parsePostprocessConfig(text), isEnsembleError);
  });
});
