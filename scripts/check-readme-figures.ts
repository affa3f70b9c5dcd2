// Fails when a README states a measured figure that no committed result file backs, or that names no command nearby.
//
// A figure is a number with a unit of time, size, speed or ratio (463 s, 1.86 s, 83 µs, 55 MB, 2.3 images/s, 12x, 47.1%), or a
// decimal in prose or tables (Dice 0.8880, ratio 0.42). Each must equal, to the precision shown, a number in a committed result
// file (RESULT_GLOBS below), in the same unit or one converted (ms ↔ s ↔ min, bytes ↔ KB/MB/GB and KiB/MiB/GiB, % ↔ fraction);
// "~" figures may differ by 10%. Formatting is free: 0.806 matches 0.8060, 1,036 matches 1036, 7.6e-6 matches 0.0000076.
// Inline code (`--scale 0.25`), code blocks of source code, and the settings in SETTING_WORDS (threshold 0.5, Node 20.20) are
// not measurements. Each figure must also have a command in backticks (`pnpm …`, `bash …`, `train …`) in its paragraph or
// table, or in the paragraph just above. Run: pnpm check:figures
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(fileURLToPath(import.meta.url), '../..');

/** Committed result files: every JSON file in these folders (relative to the root; `*` is one path segment). */
export const RESULT_DIRS = ['docs/results', 'packages/*/bench', 'packages/*/results', 'apps/*/results', 'apps/*/docs/results'];
/** READMEs checked. */
export const README_GLOBS = ['README.md', 'packages/*/README.md', 'apps/*/README.md'];

/**
 * Words that, right before a number, make it a setting, a version or a size of input rather than a measurement
 * (`threshold 0.5`, `Node 20.20`, `tfjs 4.22`, `scale 0.25`). Matched case-insensitively against the text just before it.
 */
export const SETTING_WORDS = [
  'node', 'tfjs', 'tfjs-core', 'cuda', 'cudnn', 'pytorch', 'libtensorflow', 'onnxruntime', 'mesa', 'llvm', 'opset', 'version', 'v',
  'threshold', 'thresholds', 'scale', 'scales', 'weight', 'weights', 'momentum', 'eps', 'default', 'alpha', 'gamma', 'dropout',
  'bias', 'lr', 'adam', 'p', 'prior', 'min area', 'weighted', 'w =', 'budget', '--budget-minutes', 'within a', 'limit',
  // tolerances promised by tests, not measured
  'within', 'below', 'equal to', 'to',
];

/**
 * Numbers that look like measurements but are not: each with its README, the text as written and why. Keep this short; a
 * measurement belongs in a result file.
 */
export const NOT_MEASUREMENTS: { file: string; text: string; why: string }[] = [
  { file: 'packages/data/README.md', text: '12,568', why: 'image count of the competition data set (a published fact, tested on a constructed train.csv)' },
  { file: 'packages/data/README.md', text: '6,666', why: 'competition data set count' },
  { file: 'packages/data/README.md', text: '5,902', why: 'competition data set count' },
  { file: 'packages/data/README.md', text: '7,095', why: 'competition data set count' },
  { file: 'packages/data/README.md', text: '5,150', why: 'competition data set count' },
  { file: 'packages/data/README.md', text: '2,000', why: 'size of the generated synthetic data set (a setting)' },
  { file: 'packages/losses/README.md', text: '4.22', why: 'tfjs-core version' },
  { file: 'packages/losses/README.md', text: '0.8', why: 'the recipe Dice weight w = 0.2 / 0.8 (a constant)' },
  { file: 'packages/transforms/README.md', text: '0.2', why: 'augmentation range ±0.2 (a setting)' },
  { file: 'apps/train/README.md', text: '3,129', why: 'NEU-Seg split size (data set count)' },
  { file: 'apps/train/README.md', text: '4,023', why: 'NEU-Seg image count (data set count)' },
  { file: 'apps/train/README.md', text: '4,800', why: 'steps x batch of the command shown (a setting)' },
  { file: 'apps/train/README.md', text: '3,648', why: 'steps x batch of the run (228 x 16, a count)' },
  { file: 'apps/serve/README.md', text: '8 MiB', why: 'request body limit (a setting)' },
];

