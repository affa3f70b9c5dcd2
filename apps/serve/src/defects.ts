// From probabilities to what a caller reads: post-processed masks, their run-length codes, and a list of defects.
import { listComponents, postprocess, type DefectComponent, type PostprocessConfig } from '@steel/ensemble';
import { encode } from '@steel/rle';
import sharp from 'sharp';
import type { DecodedImage } from './model.ts';

/** One class of one image after post-processing. */
export interface ClassResult {
  /** 1-based class id. */
  classId: number;
  /** Pixels in the kept mask. */
  area: number;
  /** The competition's RLE (column-major, 1-based starts); empty when there is no defect. */
  rle: string;
  /** Highest probability inside the kept mask (0 when empty). */
  maxProbability: number;
  /** Bounding box of the kept mask, rows and columns inclusive and 0-based; null when empty. */
  box: { top: number; left: number; bottom: number; right: number } | null;
  /** Connected defects of the kept mask. */
  components: Omit<DefectComponent, 'classId'>[];
}

/** Post-processed masks (one per class) and their RLEs, the way `train predict` writes a submission. */
export function postprocessImage(probs: Float32Array, size: { height: number; width: number }, config: PostprocessConfig) {
  const classes = config.classes.length;
  const masks = postprocess(probs, { ...size, classes }, config);
  return { masks, rles: masks.map((m) => encode(m, size)) };
}

/** Per-class results of one image: area, RLE, bounding box, highest probability and connected components. */
export function describeDefects(probs: Float32Array, size: { height: number; width: number }, config: PostprocessConfig): { classes: ClassResult[]; masks: Uint8Array[] } {
  const { masks, rles } = postprocessImage(probs, size, config);
  const components = listComponents(probs, { ...size, classes: masks.length }, config);
  const classes = masks.map((mask, k): ClassResult => {
    const own = components.filter((c) => c.classId === k + 1).map(({ classId: _, ...rest }) => rest);
    const area = own.reduce((a, c) => a + c.area, 0);
    const box =
      own.length === 0
        ? null
        : {
            top: Math.min(...own.map((c) => c.top)),
            left: Math.min(...own.map((c) => c.left)),
            bottom: Math.max(...own.map((c) => c.bottom)),
            right: Math.max(...own.map((c) => c.right)),
          };
    return { classId: k + 1, area, rle: rles[k]!, maxProbability: own.reduce((a, c) => Math.max(a, c.maxProb), 0), box, components: own };
  });
  return { classes, masks };
}

/** Class colours of the overlay (the viewer's palette order: class 1 to 4). */
const COLOURS: readonly [number, number, number][] = [
  [255, 64, 64],
  [64, 200, 64],
  [64, 128, 255],
  [255, 200, 0],
];

/** A PNG of the image in grey with each class's mask blended in its colour. */
export async function overlayPng(image: DecodedImage, masks: readonly Uint8Array[]): Promise<Buffer> {
  const { height, width, channels } = image;
  const rgb = new Uint8Array(height * width * 3);
  for (let p = 0; p < height * width; p++) {
    const grey = image.data[p * channels]!;
    let r = grey;
    let g = grey;
    let b = grey;
    masks.forEach((mask, k) => {
      if (mask[p] === 1) {
        const c = COLOURS[k % COLOURS.length]!;
        r = (r + c[0]) >> 1;
        g = (g + c[1]) >> 1;
        b = (b + c[2]) >> 1;
      }
    });
    rgb[p * 3] = r;
    rgb[p * 3 + 1] = g;
    rgb[p * 3 + 2] = b;
  }
  return sharp(rgb, { raw: { width, height, channels: 3 } }).png().toBuffer();
}
