import { steelProject } from '../../vitest.shared.ts';

// Full-size ResNet models take seconds to build on the cpu backend, more on a loaded machine.
export default steelProject('models', { tfjs: true, testTimeout: 120_000 });