/**
 * Marks figures measured before their result file was committed. A README line containing it exempts the figures of its
 * paragraph, and of the table or code block right after it, from the result-file check (not from naming a command); the
 * README must define the footnote so that readers see it, and the check prints how many such figures remain.
 */
export const UNRECORDED_MARK = '[^unrecorded]';

/** Units that make an integer a measurement. Longest first. */
const UNITS = [
  'images/s', 'img/s', 'steps/s', 'µs', 'us', 'ms', 's', 'sec', 'seconds', 'min', 'minutes', 'h', 'hours',
  'KB', 'MB', 'GB', 'KiB', 'MiB', 'GiB', 'kB', 'x', '×', '%',
];
const UNIT_RE = UNITS.map((u) => u.replace(/[/.*+?^${}()|[\]\\]/g, '\\$&')).join('|');
// A number: optional ~, digits with optional thousands commas, optional decimals, optional exponent; then an optional unit.
const FIGURE_RE = new RegExp(
  String.raw`(~|≈)?(?<![\w.,/-])(\d{1,3}(?:,\d{3})+(?![\d,])|\d+)(\.\d+)?(e[-+]?\d+)?(?![.,]\d)(?:\s?(${UNIT_RE})(?![\w/]))?`,
  'g',
);

/** One figure found in a README. */
export interface Figure {
  file: string;
  line: number;
  text: string;
  value: number;
  /** Decimal places shown (negative exponents count). */
  decimals: number;
  unit: string;
  approximate: boolean;
  /** On a paragraph marked with UNRECORDED_MARK. */
  unrecorded?: boolean;
}

/** Parses one number as written ("1,036", "0.8060", "7.6e-6") into its value and the decimals it shows. */
export function parseFigure(written: string): { value: number; decimals: number } {
  const clean = written.replace(/,/g, '');
  const m = /^(\d+)(?:\.(\d+))?(?:e([-+]?\d+))?$/i.exec(clean);
  if (!m) throw new Error(`not a number: ${written}`);
  const fraction = m[2]?.length ?? 0;
  const exponent = m[3] ? Number(m[3]) : 0;
  return { value: Number(clean), decimals: Math.max(0, fraction - exponent) };
}

/** Factors that turn a result number into the figure's unit (a result in ms shown in s is multiplied by 1e-3, and so on). */
function conversions(unit: string): number[] {
  const time: Record<string, number> = { µs: 1e-6, us: 1e-6, ms: 1e-3, s: 1, sec: 1, seconds: 1, min: 60, minutes: 60, h: 3600, hours: 3600 };
  const size: Record<string, number> = { KB: 1e3, kB: 1e3, MB: 1e6, GB: 1e9, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 };
  if (unit in time) return [1e-6, 1e-3, 1, 60, 3600].map((from) => from / time[unit]!);
  if (unit in size) return [1, 1e3, 1e6, 1e9, 1024, 1024 ** 2, 1024 ** 3].map((from) => from / size[unit]!);
  if (unit === '%') return [1, 100];
  return [1];
}

/** Whether a result number `r` shows as the figure: equal when rounded to the figure's decimals (10% for "~" figures). */
export function matches(figure: Pick<Figure, 'value' | 'decimals' | 'unit' | 'approximate'>, r: number): boolean {
  for (const factor of conversions(figure.unit)) {
    const x = r * factor;
    if (figure.approximate) {
      if (Math.abs(x - figure.value) <= 0.1 * Math.abs(figure.value)) return true;
    } else if (Math.abs(x - figure.value) <= 0.5 * 10 ** -figure.decimals * (1 + 1e-9)) return true;
  }
  return false;
}

