// The embedded descriptor is exactly the vendored official schema (regenerate with `pnpm --filter @steel/onnx schema`).
import { expect, it } from 'vitest';
import { schemaDescriptor } from '../scripts/embed-schema.ts';
import { ONNX_SCHEMA } from './onnx-schema.ts';

it('src/onnx-schema.ts matches schema/onnx.proto', () => {
  expect(ONNX_SCHEMA).toEqual(schemaDescriptor());
});
