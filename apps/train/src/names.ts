// The names the command line accepts, for --help and the config schema. The registries (`architectures`, `encoders` in
// @steel/models, `losses` in @steel/losses, `BACKEND_NAMES` in @steel/backend) are the truth, but importing them loads
// TensorFlow.js, which --help must not wait for; so these are copies. The types below fail typecheck on a stale or
// missing name, and names.test.ts checks the order against the registries.
import type { BackendName } from '@steel/backend';
import type { LossName } from '@steel/losses';
import type { ArchitectureName, EncoderName } from '@steel/models';

/** Compiles only when `List` holds every member of `Union` (and, through `satisfies`, nothing else). */
type Exhaustive<Union, List extends readonly Union[]> = [Exclude<Union, List[number]>] extends [never] ? List : never;

const architectures = ['unet', 'fpn'] as const satisfies readonly ArchitectureName[];
const encoders = ['resnet18', 'resnet34', 'resnet50'] as const satisfies readonly EncoderName[];
const backends = ['auto', 'tensorflow', 'webgpu', 'wasm', 'cpu'] as const satisfies readonly BackendName[];
const losses = ['bce', 'dice', 'weighted-dice', 'bce-weighted-dice', 'focal', 'jaccard', 'lovasz-hinge'] as const satisfies readonly LossName[];

/** Keys of @steel/models' `architectures`, in registry order. */
export const ARCHITECTURE_NAMES: Exhaustive<ArchitectureName, typeof architectures> = architectures;
/** Keys of @steel/models' `encoders`, in registry order. */
export const ENCODER_NAMES: Exhaustive<EncoderName, typeof encoders> = encoders;
/** @steel/backend's `BACKEND_NAMES`. */
export const BACKEND_NAMES: Exhaustive<BackendName, typeof backends> = backends;
/** Keys of @steel/losses' `losses`, in registry order. */
export const LOSS_NAMES: Exhaustive<LossName, typeof losses> = losses;

/** `a | b | c`, for a help line. */
export const choices = (names: readonly string[]): string => names.join(' | ');
