// Renders one synthetic steel strip image and its class masks. Geometry (classes, polygons, amplitudes) comes from one
// seeded stream and pixel noise from another, so masks can be recomputed without rendering the pixels.
import { createRandom, hashSeed, type Random } from './random.ts';
import { bandPolygon, fillPolygon, type Patch, type Point, polygonPatch, strokePolyline, valueNoise1D, valueNoise2D } from './raster.ts';

/** Class combinations per image and their counts in the full Severstal training set (12,568 images). */
export const SEVERSTAL_CLASS_SETS: readonly { readonly classes: readonly number[]; readonly images: number }[] = [
  { classes: [], images: 5902 },
  { classes: [1], images: 769 },
  { classes: [2], images: 195 },
  { classes: [3], images: 4759 },
  { classes: [4], images: 516 },
  { classes: [1, 2], images: 35 },
  { classes: [1, 3], images: 91 },
  { classes: [2, 3], images: 14 },
  { classes: [2, 4], images: 1 },
  { classes: [3, 4], images: 284 },
  { classes: [1, 2, 3], images: 2 },
];

interface Stroke {
  readonly path: Point[];
  readonly sigma: number;
  readonly amp: number;
}

type Defect =
  | { readonly kind: 'pits'; readonly classId: number; readonly pits: { x: number; y: number; rx: number; ry: number; amp: number }[]; readonly polygons: Point[][] }
  | { readonly kind: 'strokes'; readonly classId: number; readonly strokes: Stroke[]; readonly shade: Point[] | undefined; readonly shadeAmp: number; readonly polygons: Point[][] }
  | { readonly kind: 'patch'; readonly classId: number; readonly region: Point[]; readonly amp: number; readonly texture: number; readonly grainScale: number; readonly stretch: number; readonly polygons: Point[][] };

interface Plan {
  readonly base: number;
  readonly edge: { readonly side: 'left' | 'right'; readonly x: number; readonly slope: number } | undefined;
  readonly defects: Defect[];
  readonly distractors: Stroke[];
}

interface Box {
  x0: number;
  x1: number;
  classId: number;
}

function pickClassSet(random: Random): readonly number[] {
  const total = SEVERSTAL_CLASS_SETS.reduce((s, c) => s + c.images, 0);
  let u = random.next() * total;
  for (const set of SEVERSTAL_CLASS_SETS) {
    u -= set.images;
    if (u < 0) return set.classes;
  }
  return [];
}

function rotatedRect(cx: number, cy: number, hw: number, hh: number, angle: number): Point[] {
  const c = Math.cos(angle);
  const s = Math.sin(angle);
  return [
    [-hw, -hh],
    [hw, -hh],
    [hw, hh],
    [-hw, hh],
  ].map(([x, y]) => [cx + x! * c - y! * s, cy + x! * s + y! * c] as Point);
}

function blobPolygon(random: Random, cx: number, cy: number, rx: number, ry: number, vertices: number, roughness: number): Point[] {
  const noise = valueNoise1D(vertices + 4, 3, random.next);
  const out: Point[] = [];
  const phase = random.range(0, Math.PI * 2);
  for (let i = 0; i < vertices; i++) {
    const a = phase + (i / vertices) * Math.PI * 2;
    const f = Math.max(0.35, 1 + roughness * noise[i]! + random.range(-0.08, 0.08));
    out.push([cx + Math.cos(a) * rx * f, cy + Math.sin(a) * ry * f]);
  }
  return out;
}

/** A wandering polyline from (x, y) with `n` segments of length `step` at `angle` (radians, 0 = right), jitter in pixels. */
function wander(random: Random, x: number, y: number, angle: number, n: number, step: number, jitter: number): Point[] {
  const out: Point[] = [[x, y]];
  let a = angle;
  for (let i = 0; i < n; i++) {
    a += random.normal() * jitter;
    x += Math.cos(a) * step;
    y += Math.sin(a) * step;
    out.push([x, y]);
  }
  return out;
}

