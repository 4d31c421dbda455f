/**
 * The process-wide kernel team that `nm.backend.setThreads` starts, which new kernel
 * instances attach to (src/kernels/wasm_kernels.ts); null while one thread is used.
 */
import type { KernelTeam } from './team.js';

let team: KernelTeam | null = null;

/**
 * The current kernel team, or null.
 *
 * @example
 * createWasmKernels({ team: currentTeam() });
 */
export function currentTeam(): KernelTeam | null {
  return team;
}

/**
 * Replaces the current team (the caller stops the old one).
 *
 * @example
 * setCurrentTeam(await KernelTeam.start(2));
 */
export function setCurrentTeam(next: KernelTeam | null): void {
  team = next;
}
