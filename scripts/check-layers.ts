// Fails when a workspace package depends on something its row of the layer table does not allow (docs/architecture.md).
// Runtime edges (dependencies, peerDependencies, optionalDependencies) are checked against the table; devDependencies may
// name any lower-layer @steel package (tests and benchmarks), never a higher one; browser-safe packages may not import node: modules.
import { readdirSync, readFileSync, existsSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

interface Rule {
  /** @steel packages allowed as runtime dependencies. */
  steel: string[];
  /** Third-party packages allowed as dependencies. */
  deps: string[];
  /** Allowed as peers. */
  peers: string[];
  /** Allowed as optional dependencies or optional peers. */
  optional: string[];
  /** May import node: built-ins outside tests. */
  node: boolean | string[];
}

const TF_CORE = '@tensorflow/tfjs-core';
const RULES: Record<string, Rule> = {
  '@steel/rle': { steel: [], deps: [], peers: [], optional: [], node: false },
  '@steel/metrics': { steel: [], deps: [], peers: [], optional: [], node: false },
  '@steel/transforms': { steel: [], deps: [], peers: [], optional: [], node: false },
  '@steel/data': { steel: ['@steel/rle'], deps: ['zod', 'sharp'], peers: [], optional: [], node: true },
  '@steel/losses': { steel: [], deps: [], peers: [TF_CORE], optional: [], node: false },
  '@steel/models': { steel: [], deps: [], peers: [TF_CORE, '@tensorflow/tfjs-layers'], optional: [], node: ['src/node'] },
  '@steel/onnx': { steel: [], deps: ['protobufjs'], peers: [TF_CORE, '@tensorflow/tfjs-layers'], optional: [], node: false },
  '@steel/backend': {
    steel: [],
    deps: [],
    peers: [TF_CORE],
    optional: ['@tensorflow/tfjs-backend-cpu', '@tensorflow/tfjs-backend-wasm', '@tensorflow/tfjs-backend-webgpu', 'webgpu', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu'],
    node: true,
  },
  '@steel/ensemble': { steel: ['@steel/rle', '@steel/metrics'], deps: [], peers: [TF_CORE], optional: [], node: false },
  '@steel/inference': { steel: ['@steel/transforms', '@steel/ensemble'], deps: [], peers: [TF_CORE, '@tensorflow/tfjs-layers'], optional: [], node: false },
};
/** Apps may use every @steel package, zod and anything they need to run; they only must not be depended on. */
const APP_PREFIX = 'apps/';
const ORDER = ['@steel/rle', '@steel/metrics', '@steel/transforms', '@steel/losses', '@steel/backend', '@steel/models', '@steel/onnx', '@steel/data', '@steel/ensemble', '@steel/inference'];

const root = process.cwd();
const problems: string[] = [];

function workspaceDirs(): string[] {
  const out: string[] = [];
  for (const top of ['packages', 'apps']) {
    if (!existsSync(join(root, top))) continue;
    for (const name of readdirSync(join(root, top))) {
      const dir = join(root, top, name);
      if (existsSync(join(dir, 'package.json'))) out.push(dir);
    }
  }
  return out;
}

function sourceFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) {
      if (name !== '__fixtures__' && name !== 'node_modules') out.push(...sourceFiles(p));
    } else if (/\.(ts|tsx|js|mjs)$/.test(name) && !/\.test(-d)?\.tsx?$/.test(name)) out.push(p);
  }
  return out;
}

