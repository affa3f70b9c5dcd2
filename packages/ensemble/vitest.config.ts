import { steelProject } from '../../vitest.shared.ts';

export default steelProject('ensemble', { tfjs: true });
