import { InferenceError, echo } from './errors.ts';

/** One tile of a {@link TilePlan}, in columns of the working-size image. */
export interface Tile {
  /** First column of the tile. */
  readonly start: number;
  /** Columns taken from the image. */
  readonly width: number;
  /** Columns `[keepFrom, keepTo)` of the image that this tile's prediction supplies. */
  readonly keepFrom: number;
  readonly keepTo: number;
}

/** The tiles that cover an image's width. */
export interface TilePlan {
  readonly width: number;
  readonly tiles: readonly Tile[];
}

/** Options of {@link planTiles}. */
export interface TilePlanOptions {
  /** Widest tile in columns; rounded down to a multiple of `multiple`. Default: no tiling. */
  readonly tileWidth?: number;
  /** Columns shared by neighbouring tiles; each tile's prediction loses half of it on each inner border. Default 64. */
  readonly overlap?: number;
  /** Default 32. */
  readonly multiple?: number;
}

/** `n` rounded up to a multiple of `multiple`. */
export function padTo(n: number, multiple = 32): number {
  return Math.ceil(n / multiple) * multiple;
}

/**
 * Plans overlapping tiles across an image `width` columns wide: one tile when it fits `tileWidth`, else tiles of `tileWidth`
 * columns stepping by `tileWidth − overlap`, the last one flush with the right edge; each tile keeps its centre and drops
 * `overlap / 2` columns at each inner border, where its view of the image ends.
 * @throws {InferenceError} `INVALID_OPTION` for sizes or options that are not positive integers.
 * @example planTiles(4000, { tileWidth: 1600 }).tiles.length; // 3
 */
export function planTiles(width: number, options: TilePlanOptions = {}): TilePlan {
  const { multiple = 32, overlap = 64 } = options;
  for (const [name, v, min] of [['width', width, 1], ['multiple', multiple, 1], ['overlap', overlap, 0], ['tileWidth', options.tileWidth ?? 1, 1]] as const) {
    if (!Number.isInteger(v) || v < min) throw new InferenceError('INVALID_OPTION', `planTiles: expected ${name} to be an integer >= ${min}, got ${echo(v)}.`);
  }
  const tileWidth = options.tileWidth === undefined ? Infinity : Math.max(multiple, Math.floor(options.tileWidth / multiple) * multiple);
  if (width <= tileWidth) return { width, tiles: [{ start: 0, width, keepFrom: 0, keepTo: width }] };
  const half = Math.floor(Math.min(overlap, tileWidth / 2) / 2);
  const step = tileWidth - 2 * half;
  const starts: number[] = [];
  for (let s = 0; s + tileWidth < width; s += step) starts.push(s);
  starts.push(width - tileWidth);
  const tiles: Tile[] = [];
  let keepFrom = 0;
  starts.forEach((start, i) => {
    const keepTo = i === starts.length - 1 ? width : start + tileWidth - half;
    tiles.push({ start, width: tileWidth, keepFrom, keepTo });
    keepFrom = keepTo;
  });
  return { width, tiles };
}
