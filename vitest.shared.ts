import { defineProject } from 'vitest/config';

const conditions = ['@steel/source'];

/**
 * The vitest project of one package. `tfjs: true` adds the tfjs setup (backend chosen through @steel/backend,
 * tensor-leak check after every test); `globalSetup` files run once before the project's tests.
 */
export function steelProject(name: string, options: { tfjs?: boolean; testTimeout?: number; globalSetup?: string[] } = {}) {
  return defineProject({
    resolve: { conditions },
    environments: { ssr: { resolve: { conditions } } },
    test: {
      name,
      include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
      setupFiles: options.tfjs ? ['../../tooling/vitest/tfjs-setup.ts'] : [],
      testTimeout: options.testTimeout ?? 30_000,
      ...(options.globalSetup ? { globalSetup: options.globalSetup } : {}),
      tags: [{ name: 'slow', description: 'full-size or multi-epoch; run with test:slow' }],
    },
  });
}