function plan(seed: number, height: number, width: number): Plan {
  const random = createRandom(hashSeed(seed, 1));
  const sx = width / 1600;
  const sy = height / 256;
  const s = Math.sqrt(sx * sy);
  const base = random.range(62, 122);
  let edge: Plan['edge'];
  let xmin = 0;
  let xmax = width;
  if (random.chance(0.1)) {
    const side = random.chance(0.5) ? 'left' : 'right';
    const x = side === 'left' ? random.range(0.1, 0.45) * width : random.range(0.6, 0.92) * width;
    edge = { side, x, slope: random.range(-0.04, 0.04) * sx / sy };
    if (side === 'left') xmin = x + 20 * sx;
    else xmax = x - 20 * sx;
  }
  const classes = pickClassSet(random);
  const boxes: Box[] = [];
  // A horizontal slot [x0, x1] of `w` pixels inside the strip that no other class uses.
  const slot = (w: number, classId: number): number => {
    const span = Math.max(1, xmax - xmin - w);
    let x = xmin + random.next() * span;
    for (let tries = 0; tries < 30; tries++) {
      if (!boxes.some((b) => b.classId !== classId && x < b.x1 && x + w > b.x0)) break;
      x = xmin + random.next() * span;
    }
    boxes.push({ x0: x, x1: x + w, classId });
    return x;
  };
  const defects: Defect[] = [];
  for (const classId of classes) {
    if (classId === 1) {
      // Small clusters of pits, each pit boxed by the annotator.
      const clusters = random.int(1, 3);
      for (let k = 0; k < clusters; k++) {
        const w = random.range(30, 110) * sx;
        const x0 = slot(w, 1);
        const cy = random.range(0.15, 0.85) * height;
        const dark = random.chance(0.8);
        const pits = Array.from({ length: random.int(2, 6) }, () => ({
          x: x0 + random.next() * w,
          y: cy + random.range(-45, 45) * sy,
          rx: random.range(2, 4.5) * s,
          ry: random.range(3.5, 9) * s,
          amp: (dark ? -1 : 1) * random.range(28, 65),
        }));
        const polygons = pits.map((p) => rotatedRect(p.x, p.y, p.rx + random.range(4, 8) * s, p.ry + random.range(6, 13) * s, random.range(-0.15, 0.15)));
        defects.push({ kind: 'pits', classId, pits, polygons });
      }
    } else if (classId === 2) {
      // Short thin vertical marks.
      const w = random.range(20, 120) * sx;
      const x0 = slot(w, 2);
      const strokes: Stroke[] = [];
      const polygons: Point[][] = [];
      const dark = random.chance(0.65);
      for (let k = random.int(1, 3); k > 0; k--) {
        const length = random.range(35, 115) * sy;
        const n = 8;
        const x = x0 + random.next() * w;
        const y = random.range(0, height - length);
        const path = wander(random, x, y, Math.PI / 2 + random.range(-0.12, 0.12), n, length / n, 0.08);
        const sigma = random.range(0.9, 1.6) * s;
        strokes.push({ path, sigma, amp: (dark ? -1 : 1) * random.range(32, 65) });
        polygons.push(bandPolygon(path, sigma * 2 + random.range(3, 5) * s));
      }
      defects.push({ kind: 'strokes', classId, strokes, shade: undefined, shadeAmp: 0, polygons });
    } else if (classId === 3) {
      for (let k = random.chance(0.35) ? (random.chance(0.3) ? 3 : 2) : 1; k > 0; k--) {
        const variant = random.next();
        if (variant < 0.4) {
          // Scratch: a long thin line, mostly along the strip.
          const length = random.range(180, 1000) * sx;
          const x0 = slot(length, 3);
          const y0 = random.range(0.1, 0.9) * height;
          const dy = random.range(-0.6, 0.6) * height;
          const n = 12;
          const angle = Math.atan2(dy, length);
          const path = wander(random, x0, y0, angle, n, Math.hypot(length, dy) / n, 0.03);
          const sigma = random.range(1, 2.4) * s;
          const amp = (random.chance(0.7) ? -1 : 1) * random.range(22, 50);
          defects.push({ kind: 'strokes', classId, strokes: [{ path, sigma, amp }], shade: undefined, shadeAmp: 0, polygons: [bandPolygon(path, sigma * 2.2 + random.range(4, 8) * s)] });
        } else if (variant < 0.7) {
          // Elongated patch: a wide band of different texture and brightness.
          const length = random.range(250, 1100) * sx;
          const x0 = slot(length, 3);
          const y0 = random.range(0.2, 0.8) * height;
          const dy = random.range(-0.5, 0.5) * height;
          const n = 10;
          const path = wander(random, x0, y0, Math.atan2(dy, length), n, Math.hypot(length, dy) / n, 0.02);
          const widthNoise = valueNoise1D(n + 3, 2, random.next);
          const hw0 = random.range(8, 30) * sy;
          const halfWidths = path.map((_, i) => hw0 * Math.max(0.3, 1 + 0.6 * widthNoise[i]! + random.range(-0.15, 0.15)));
          const region = bandPolygon(path, halfWidths);
          defects.push({
            kind: 'patch',
            classId,
            region,
            amp: (random.chance(0.6) ? -1 : 1) * random.range(12, 30),
            texture: random.range(5, 12),
            grainScale: random.range(2, 5) * s,
            stretch: random.range(3, 8),
            polygons: [bandPolygon(path, halfWidths.map((h) => h + 3 * s))],
          });
        } else {
          // A patch of short vertical streaks, outlined by one polygon.
          const w = random.range(40, 110) * sx;
          const h = random.range(70, 220) * sy;
          const x0 = slot(w, 3);
          const y0 = random.range(-0.1 * height, height - 0.8 * h);
          const strokes: Stroke[] = [];
          const amp = -random.range(18, 42);
          for (let j = random.int(4, 12); j > 0; j--) {
            const length = random.range(15, 70) * sy;
            const path = wander(random, x0 + random.next() * w, y0 + random.next() * Math.max(1, h - length), Math.PI / 2 + random.range(-0.08, 0.08), 4, length / 4, 0.05);
            strokes.push({ path, sigma: random.range(0.8, 1.5) * s, amp: amp * random.range(0.6, 1) });
          }
          const outline = blobPolygon(random, x0 + w / 2, y0 + h / 2, w / 2 + 8 * sx, h / 2 + 8 * sy, 9, 0.12);
          defects.push({ kind: 'strokes', classId, strokes, shade: outline, shadeAmp: -random.range(0, 10), polygons: [outline] });
        }
      }
    } else if (classId === 4) {
      // Large irregular blotch, dark or bright, rough inside.
      const rx = random.range(45, 190) * sx;
      const ry = random.range(35, 120) * sy;
      const x0 = slot(2 * rx, 4);
      const cx = x0 + rx;
      const cy = random.range(0.2, 0.8) * height;
      const region = blobPolygon(random, cx, cy, rx, ry, random.int(16, 26), 0.45);
      const mask = region.map(([x, y]) => [cx + (x - cx) * 1.06, cy + (y - cy) * 1.06] as Point);
      const dark = random.chance(0.65);
      defects.push({
        kind: 'patch',
        classId,
        region,
        amp: dark ? -random.range(30, 65) : random.range(25, 50),
        texture: random.range(20, 38),
        grainScale: random.range(3, 7) * s,
        stretch: random.range(1, 2),
        polygons: [mask],
      });
    }
  }
  // Unlabelled look-alikes (faint dots and lines) so a model must learn contrast and shape, not just "anything dark".
  const distractors: Stroke[] = [];
  if (random.chance(0.5)) {
    for (let k = random.int(2, 12); k > 0; k--) {
      const x = random.range(xmin, xmax);
      const y = random.range(0, height);
      distractors.push({ path: [[x, y], [x + random.range(-1, 1) * s, y + random.range(1, 5) * sy]], sigma: random.range(0.8, 1.8) * s, amp: -random.range(5, 14) });
    }
  }
  if (random.chance(0.3)) {
    for (let k = random.int(1, 4); k > 0; k--) {
      const x = random.range(xmin, xmax);
      const y = random.range(0, height * 0.6);
      distractors.push({ path: wander(random, x, y, Math.PI / 2, 6, random.range(20, 60) * sy, 0.02), sigma: random.range(0.7, 1.2) * s, amp: -random.range(4, 10) });
    }
  }
  return { base, edge, defects, distractors };
}

