// The page's state (the model, the decoded images, their predictions, the sliders' rules, the gallery page), the URL's
// parameters and the status line.
import type { ClassRule } from '@steel/ensemble';
import type { GalleryPage, ModelInfo, ViewerInfo } from '../shared/api.ts';
import type { ProbabilityMap } from '../shared/analysis.ts';
import { byId } from './dom.ts';
import type { LoadedModel, PageEngine } from './model.ts';

/** An image the page has decoded: from the dataset or uploaded. */
export interface Entry {
  readonly key: string;
  /** ImageId in the CSV. */
  readonly id: string;
  /** Dataset split, or null for an upload. */
  readonly split: string | null;
  readonly pixels: ImageData;
  readonly canvas: HTMLCanvasElement;
  readonly truthRles: Readonly<Record<string, string>> | null;
  truth?: { classes: number; masks: Uint8Array[]; overlay: HTMLCanvasElement };
}

/** A predicted image: its probability map and the inference time (ms). */
export interface Prediction {
  readonly map: ProbabilityMap;
  readonly ms: number;
}

/** The page's state, shared by all its parts (also `steelViewer.state` in the console). */
export const state = {
  info: null as ViewerInfo | null,
  backend: '',
  modelInfo: null as ModelInfo | null,
  model: null as LoadedModel | null,
  /** Engines offered for the model, the one in use, and inference times per engine (ms per image) in this page load. */
  engines: [] as PageEngine[],
  engine: null as PageEngine | null,
  engineTimings: {} as Record<string, number[]>,
  /** Whether the engines were timed against each other on an image (the faster becomes the default). */
  calibrated: false,
  modelError: null as string | null,
  loading: null as Promise<void> | null,
  entries: new Map<string, Entry>(),
  predictions: new Map<string, Prediction>(),
  current: null as Entry | null,
  rules: [] as ClassRule[],
  split: 'test',
  offset: 0,
  page: null as GalleryPage | null,
  predictingAll: false,
  timings: [] as number[],
};

/** The page URL's parameters (`model`, `backend`, `engine`). */
export const params = new URLSearchParams(location.search);

/** Sets the status line. */
export const status = (text: string) => {
  byId('status').textContent = text;
};
