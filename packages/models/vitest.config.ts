import { steelProject } from '../../vitest.shared.ts';

export default steelProject('models', { tfjs: true });
