import { BACKEND_NAMES as REGISTRY_BACKENDS } from '@steel/backend';
import { losses } from '@steel/losses';
import { architectures, encoders } from '@steel/models';
import { describe, expect, it } from 'vitest';
import { helpText } from './cli.ts';
import { COMMAND_SPECS } from './commands/specs.ts';
import { ARCHITECTURE_NAMES, BACKEND_NAMES, ENCODER_NAMES, LOSS_NAMES } from './names.ts';

describe('the command line offers exactly the registries’ names, in their order', () => {
  it.each([
    ['architectures', ARCHITECTURE_NAMES, Object.keys(architectures)],
    ['encoders', ENCODER_NAMES, Object.keys(encoders)],
    ['losses', LOSS_NAMES, Object.keys(losses)],
    ['backends', BACKEND_NAMES, [...REGISTRY_BACKENDS]],
  ])('%s', (_, copy, registry) => {
    expect([...copy]).toEqual(registry);
  });

  it('train --help and bench --help list them', () => {
    const train = helpText(COMMAND_SPECS.find((c) => c.name === 'train')!);
    expect(train).toContain(Object.keys(encoders).join(' | '));
    expect(train).toContain(Object.keys(losses).join(' | '));
    expect(train).toContain([...REGISTRY_BACKENDS].join(' | '));
    const bench = helpText(COMMAND_SPECS.find((c) => c.name === 'bench')!);
    expect(bench).toContain(`${Object.keys(architectures).join(' | ')} (default unet)`);
    expect(bench).toContain(`${Object.keys(encoders).join(' | ')} (default resnet18)`);
  });
});
