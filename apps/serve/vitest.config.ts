import { steelProject } from '../../vitest.shared.ts';

export default steelProject('serve', { tfjs: true, testTimeout: 120_000, globalSetup: ['test/global-setup.ts'] });
