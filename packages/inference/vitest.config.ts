import { steelProject } from '../../vitest.shared.ts';

export default steelProject('inference', { tfjs: true });