function expand(pattern: string): string[] {
  const parts = pattern.split('/');
  let paths = [''];
  for (const part of parts) {
    const next: string[] = [];
    for (const p of paths) {
      const dir = join(ROOT, p);
      if (part === '*') {
        if (!existsSync(dir)) continue;
        for (const e of readdirSync(dir).sort()) if (statSync(join(dir, e)).isDirectory()) next.push(p ? `${p}/${e}` : e);
      } else next.push(p ? `${p}/${part}` : part);
    }
    paths = next;
  }
  return paths.filter((p) => existsSync(join(ROOT, p)));
}

/** Every number in every committed result file (numbers inside strings too: "38.06 33.72 37.03"). */
export function resultNumbers(): { numbers: number[]; files: string[] } {
  const files = RESULT_DIRS.flatMap(expand).flatMap((dir) =>
    readdirSync(join(ROOT, dir))
      .filter((f) => f.endsWith('.json'))
      .sort()
      .map((f) => `${dir}/${f}`),
  );
  const numbers: number[] = [];
  const walk = (v: unknown): void => {
    if (typeof v === 'number') numbers.push(v);
    else if (typeof v === 'string') for (const m of v.matchAll(/-?\d+(?:\.\d+)?(?:e[-+]?\d+)?/gi)) numbers.push(Number(m[0]));
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  for (const f of files) walk(JSON.parse(readFileSync(join(ROOT, f), 'utf8')));
  return { numbers, files };
}

const CODE_FENCES_WITH_SOURCE = /^```\s*(ts|js|tsx|typescript|javascript|json|bash|sh|shell|yaml|html|css|console)?\s*$/;

/** The figures of one README, with the lines that name a command. */
export function readmeFigures(file: string, text: string): { figures: Figure[]; missingCommand: Figure[] } {
  const lines = text.split('\n');
  const figures: Figure[] = [];
  const commandLines = new Set<number>();
  let fence: string | null = null;
  let inCode = false;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    const fenceMatch = /^\s*```(.*)$/.exec(raw);
    if (fenceMatch) {
      fence = fence === null ? (fenceMatch[1]!.trim() || 'text') : null;
      continue;
    }
    const inSourceBlock = fence !== null && fence !== 'text';
    if (inSourceBlock || (fence !== null && /^\s*(pnpm|bash|node|npx|cd) /.test(raw))) {
      if (/^\s*(pnpm|bash|node|npx)\b/.test(raw)) commandLines.add(i);
      continue;
    }
    if (/`(?:[A-Z_]+=\S*\s+)*(?:nice\s+(?:-n\s*\d+\s+)?)?(pnpm|bash|node|npx|python3|train|evaluate|predict|tune|eda|generate|import|bench|start|serve|cli)\b/.test(raw))
      commandLines.add(i);
    // Inline code (which may run on from the line above), links' targets and HTML comments are not prose.
    let line = raw;
    if (inCode) {
      const close = raw.indexOf('`');
      line = close < 0 ? ' '.repeat(raw.length) : ' '.repeat(close + 1) + raw.slice(close + 1);
      if (close >= 0) inCode = false;
    }
    // An odd backtick left after the complete spans opens code that runs on to the next line.
    if ((line.replace(/`[^`]*`/g, '').match(/`/g)?.length ?? 0) % 2 === 1) {
      const last = line.lastIndexOf('`');
      line = line.slice(0, last) + ' '.repeat(line.length - last);
      inCode = true;
    }
    const prose = line.replace(/`[^`]*`/g, (m) => ' '.repeat(m.length)).replace(/\]\([^)]*\)/g, (m) => ' '.repeat(m.length)).replace(/<!--.*?-->/g, (m) => ' '.repeat(m.length));
    // "7 min 43 s" is one figure: 463 s.
    let rest = prose;
    for (const m of prose.matchAll(/(~)?(?<![\w.])(\d+) min (\d+) s\b/g)) {
      const seconds = Number(m[2]) * 60 + Number(m[3]);
      figures.push({ file, line: i + 1, text: m[0].trim(), value: seconds, decimals: 0, unit: 's', approximate: m[1] !== undefined });
      rest = rest.slice(0, m.index!) + ' '.repeat(m[0].length) + rest.slice(m.index! + m[0].length);
    }
    for (const m of rest.matchAll(FIGURE_RE)) {
      const [whole, tilde, int, frac, exp, unit] = m;
      const written = `${int}${frac ?? ''}${exp ?? ''}`;
      const isDecimal = frac !== undefined || exp !== undefined || /,/.test(int!);
      // Dimensions (256x1600, 1x2 grid), ratios of shape (2.5:1) and lists inside brackets are inputs, not results.
      const after = rest.slice(m.index! + whole.length);
      const before = rest.slice(0, m.index!);
      // Inside [ ] (shapes, lists of settings such as [2, 2, 1, 1.5]) or a coefficient of a formula (0.7·BCE).
      if ((before.match(/\[/g)?.length ?? 0) > (before.match(/\]/g)?.length ?? 0) || /^\s?·/.test(after)) continue;
      if (unit === 'x' && /^\d/.test(after)) continue;
      if (/^:\d/.test(after) || /^x\d/.test(after) || /\d[x×]\s?$/.test(before)) continue;
      if (/^[-–]?\d*\s*(px|pixels|channels)\b/.test(after)) continue;
      const lower = before.toLowerCase();
      if (SETTING_WORDS.some((w) => new RegExp(`(^|[^\\w-])${w.replace(/[-.*+?^${}()|[\]\\]/g, '\\$&')}\\s*[=:]?\\s*[±~]?$`).test(lower))) continue;
      // The first end of a range takes the unit of the second: "330–520 ms".
      const range = new RegExp(String.raw`^\s?[-–]\s?[\d.,]+\s?(${UNIT_RE})(?![\w/])`).exec(after);
      const unitShown = unit ?? range?.[1];
      if (unitShown === undefined && !isDecimal) continue;
      if (NOT_MEASUREMENTS.some((n) => n.file === file && n.text === whole.trim())) continue;
      const { value, decimals } = parseFigure(written);
      figures.push({ file, line: i + 1, text: whole.trim(), value, decimals, unit: unitShown ?? '', approximate: tilde !== undefined || /~\s*$/.test(before) });
    }
  }
  // A figure names its command when one is in its block (lines between blank lines) or the block just above.
  const blockOf: number[] = [];
  let block = 0;
  for (let i = 0; i < lines.length; i++) {
    const separator = lines[i]!.trim() === '' || /^#/.test(lines[i]!);
    if (separator && !(i > 0 && lines[i - 1]!.trim() === '')) block++;
    blockOf.push(block);
  }
  const blocksWithCommand = new Set([...commandLines].map((i) => blockOf[i]));
  const unrecordedBlocks = new Set<number>();
  lines.forEach((l, i) => {
    if (!l.includes(UNRECORDED_MARK) || l.startsWith(`${UNRECORDED_MARK}:`)) return;
    unrecordedBlocks.add(blockOf[i]!);
    const next = lines.findIndex((x, j) => j > i && blockOf[j] !== blockOf[i] && x.trim() !== '');
    if (next >= 0 && /^\s*(```|\|)/.test(lines[next]!)) unrecordedBlocks.add(blockOf[next]!);
  });
  if (unrecordedBlocks.size > 0 && !lines.some((l) => l.startsWith(`${UNRECORDED_MARK}:`)))
    throw new Error(`${file} uses ${UNRECORDED_MARK} but does not define it (a line "${UNRECORDED_MARK}: …")`);
  for (const f of figures) f.unrecorded = unrecordedBlocks.has(blockOf[f.line - 1]!);
  const missingCommand = figures.filter((f) => {
    const b = blockOf[f.line - 1]!;
    return ![b, b - 1].some((x) => blocksWithCommand.has(x));
  });
  return { figures, missingCommand };
}