function renderBackground(random: Random, p: Plan, height: number, width: number): Float32Array {
  const sx = width / 1600;
  const sy = height / 256;
  const img = new Float32Array(height * width);
  const illumX = valueNoise1D(width, width / random.range(1.5, 4), random.next);
  const illumAmp = random.range(0.08, 0.22);
  const gradY = random.range(-0.12, 0.12);
  const illumY = valueNoise1D(height, height / 1.5, random.next);
  const mottle = valueNoise2D(height, width, random.range(25, 80) * sy, random.next);
  const mottleAmp = random.range(2, 8);
  const fineMottle = valueNoise2D(height, width, random.range(4, 10) * sy, random.next);
  const fineAmp = random.range(1.5, 5);
  // Rolling streaks: a column profile at three scales plus sparse thin lines, fading along the rows.
  const columns = new Float32Array(width);
  const c1 = valueNoise1D(width, 35 * sx, random.next);
  const c2 = valueNoise1D(width, 7 * sx, random.next);
  const c3 = valueNoise1D(width, 1.6, random.next);
  const a1 = random.range(2, 6);
  const a2 = random.range(1.5, 4.5);
  const a3 = random.range(1, 3);
  for (let c = 0; c < width; c++) columns[c] = a1 * c1[c]! + a2 * c2[c]! + a3 * c3[c]!;
  for (let k = random.int(8, 40); k > 0; k--) {
    const x = random.range(0, width);
    const sigma = random.range(0.6, 2.5) * sx;
    const amp = random.range(-12, 8);
    const r = Math.ceil(sigma * 3);
    for (let c = Math.max(0, Math.floor(x - r)); c <= Math.min(width - 1, Math.ceil(x + r)); c++) columns[c]! += amp * Math.exp(-((c + 0.5 - x) ** 2) / (2 * sigma * sigma));
  }
  const rowMod = valueNoise1D(height, random.range(40, 120) * sy, random.next);
  const grain = random.range(4, 8.5);
  const hgrain = random.range(1.5, 4);
  const next = random.next;
  let prev = 0;
  for (let r = 0; r < height; r++) {
    const yf = 1 + gradY * (r / height - 0.5) * 2 + 0.05 * illumY[r]!;
    const streak = 0.75 + 0.25 * rowMod[r]!;
    for (let c = 0, o = r * width; c < width; c++, o++) {
      // Approximately normal grain (sum of three uniforms), plus horizontally correlated grain.
      const n = (next() + next() + next() - 1.5) * 2;
      const h = next() - 0.5;
      const hc = (prev + h) * hgrain;
      prev = h;
      img[o] = p.base * (1 + illumAmp * illumX[c]!) * yf + streak * columns[c]! + mottleAmp * mottle[o]! + fineAmp * fineMottle[o]! + grain * n + hc;
    }
  }
  // Short faint vertical dashes all over, the roll texture of real strips.
  const dashes = Math.round(random.range(150, 700) * sx * sy);
  for (let k = 0; k < dashes; k++) {
    const x = random.range(0, width);
    const y = random.range(0, height);
    const length = random.range(3, 20) * sy;
    const sigma = random.range(0.45, 0.9) * sx;
    const amp = random.chance(0.8) ? -random.range(4, 16) : random.range(3, 9);
    const c0 = Math.max(0, Math.floor(x - 2 * sigma - 1));
    const c1 = Math.min(width - 1, Math.ceil(x + 2 * sigma + 1));
    const r1 = Math.min(height - 1, Math.floor(y + length));
    for (let r = Math.floor(y); r <= r1; r++) {
      const taper = Math.sin((Math.PI * (r - y + 0.5)) / (length + 1));
      for (let c = c0; c <= c1; c++) img[r * width + c]! += amp * taper * Math.exp(-((c + 0.5 - x) ** 2) / (2 * sigma * sigma));
    }
  }
  return img;
}

