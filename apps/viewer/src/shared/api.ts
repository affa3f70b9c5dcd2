// What the server tells the page (JSON over HTTP).

/** One per-class Dice summary as the training app writes it in metrics.json. */
export interface DiceSummary {
  readonly mean: number;
  readonly perClass: readonly number[];
}

/** One class's post-processing rule as @steel/ensemble takes it. */
export interface PostprocessRule {
  readonly threshold: number;
  readonly minArea: number;
  readonly topThreshold: number;
  readonly minMaskArea: number;
  readonly gate: number;
}

/** A model the page can load. */
export interface ModelInfo {
  /** URL-safe id; files are served under `/models/<id>/`. */
  readonly id: string;
  /** Run or folder name shown in the picker. */
  readonly name: string;
  /** The folder on disk (shown, never fetched). */
  readonly dir: string;
  /** `run` for a training run's best model, `folder` for a model folder given directly. */
  readonly kind: 'run' | 'folder';
  /** Whether model.json exists; the page explains when it does not. */
  readonly hasModelJson: boolean;
  /** The run's config.json (architecture, scale, threshold, min areas, ...) when there is one. */
  readonly config: Record<string, unknown> | null;
  /** The run's metrics.json when there is one. */
  readonly metrics: Record<string, unknown> | null;
  /** Stored size of the images the model was trained on (before the run's `scale`), when the run says. */
  readonly trainSize: { readonly height: number; readonly width: number } | null;
  /** The run's tuned post-processing (tuned.json): one complete rule per class, when there is one. */
  readonly postprocess: readonly PostprocessRule[] | null;
  /** Per-epoch history from the run's checkpoint state, when there is one. */
  readonly history: readonly Record<string, unknown>[] | null;
}

/** The dataset shown in the gallery. */
export interface DatasetInfo {
  readonly dir: string;
  readonly name: string;
  readonly height: number;
  readonly width: number;
  readonly classes: number;
  /** Image counts per split; `test` only when the folder has test images. */
  readonly splits: Readonly<Record<string, { readonly images: number; readonly hasTruth: boolean }>>;
}

/** `GET /api/info`. */
export interface ViewerInfo {
  readonly models: readonly ModelInfo[];
  /** Id of the model to load first, or null when there is none. */
  readonly defaultModel: string | null;
  readonly dataset: DatasetInfo | null;
  /** Lines the page shows at the top (e.g. why there is no model or no dataset). */
  readonly notices: readonly string[];
}

/** One gallery image of `GET /api/images`. */
export interface GalleryImage {
  readonly id: string;
  /** Ground truth RLE per 1-based class id; null when the split has no ground truth. */
  readonly rles: Readonly<Record<string, string>> | null;
}

/** `GET /api/images?split=&offset=&limit=`. */
export interface GalleryPage {
  readonly split: string;
  readonly total: number;
  readonly offset: number;
  readonly images: readonly GalleryImage[];
}