function selfTest(): void {
  const f = (value: number, decimals: number, unit = '', approximate = false) => ({ value, decimals, unit, approximate });
  const ok = (cond: boolean, what: string): void => {
    if (!cond) throw new Error(`check-readme-figures self-test failed: ${what}`);
  };
  ok(matches(f(0.806, 3), 0.8060) && matches(f(0.806, 3), 0.80604) && !matches(f(0.806, 3), 0.8066), '0.806 vs 0.8060');
  ok(parseFigure('1,036').value === 1036 && matches(f(1036, 0), 1036), '1,036 vs 1036');
  ok(parseFigure('7.6e-6').decimals === 7 && matches(f(7.6e-6, 7), 0.0000076) && !matches(f(7.6e-6, 7), 0.0000077), '7.6e-6');
  ok(matches(f(1.86, 2, 's'), 1860) && matches(f(463, 0, 's'), 463) && !matches(f(1.86, 2, 's'), 1870), 's vs ms');
  ok(matches(f(47.1, 1, '%'), 0.471) && matches(f(150, 0, 'µs', true), 0.16), '% and ~');
  const sample = readmeFigures(
    'x.md',
    'Intro.\n\nRuns in 7 min 43 s at `--scale 0.5`, Dice 0.8060, threshold 0.5, 256x1600, [2, 1.5].\n\n`pnpm bench`: 12x, ~150 µs, 2.8–3.7 s.\n',
  );
  ok(
    sample.figures.map((x) => `${x.text}=${x.value}${x.unit}`).join(' ') === '7 min 43 s=463s 0.8060=0.806 12x=12x ~150 µs=150µs 2.8=2.8s 3.7 s=3.7s',
    `figures of a sample README: ${sample.figures.map((x) => x.text).join(' | ')}`,
  );
  ok(sample.missingCommand.map((x) => x.text).join(' ') === '7 min 43 s 0.8060', 'a command counts for its paragraph and the one below');
  ok(readmeFigures('x.md', 'A.\n\nB.\n\nC took 4.5 s.\n').missingCommand.length === 1, 'a figure with no command is reported');
}

