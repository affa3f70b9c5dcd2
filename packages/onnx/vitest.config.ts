import { steelProject } from '../../vitest.shared.ts';

// Full-size ResNet models take seconds to build and export, more on a loaded machine.
export default steelProject('onnx', { tfjs: true, testTimeout: 120_000 });
