/**
 * The tfjs versions that the files of this folder were written against. Every patch of
 * tfjs and every read of a tfjs internal in the package lives in this folder, is
 * listed in {@link TFJS_INTERNALS} and is checked before use (a missing internal
 * makes the package take its plain tfjs path). On another tfjs version the package
 * still runs, but test/tfjs_internals.test.ts fails through {@link checkTfjsVersion},
 * so that the assumptions are checked again before that version is claimed.
 */
import { version_core } from '@tensorflow/tfjs-core';
import { version_layers } from '@tensorflow/tfjs-layers';

/** The tfjs packages whose internals the package relies on. */
export type TfjsPackage = '@tensorflow/tfjs-core' | '@tensorflow/tfjs-layers' | '@tensorflow/tfjs-backend-wasm' | '@tensorflow/tfjs-backend-cpu';

/** The `major.minor` of tfjs that every file of this folder was written against. */
export const WRITTEN_AGAINST = '4.22';

/** One file of this folder: what it patches or reads, in which packages. */
export interface TfjsInternal {
  file: string;
  what: string;
  packages: readonly TfjsPackage[];
}

/** Every patch of tfjs and every read of its internals, by file. */
export const TFJS_INTERNALS: readonly TfjsInternal[] = [
  {
    file: 'call_phase.ts',
    what: 'wraps LayersModel.prototype fit, fitDataset, evaluate, evaluateDataset, predict and predictOnBatch',
    packages: ['@tensorflow/tfjs-layers'],
  },
  {
    file: 'callback_list.ts',
    what: "wraps CallbackList.prototype.setParams and rewrites the list's `callbacks` field",
    packages: ['@tensorflow/tfjs-layers'],
  },
  { file: 'variable_write.ts', what: "wraps one LayerVariable's write, which setWeights and model loading call", packages: ['@tensorflow/tfjs-layers'] },
  {
    file: 'host_view.ts',
    what: "reads the wasm backend's wasm.HEAPU8, wasm.asm.memory, dataIdMap (memoryOffset, refCount) and makeOutput, the cpu backend's data",
    packages: ['@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-wasm', '@tensorflow/tfjs-backend-cpu'],
  },
  { file: 'kernel_swap.ts', what: "replaces kernels in tfjs-core's kernel registry", packages: ['@tensorflow/tfjs-core'] },
];

/** An installed tfjs package whose version is not the one the internals were written against. */
export interface TfjsVersionMismatch {
  package: TfjsPackage;
  /** The installed version. */
  found: string;
  /** The `major.minor` expected ({@link WRITTEN_AGAINST}). */
  expected: string;
  /** The files of this folder that rely on that package. */
  files: string[];
}

/**
 * The tfjs packages whose installed version differs from {@link WRITTEN_AGAINST} in
 * `major.minor`; empty when every one matches. tfjs-core's and tfjs-layers' versions
 * are read here; the backends' (`version_wasm`, `version_cpu`) are passed by a caller
 * that imports them (the package itself imports neither backend).
 *
 * @example
 * checkTfjsVersion({ '@tensorflow/tfjs-backend-wasm': version_wasm }); // [] on 4.22.x
 */
export function checkTfjsVersion(backendVersions: Partial<Record<TfjsPackage, string>> = {}): TfjsVersionMismatch[] {
  const versions: Partial<Record<TfjsPackage, string>> = {
    '@tensorflow/tfjs-core': version_core,
    '@tensorflow/tfjs-layers': version_layers,
    ...backendVersions,
  };
  const out: TfjsVersionMismatch[] = [];
  for (const [pkg, found] of Object.entries(versions) as Array<[TfjsPackage, string]>) {
    if (found.startsWith(`${WRITTEN_AGAINST}.`)) continue;
    const files = TFJS_INTERNALS.filter((i) => i.packages.includes(pkg)).map((i) => i.file);
    out.push({ package: pkg, found, expected: WRITTEN_AGAINST, files });
  }
  return out;
}
