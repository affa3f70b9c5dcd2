import { steelProject } from '../../vitest.shared.ts';

export default steelProject('train', { tfjs: true, testTimeout: 120_000 });