function addPatch(img: Float32Array, width: number, patch: Patch, amp: number): void {
  for (let r = 0; r < patch.h; r++) {
    for (let c = 0; c < patch.w; c++) {
      const v = patch.data[r * patch.w + c]!;
      if (v > 0.002) img[(patch.y0 + r) * width + patch.x0 + c]! += amp * v;
    }
  }
}

/** Multiplies a stroke patch by smooth noise in [floor, 1], so lines fade in and out along their length. */
function breakUp(random: Random, patch: Patch, scale: number, floor: number): void {
  if (patch.w === 0 || patch.h === 0) return;
  const n = valueNoise2D(patch.h, patch.w, scale, random.next);
  for (let i = 0; i < patch.data.length; i++) patch.data[i]! *= floor + (1 - floor) * (0.5 + 0.5 * n[i]!) * (0.85 + 0.15 * random.next());
}

function renderDefects(random: Random, img: Float32Array, p: Plan, height: number, width: number): void {
  const s = Math.sqrt((height / 256) * (width / 1600));
  for (const d of p.defects) {
    if (d.kind === 'pits') {
      for (const pit of d.pits) {
        const x0 = Math.max(0, Math.floor(pit.x - pit.rx * 3));
        const x1 = Math.min(width - 1, Math.ceil(pit.x + pit.rx * 3));
        const y0 = Math.max(0, Math.floor(pit.y - pit.ry * 3));
        const y1 = Math.min(height - 1, Math.ceil(pit.y + pit.ry * 3));
        for (let r = y0; r <= y1; r++) {
          for (let c = x0; c <= x1; c++) {
            const dx = (c + 0.5 - pit.x) / pit.rx;
            const dy = (r + 0.5 - pit.y) / pit.ry;
            const d2 = dx * dx + dy * dy;
            // A sharp core with a faint opposite halo, roughened by noise.
            img[r * width + c]! += pit.amp * (Math.exp(-d2 * 1.2) * (0.7 + 0.5 * random.next()) - 0.15 * Math.exp(-d2 * 0.3));
          }
        }
      }
    } else if (d.kind === 'strokes') {
      if (d.shade !== undefined && d.shadeAmp !== 0) addPatch(img, width, polygonPatch(d.shade, Math.max(1, Math.round(6 * s)), height, width), d.shadeAmp);
      for (const st of d.strokes) {
        const patch = strokePolyline(st.path, st.sigma, height, width);
        breakUp(random, patch, Math.max(3, 25 * s), 0.25);
        addPatch(img, width, patch, st.amp);
      }
    } else {
      const blur = Math.max(1, Math.round(3 * s));
      const alpha = polygonPatch(d.region, blur, height, width);
      const { x0, y0, w, h } = alpha;
      const tw = Math.ceil(w / d.stretch);
      const fine = valueNoise2D(h, tw, Math.max(1.5, d.grainScale), random.next);
      const coarse = valueNoise2D(h, tw, Math.max(3, d.grainScale * 4), random.next);
      const ragged = valueNoise2D(h, w, Math.max(2, 6 * s), random.next);
      for (let r = 0; r < h; r++) {
        for (let c = 0; c < w; c++) {
          const i = r * w + c;
          let a = alpha.data[i]!;
          if (a <= 0) continue;
          // Ragged edge: shift the soft boundary by fine noise, then sharpen it again.
          a = Math.min(1, Math.max(0, (a - 0.5 + 0.45 * ragged[i]!) * 2.5 + 0.5));
          if (a <= 0) continue;
          const tc = Math.floor(c / d.stretch);
          const t = 0.6 * fine[r * tw + tc]! + 0.5 * coarse[r * tw + tc]!;
          const fleck = t > 0.55 ? (t - 0.55) * 3 : 0;
          img[(y0 + r) * width + x0 + c]! += a * (d.amp * (0.75 + 0.35 * coarse[r * tw + tc]!) + d.texture * t + d.texture * fleck * Math.sign(-d.amp) + d.texture * 0.5 * (random.next() - 0.5));
        }
      }
    }
  }
  for (const st of p.distractors) {
    const patch = strokePolyline(st.path, st.sigma, height, width);
    breakUp(random, patch, Math.max(3, 15 * s), 0.3);
    addPatch(img, width, patch, st.amp);
  }
}

