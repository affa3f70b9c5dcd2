import type { Connectivity } from './components.ts';
import { EnsembleError, echo, type ConfigIssue } from './errors.ts';
import type { ClassRule, PostprocessConfig } from './postprocess.ts';

/** A validated post-processing config: every rule complete. */
export interface ParsedPostprocessConfig extends PostprocessConfig {
  readonly classes: readonly Required<ClassRule>[];
  readonly connectivity: Connectivity;
}

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * Parses a post-processing config: JSON text or an already parsed value, either `{ classes, connectivity? }` or a whole
 * tuning result (its other fields are ignored). Fills each rule's defaults; unknown rule fields are errors (typos).
 * @throws {EnsembleError} `INVALID_CONFIG` naming every bad field in `issues` (`classes[2].minArea: expected …, got …`).
 * @example const config = parsePostprocessConfig(await readFile('tuned.json', 'utf8'), { classes: 4 });
 */
export function parsePostprocessConfig(input: unknown, { classes: expectedClasses }: { classes?: number } = {}): ParsedPostprocessConfig {
  let value = input;
  if (typeof input === 'string') {
    try {
      value = JSON.parse(input);
    } catch (cause) {
      throw new EnsembleError('INVALID_CONFIG', `Expected post-processing config JSON, got text that does not parse: ${(cause as Error).message}`, {
        cause,
        issues: [{ path: '', message: 'not JSON' }],
      });
    }
  }
  const issues: ConfigIssue[] = [];
  const issue = (path: string, expected: string, got: unknown): void => {
    issues.push({ path, message: `expected ${expected}, got ${echo(got)}` });
  };
  const rules: Required<ClassRule>[] = [];
  let connectivity: Connectivity = 8;
  if (!isRecord(value)) {
    issue('', 'an object { classes: [...] }', value);
  } else {
    if (value['connectivity'] !== undefined) {
      if (value['connectivity'] === 4 || value['connectivity'] === 8) connectivity = value['connectivity'];
      else issue('connectivity', '4 or 8', value['connectivity']);
    }
    if (value['version'] !== undefined && value['version'] !== 1) issue('version', '1', value['version']);
    const classes = value['classes'];
    if (!Array.isArray(classes) || classes.length === 0) {
      issue('classes', 'a non-empty array of rules', classes);
    } else {
      if (expectedClasses !== undefined && classes.length !== expectedClasses) {
        issue('classes', `${expectedClasses} rules (one per class)`, `${classes.length} rules`);
      }
      classes.forEach((rule: unknown, k) => {
        const at = `classes[${k}]`;
        if (!isRecord(rule)) {
          issue(at, 'an object { threshold, minArea?, topThreshold?, minMaskArea?, gate? }', rule);
          return;
        }
        const known = ['threshold', 'minArea', 'topThreshold', 'minMaskArea', 'gate'];
        for (const key of Object.keys(rule)) if (!known.includes(key)) issue(`${at}.${key}`, `one of the fields ${known.join(', ')}`, key);
        const prob = (key: string, required: boolean): number => {
          const v = rule[key];
          if (v === undefined && !required) return 0;
          if (typeof v !== 'number' || !(v >= 0 && v < 1)) issue(`${at}.${key}`, 'a number in [0, 1)', v);
          return v as number;
        };
        const area = (key: string): number => {
          const v = rule[key];
          if (v === undefined) return 0;
          if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) issue(`${at}.${key}`, 'a non-negative integer', v);
          return v as number;
        };
        const gate = rule['gate'] ?? 0;
        if (typeof gate !== 'number' || !(gate >= 0 && gate <= 1)) issue(`${at}.gate`, 'a number in [0, 1]', gate);
        rules.push({
          threshold: prob('threshold', true),
          minArea: area('minArea'),
          topThreshold: prob('topThreshold', false),
          minMaskArea: area('minMaskArea'),
          gate: gate as number,
        });
      });
    }
  }
  if (issues.length > 0) {
    const list = issues.map((i) => `${i.path || '(root)'}: ${i.message}`);
    throw new EnsembleError('INVALID_CONFIG', `Invalid post-processing config: ${list.slice(0, 5).join('; ')}${list.length > 5 ? `; and ${list.length - 5} more` : ''}.`, { issues });
  }
  return { classes: rules, connectivity };
}