function main(): void {
  selfTest();
  const { numbers, files } = resultNumbers();
  const readmes = README_GLOBS.flatMap(expand);
  const problems: string[] = [];
  const unrecorded: string[] = [];
  let count = 0;
  for (const file of readmes) {
    const { figures, missingCommand } = readmeFigures(file, readFileSync(join(ROOT, file), 'utf8'));
    count += figures.length;
    for (const fig of figures) {
      if (fig.unrecorded) unrecorded.push(`${file}:${fig.line} ${fig.text}`);
      else if (!numbers.some((r) => matches(fig, r)))
        problems.push(
          `${file}:${fig.line}: "${fig.text}" is in no committed result file. Commit the JSON the command writes under ` +
            `docs/results/ (or the package's bench/ or results/ folder) and quote its value, or remove the figure.`,
        );
    }
    if (process.argv.includes('--list')) for (const fig of figures) console.log(`${file}:${fig.line}: ${fig.text} = ${fig.value} ${fig.unit}`);
    for (const fig of missingCommand)
      problems.push(`${file}:${fig.line}: "${fig.text}" names no command: put the command that produced it, in backticks, in the same paragraph or table (or the one above).`);
  }
  if (problems.length > 0) {
    console.error(problems.join('\n'));
    console.error(`\n${problems.length} README figure problem(s) (${count} figures in ${readmes.length} READMEs, ${numbers.length} numbers in ${files.length} result files; rules: scripts/check-readme-figures.ts).`);
    process.exit(1);
  }
  console.log(`README figures: ${count} figures in ${readmes.length} READMEs name their command; ${count - unrecorded.length} are in one of ${files.length} committed result files.`);
  if (unrecorded.length > 0)
    console.log(`${unrecorded.length} figures are marked ${UNRECORDED_MARK} (measured before their result file was committed): ${unrecorded.join(', ')}`);
}

if (process.argv[1] && relative(process.argv[1], fileURLToPath(import.meta.url)) === '') main();
