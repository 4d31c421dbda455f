/**
 * Kernel threads by default in Node. The first kernel work that would be split across
 * threads (a Neural Module solve whose batch the blocked view would cut into column
 * blocks, src/kernels/blocked.ts) starts a team of `os.availableParallelism()` threads
 * in the background. Nothing waits for the start: the calls made meanwhile run on the
 * caller, with the same bits (every kernel gives the same result for any thread count),
 * and the kernels use the team from the first solve after its workers are ready (seen
 * by the next offer, which reads a counter the workers bump: this also works in a
 * training loop that never yields to the event loop; in one that does, the team is
 * taken as soon as the workers say so).
 *
 * Not started: when the count was chosen ({@link setThreads} or `useBest({ threads })`:
 * an explicit `setThreads(1)` sticks, even while a start is under way), when the
 * environment variable `NM_THREADS` is `1`, outside Node (a browser page needs
 * crossOriginIsolated for threads, so they stay opt-in there), and for layers too small
 * to split (they would pay for starting workers and gain nothing). `NM_THREADS=n`
 * starts n threads instead of one per core.
 *
 * The fused optimizers do not start it: their update is one memory-bound pass, copied
 * into and out of the kernels' memory off the wasm backend, and was not faster on two
 * threads (on wasm it runs in tfjs' own memory, which the workers cannot share).
 *
 * The workers never keep a Node process alive (src/platform/node_host.ts), and neither
 * does a start under way: a script that ends before the workers are ready exits.
 */
import { useKernelTeam } from '../kernels/index.js';
import { currentTeam } from '../kernels/threads/current.js';
import { KernelTeam, type TeamStart } from '../kernels/threads/team.js';
import { maybeNodeHost } from '../platform/host.js';
import { ConfigError, show } from '../utils/errors.js';
import { processEnv } from './candidates.js';
import { availableCores, forgetThreadsChoice, MAX_THREADS, threadsChosen } from './threads.js';

/** Where the default stands: not decided yet, starting, started, not applicable (see {@link defaultThreadsState}), or failed to start. */
export type DefaultThreadsState = 'idle' | 'starting' | 'started' | 'off' | 'failed';

/** What the default reads from its surroundings (tests replace it). */
interface Surroundings {
  /** Environment to read `NM_THREADS` from. */
  env: () => Record<string, string | undefined>;
  /** Cores of the machine. */
  cores: () => number;
  /** True in Node (the only runtime where threads start by default). */
  node: () => boolean;
  /** Starts a team of n threads. */
  start: (n: number) => TeamStart;
}

/**
 * Starts a team of n threads that nothing awaits: its time limit does not keep a Node
 * process alive, so a script that ends before the workers are ready still exits.
 *
 * @param source internal: the workers' script (tests use one that never gets ready).
 */
export function startInBackground(n: number, source?: string): TeamStart {
  return KernelTeam.begin(n, source, { holdsProcess: false });
}

const NODE: Surroundings = {
  env: processEnv,
  cores: availableCores,
  node: () => maybeNodeHost() !== null,
  start: (n) => startInBackground(n),
};

let around: Surroundings = NODE;
let state: DefaultThreadsState = 'idle';
/** The start under way, or null. */
let starting: TeamStart | null = null;
/** Settles when the start under way has (never rejects), or null. */
let pending: Promise<void> | null = null;

/**
 * The thread count `NM_THREADS` asks for (unset or empty: one per core, at most 64).
 * Throws a ConfigError naming the variable for anything but 'auto' or an integer in [1, 64].
 */
function wantedThreads(): number {
  const raw = around.env().NM_THREADS;
  const value = raw?.trim().toLowerCase() ?? '';
  if (value === '' || value === 'auto') return Math.min(MAX_THREADS, around.cores());
  const n = Number(value);
  if (!(/^\d+$/.test(value) && n >= 1 && n <= MAX_THREADS)) {
    throw new ConfigError(
      `tfjs-neural-modules: environment variable NM_THREADS must be 'auto' or an integer in [1, ${MAX_THREADS}] (the kernel threads ` +
        `to start by default); received ${show(raw)}. Set NM_THREADS=1 for one thread, or unset it for one thread per core.`,
    );
  }
  return n;
}

/**
 * Starts the default kernel team in the background if `splits(n)` says the work at hand
 * would be split across n threads and nothing above rules the default out; while a start
 * is under way, takes the team once its workers are ready. Cheap when the default is
 * settled (one comparison): callers call it before every solve.
 *
 * @param splits whether the caller's work would be cut into more than one part on n threads.
 * @throws ConfigError for a malformed `NM_THREADS` (see {@link wantedThreads}).
 *
 * @example
 * offerThreads((n) => columnLayout(batch, n, p).length > 2);
 */
export function offerThreads(splits: (threads: number) => boolean): void {
  if (state === 'starting') {
    const team = starting?.poll() ?? null;
    if (team !== null) settle(team);
    return;
  }
  if (state !== 'idle') return;
  if (threadsChosen() || currentTeam() !== null || !around.node()) {
    state = 'off';
    return;
  }
  const n = wantedThreads();
  if (n <= 1) {
    state = 'off';
    return;
  }
  if (!splits(n)) return;
  state = 'starting';
  try {
    starting = around.start(n);
  } catch (err) {
    failed(err);
    return;
  }
  pending = starting.ready.then(settle, failed);
}

/** Takes the started team, unless the count was chosen meanwhile (setThreads, or a test's useKernelTeam: theirs stands). */
function settle(team: KernelTeam): void {
  if (state !== 'starting') return;
  starting = null;
  if (threadsChosen() || currentTeam() !== null) {
    team.stop();
    state = 'off';
  } else {
    useKernelTeam(team);
    state = 'started';
  }
}

function failed(err: unknown): void {
  if (state !== 'starting') return;
  starting = null;
  state = 'failed';
  console.warn(
    `tfjs-neural-modules: the kernel threads could not start (${String(err)}); the kernels run on the calling thread. ` +
      'nm.backend.setThreads(n) tries again; NM_THREADS=1 or nm.backend.setThreads(1) turns the default off.',
  );
}

/**
 * Where the default stands ('idle' until some work would be split, 'off' when it does not
 * apply: chosen count, NM_THREADS=1, one core, not Node).
 *
 * @example
 * defaultThreadsState(); // 'started' after a large layer's first step in Node
 */
export function defaultThreadsState(): DefaultThreadsState {
  return state;
}

/**
 * Resolves once a start under way has settled (at once when none is).
 *
 * @example
 * await defaultThreadsSettled(); // nm.backend.threads() now counts the default team
 */
export async function defaultThreadsSettled(): Promise<void> {
  await pending;
}

/**
 * For tests: forgets the default's state and any chosen count, and reads the
 * surroundings from `replace` (each item defaults to the real one). Does not stop a team.
 */
export function resetDefaultThreads(replace: Partial<Surroundings> = {}): void {
  around = { ...NODE, ...replace };
  state = 'idle';
  starting = null;
  pending = null;
  forgetThreadsChoice();
}