const names = new Set<string>();
const appNames = new Set(
  workspaceDirs()
    .filter((d) => relative(root, d).startsWith(APP_PREFIX))
    .map((d) => (JSON.parse(readFileSync(join(d, 'package.json'), 'utf8')) as { name: string }).name),
);
for (const dir of workspaceDirs()) {
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
    name: string;
    dependencies?: Record<string, string>;
    peerDependencies?: Record<string, string>;
    optionalDependencies?: Record<string, string>;
    peerDependenciesMeta?: Record<string, { optional?: boolean }>;
    devDependencies?: Record<string, string>;
  };
  names.add(pkg.name);
  const where = relative(root, dir);
  const isApp = where.startsWith(APP_PREFIX);
  if (isApp) {
    // Apps share code only through packages: no app depends on or imports from another app.
    for (const dep of [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.devDependencies ?? {})]) {
      if (appNames.has(dep)) problems.push(`${where}: depends on the app ${dep}; move the shared code into a package.`);
    }
    for (const file of sourceFiles(join(dir, 'src'))) {
      for (const m of readFileSync(file, 'utf8').matchAll(/(?:import|export)\s[^'"]*?from\s+['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g)) {
        const target = relative(dir, join(file, '..', m[1] ?? m[2] ?? ''));
        if (target.startsWith('..')) problems.push(`${relative(root, file)}: imports ${m[1] ?? m[2]}, outside its app; share code through a package.`);
      }
    }
    continue;
  }
  const rule = RULES[pkg.name];
  if (!rule) {
    problems.push(`${where}: ${pkg.name} has no row in the layer table (scripts/check-layers.ts); add one before adding the package.`);
    continue;
  }
  const optionalPeers = new Set(Object.entries(pkg.peerDependenciesMeta ?? {}).filter(([, m]) => m.optional).map(([n]) => n));
  for (const dep of Object.keys(pkg.dependencies ?? {})) {
    const ok = dep.startsWith('@steel/') ? rule.steel.includes(dep) : rule.deps.includes(dep);
    if (!ok) problems.push(`${where}: dependency ${dep} is not allowed for ${pkg.name}; allowed: ${[...rule.steel, ...rule.deps].join(', ') || 'none'}.`);
  }
  for (const dep of Object.keys(pkg.peerDependencies ?? {})) {
    if (dep.startsWith('@steel/')) problems.push(`${where}: ${dep} is a peer; no @steel package may be a peer of another.`);
    else if (!rule.peers.includes(dep) && !(optionalPeers.has(dep) && rule.optional.includes(dep)))
      problems.push(`${where}: peer ${dep} is not allowed for ${pkg.name}; allowed: ${rule.peers.join(', ') || 'none'}.`);
  }
  for (const dep of Object.keys(pkg.optionalDependencies ?? {})) {
    if (!rule.optional.includes(dep)) problems.push(`${where}: optional dependency ${dep} is not allowed for ${pkg.name}.`);
  }
  for (const dep of Object.keys(pkg.devDependencies ?? {})) {
    if (!dep.startsWith('@steel/') || dep === '@steel/tsconfig') continue;
    if (!ORDER.includes(dep)) problems.push(`${where}: devDependency ${dep} is an app or unknown package.`);
  }
  // Imports in source must be declared with an allowed edge (catches undeclared imports of other layers).
  const allowedImports = new Set([...rule.steel, ...rule.deps, ...rule.peers, ...rule.optional]);
  for (const file of sourceFiles(join(dir, 'src'))) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)) {
      const spec = m[1] ?? m[2] ?? '';
      if (spec.startsWith('.') || spec.startsWith('#')) continue;
      const rel = relative(dir, file);
      if (spec.startsWith('node:')) {
        const nodeOk = rule.node === true || (Array.isArray(rule.node) && rule.node.some((p) => rel.startsWith(p)));
        if (!nodeOk) problems.push(`${relative(root, file)}: imports ${spec}, but ${pkg.name} must run in browsers (no node: modules).`);
        continue;
      }
      const base = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
      if (!allowedImports.has(base)) problems.push(`${relative(root, file)}: imports ${base}, which the layer table does not allow for ${pkg.name}.`);
    }
  }
}

// Nothing may depend on an app.
if (problems.length > 0) {
  console.error(`check:layers found ${problems.length} problem(s):\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  process.exit(1);
}
console.log(`check:layers: ${names.size} workspace packages follow the layer table.`);
