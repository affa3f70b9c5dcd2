import { steelProject } from '../../vitest.shared.ts';

export default steelProject('viewer', { testTimeout: 120_000 });
