import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCommandArgs } from './cli.ts';
import { trainSpec } from './commands/specs.ts';
import { checkMultipleOf32, getPreset, mergeConfig, parseTrainConfig, PRESETS, resolveTrainConfig } from './config.ts';
import { isAppError } from './errors.ts';
import { tempDir } from './test-helpers.ts';

function thrown(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (error) {
    if (isAppError(error)) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error('expected an error');
}

describe('config', () => {
  it('fills every default from an empty object', () => {
    const config = parseTrainConfig({});
    expect(config).toMatchObject({ architecture: 'unet', encoder: 'resnet18', inChannels: 1, loss: 'bce', backend: 'auto', crop: null, data: 'synthetic' });
    expect(config.synthetic).toEqual({ count: 320, testCount: 64, height: 64, width: 400, seed: 1 });
  });

  it.each(Object.keys(PRESETS))('preset %s is valid and complete', (name) => {
    const config = parseTrainConfig(getPreset(name));
    if (config.crop) expect(() => checkMultipleOf32('crop', config.crop!)).not.toThrow();
    // One positive weight and one minimum area per class: 4 for the Severstal presets, 3 for NEU-Seg.
    expect(config.posWeight).toHaveLength(name === 'neu-seg' ? 3 : 4);
    expect(config.minArea).toHaveLength(config.posWeight.length);
  });

  it('neu-seg needs --data, by flag or config file, and names what it expects', () => {
    const error = thrown(() => resolveTrainConfig({ preset: 'neu-seg' }));
    expect(error).toEqual({ code: 'USAGE', message: expect.stringMatching(/^--preset neu-seg needs --data: the folder of a NEU-Seg dataset converted by "import/) });
    expect(resolveTrainConfig({ preset: 'neu-seg', flags: { data: 'neu' } })).toMatchObject({ data: 'neu', budgetMinutes: 14, scale: 0.32, tune: true });
    const file = join(tempDir(), 'neu.json');
    writeFileSync(file, JSON.stringify({ data: 'from-file' }));
    expect(resolveTrainConfig({ preset: 'neu-seg', configFile: file }).data).toBe('from-file');
  });

  it('reference presets carry the original recipe', () => {
    const unet = parseTrainConfig(getPreset('reference-unet-r34'));
    expect(unet).toMatchObject({ architecture: 'unet', encoder: 'resnet34', optimizer: 'adam', lr: 3e-4, batchSize: 12, accumulate: 2 });
    expect(unet).toMatchObject({ crop: { height: 224, width: 512 }, schedule: 'plateau', patience: 4, bestBy: 'loss', posWeight: [2, 2, 1, 1.5] });
    const fpn = parseTrainConfig(getPreset('reference-fpn-r34'));
    expect(fpn).toMatchObject({ architecture: 'fpn', encoder: 'resnet34', loss: 'bce-weighted-dice' });
  });

  it('flags override the config file, which overrides the preset', () => {
    const dir = tempDir();
    const file = join(dir, 'run.json');
    writeFileSync(file, JSON.stringify({ lr: 0.01, epochs: 7, synthetic: { count: 50 } }));
    const config = resolveTrainConfig({ preset: 'reference-unet-r34', configFile: file, flags: { epochs: 9 } });
    expect(config.lr).toBe(0.01);
    expect(config.epochs).toBe(9);
    expect(config.encoder).toBe('resnet34');
    // Nested objects merge key by key.
    expect(config.synthetic).toMatchObject({ count: 50, height: 256, width: 1600 });
  });

  it('mergeConfig replaces arrays and skips undefined', () => {
    expect(mergeConfig({ a: [1, 2], b: 1 }, { a: [3], b: undefined })).toEqual({ a: [3], b: 1 });
  });

  it('rejects bad values with a listing of every problem', () => {
    const error = thrown(() => parseTrainConfig({ lr: -1, schedule: 'weekly', typo: 1 }));
    expect(error.code).toBe('CONFIG');
    expect(error.message).toContain('lr');
    expect(error.message).toContain('schedule');
    expect(error.message).toContain('typo');
  });

  it('rejects a fold outside the folds', () => {
    expect(thrown(() => parseTrainConfig({ folds: 5, fold: 5 })).message).toContain('fold must be below folds (5)');
  });

  it('names the preset choices for an unknown preset', () => {
    expect(thrown(() => getPreset('fast')).message).toBe('Unknown preset "fast". Expected one of: default, reference-unet-r34, reference-fpn-r34, neu-seg.');
  });

  it('reports a missing or malformed config file', () => {
    const dir = tempDir();
    expect(thrown(() => resolveTrainConfig({ configFile: join(dir, 'none.json') })).message).toContain('does not exist');
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{ lr: 1 ');
    expect(thrown(() => resolveTrainConfig({ configFile: bad })).message).toContain('is not valid JSON');
    writeFileSync(bad, '[1]');
    expect(thrown(() => resolveTrainConfig({ configFile: bad })).message).toContain('must hold a JSON object, got an array');
  });

  it('names the nearest valid size when a size is not a multiple of 32', () => {
    expect(thrown(() => checkMultipleOf32('--crop', { height: 250, width: 1600 })).message).toBe(
      '--crop must have height and width divisible by 32, got 250x1600. Use 256x1600 instead.',
    );
  });
});

describe('command-line flags', () => {
  it('converts typed flags into config keys', () => {
    const args = parseCommandArgs(trainSpec, ['--crop', '224x512', '--pos-weight', '2,2,1,1.5', '--lr=3e-4', '--only-defective', '--synthetic-count', '40']);
    expect(args.config).toEqual({ crop: { height: 224, width: 512 }, posWeight: [2, 2, 1, 1.5], lr: 3e-4, onlyDefective: true, synthetic: { count: 40 } });
  });

  it.each([
    [['--lr', 'fast'], '--lr expects a number, got "fast".'],
    [['--epochs', '2.5'], '--epochs expects a whole number, got "2.5".'],
    [['--crop', '224'], '--crop expects HxW (e.g. 224x512), got "224".'],
    [['--nope'], 'Unknown option \'--nope\'. Run "train --help" for the options.'],
    [['extra'], 'Unexpected argument "extra". Run "train --help" for the options.'],
  ])('rejects %j', (argv, message) => {
    expect(thrown(() => parseCommandArgs(trainSpec, argv))).toEqual({ code: 'USAGE', message });
  });
});
