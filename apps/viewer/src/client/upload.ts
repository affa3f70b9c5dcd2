// Opening an image file the user chose or dropped on the page.
import { csvSafeId } from '../shared/analysis.ts';
import { clearMessages, showMessage } from './dom.ts';
import { openEntry } from './gallery.ts';
import { decodeImage } from './images.ts';
import { state, type Entry } from './state.ts';

/** File names taken for images when the browser gives no type. */
const IMAGE_NAME = /\.(png|jpe?g|webp|bmp|gif)$/i;

/** Opens an uploaded image file, or says why it cannot be opened. */
export async function openUpload(file: File): Promise<void> {
  const name = file.name || 'image';
  if (!(file.type.startsWith('image/') || (file.type === '' && IMAGE_NAME.test(name)))) {
    showMessage(`"${name}" is not an image (its type is ${file.type || 'unknown'}). Choose a PNG, JPEG, WebP, BMP or GIF file.`, 'error', 'upload');
    return;
  }
  let decoded;
  try {
    decoded = await decodeImage(file);
  } catch {
    showMessage(`"${name}" could not be decoded as an image: the file is damaged or in a format this browser cannot read. Choose a PNG, JPEG, WebP, BMP or GIF file.`, 'error', 'upload');
    return;
  }
  clearMessages('upload');
  const id = csvSafeId(name);
  const key = `upload/${id}`;
  state.predictions.delete(key);
  const entry: Entry = { key, id, split: null, pixels: decoded.pixels, canvas: decoded.canvas, truthRles: null };
  state.entries.set(key, entry);
  await openEntry(entry, { focus: true });
}