function applyEdge(random: Random, img: Float32Array, p: Plan, height: number, width: number): void {
  if (p.edge === undefined) return;
  const { side, x, slope } = p.edge;
  for (let r = 0; r < height; r++) {
    const xe = x + slope * (r - height / 2);
    for (let c = 0; c < width; c++) {
      const d = side === 'left' ? xe - c : c - xe; // > 0 beyond the strip
      const o = r * width + c;
      if (d > 0) img[o] = 6 + 3 * random.next() + 30 * Math.exp(-d / 2);
      else if (d > -6) img[o]! += 18 * Math.exp(d / 2);
    }
  }
}

/** A rendered synthetic image: grey pixels (row-major, one byte each) and one mask per present class. */
export interface SyntheticImage {
  readonly height: number;
  readonly width: number;
  /** Row-major grey bytes; empty when rendered with `pixels: false`. */
  readonly pixels: Uint8Array;
  /** Row-major 0/1 mask per present class id. */
  readonly masks: ReadonlyMap<number, Uint8Array>;
}

/**
 * Renders synthetic image number `index` of the dataset seeded `seed` (test images use another `stream`).
 * The same arguments always give the same bytes; `pixels: false` computes only the masks (cheap).
 */
export function renderSyntheticImage(options: { seed: number; index: number; stream?: number; height?: number; width?: number; pixels?: boolean }): SyntheticImage {
  const { seed, index, stream = 0, height = 256, width = 1600, pixels = true } = options;
  const imageSeed = hashSeed(seed, stream, index);
  const p = plan(imageSeed, height, width);
  const masks = new Map<number, Uint8Array>();
  for (const d of p.defects) {
    let m = masks.get(d.classId);
    if (m === undefined) masks.set(d.classId, (m = new Uint8Array(height * width)));
    for (const polygon of d.polygons) fillPolygon(m, height, width, polygon);
  }
  // Clipping at the image border can leave a defect without pixels; drop such empty masks.
  for (const [classId, m] of masks) if (!m.includes(1)) masks.delete(classId);
  if (!pixels) return { height, width, pixels: new Uint8Array(0), masks };
  const random = createRandom(hashSeed(imageSeed, 2));
  const img = renderBackground(random, p, height, width);
  renderDefects(random, img, p, height, width);
  applyEdge(random, img, p, height, width);
  const out = new Uint8Array(height * width);
  for (let i = 0; i < out.length; i++) out[i] = Math.min(255, Math.max(0, Math.round(img[i]!)));
  return { height, width, pixels: out, masks };
}
