import { steelProject } from '../../vitest.shared.ts';

export default steelProject('losses', { tfjs: true });
