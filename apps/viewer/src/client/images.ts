// Decoding images into the page's entries: dataset images (fetched once) and uploaded files.
import type { GalleryImage } from '../shared/api.ts';
import { state, type Entry } from './state.ts';

/** Decodes an image file into its pixels (no colour conversion) and a canvas to draw from. */
export async function decodeImage(blob: Blob): Promise<{ pixels: ImageData; canvas: HTMLCanvasElement }> {
  const bitmap = await createImageBitmap(blob, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  const canvas = document.createElement('canvas');
  canvas.width = bitmap.width;
  canvas.height = bitmap.height;
  const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
  ctx.drawImage(bitmap, 0, 0);
  bitmap.close();
  return { pixels: ctx.getImageData(0, 0, canvas.width, canvas.height), canvas };
}

/** A dataset image as an entry: fetched and decoded once, then kept. */
export async function datasetEntry(split: string, image: GalleryImage): Promise<Entry> {
  const key = `${split}/${image.id}`;
  const known = state.entries.get(key);
  if (known) return known;
  const response = await fetch(`/images/${encodeURIComponent(split)}/${encodeURIComponent(image.id)}`);
  if (!response.ok) throw new Error(`Image ${image.id} could not be fetched (HTTP ${response.status}).`);
  const { pixels, canvas } = await decodeImage(await response.blob());
  const entry: Entry = { key, id: image.id, split, pixels, canvas, truthRles: image.rles };
  state.entries.set(key, entry);
  return entry;
}
