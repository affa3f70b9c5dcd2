// How an image of any size is brought to the model: resized to the height the model was trained at, padded to a multiple
// of 32 and, when wider than a tile, cut into overlapping tiles whose centres are stitched back together.

/** One tile of a {@link TilePlan}, in columns of the resized image. */
export interface Tile {
  /** First column of the tile. */
  readonly start: number;
  /** Columns taken from the resized image (the last tile may be narrower than the tile width only when there is one tile). */
  readonly width: number;
  /** Width after padding to the multiple. */
  readonly paddedWidth: number;
  /** Columns `[keepFrom, keepTo)` of the resized image that this tile's prediction supplies. */
  readonly keepFrom: number;
  readonly keepTo: number;
}

/** Sizes and tiles for predicting one image. */
export interface TilePlan {
  /** Size of the image as given. */
  readonly height: number;
  readonly width: number;
  /** Size the image is resized to before prediction. */
  readonly scaledHeight: number;
  readonly scaledWidth: number;
  /** Height after padding to the multiple. */
  readonly paddedHeight: number;
  readonly tiles: readonly Tile[];
}

/** Options of {@link planTiles}. */
export interface TilePlanOptions {
  /** Height the model works at (the training images' height times the training scale). Default: the image's own height. */
  readonly targetHeight?: number;
  /** Widest tile in columns of the resized image; rounded down to the multiple. Default 2048. */
  readonly tileWidth?: number;
  /** Columns shared by neighbouring tiles (their borders are discarded). Default 64. */
  readonly overlap?: number;
  /** Height and width of every model input are multiples of this. Default 32. */
  readonly multiple?: number;
}

/** `n` rounded up to a multiple of `multiple`. */
export function padTo(n: number, multiple = 32): number {
  return Math.ceil(n / multiple) * multiple;
}

/**
 * Plans the prediction of an image of `height x width`: resize factor, padding and tiles.
 * @throws {RangeError} for sizes or options that are not positive integers.
 */
export function planTiles(height: number, width: number, options: TilePlanOptions = {}): TilePlan {
  const { multiple = 32, overlap = 64 } = options;
  for (const [name, v] of [
    ['height', height],
    ['width', width],
    ['multiple', multiple],
  ] as const) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`planTiles: expected ${name} to be a positive integer, got ${v}.`);
  }
  const targetHeight = Math.max(1, Math.round(options.targetHeight ?? height));
  const scaledHeight = targetHeight;
  const scaledWidth = Math.max(1, Math.round((width * targetHeight) / height));
  const tileWidth = Math.max(multiple, Math.floor((options.tileWidth ?? 2048) / multiple) * multiple);
  const plan = { height, width, scaledHeight, scaledWidth, paddedHeight: padTo(scaledHeight, multiple) };
  if (scaledWidth <= tileWidth) {
    return { ...plan, tiles: [{ start: 0, width: scaledWidth, paddedWidth: padTo(scaledWidth, multiple), keepFrom: 0, keepTo: scaledWidth }] };
  }
  const half = Math.floor(Math.min(overlap, tileWidth / 2) / 2);
  const step = tileWidth - 2 * half;
  const starts: number[] = [];
  for (let s = 0; s + tileWidth < scaledWidth; s += step) starts.push(s);
  starts.push(scaledWidth - tileWidth);
  const tiles: Tile[] = [];
  let keepFrom = 0;
  starts.forEach((start, i) => {
    const last = i === starts.length - 1;
    const keepTo = last ? scaledWidth : start + tileWidth - half;
    tiles.push({ start, width: tileWidth, paddedWidth: tileWidth, keepFrom, keepTo });
    keepFrom = keepTo;
  });
  return { ...plan, tiles };
}
