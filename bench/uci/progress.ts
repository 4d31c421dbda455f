/**
 * Progress over the whole benchmark grid with an ETA. On a TTY one line is
 * redrawn in place; otherwise one line is printed per finished trial (logs).
 *
 * The ETA sums an estimate per remaining trial: the mean measured time of finished
 * trials with the same (method, nodes) and dataset (their undisturbed time, estimate.ts
 * `trialSeconds`, when the caller gives it: a paused grid then does not inflate the ETA), else the cost model of
 * bench/uci/estimate.ts fitted to every stored trial (`model`, when given), else the same
 * (method, nodes) scaled by the dataset's relative cost, else the same method and dataset
 * at the nearest measured node count scaled by (p/p')² (p/p' for NN), else the dataset's mean.
 */

export interface TrialCoordinates {
  dataset: string;
  method: string;
  nodes: number;
  seed: number;
  configIndex: number;
}

const fmtTime = (s: number) => {
  if (!Number.isFinite(s)) return '?';
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = Math.round(s % 60);
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(sec).padStart(2, '0')}s` : `${sec}s`;
};

export class GridProgress {
  private readonly times = new Map<string, number[]>();
  private done = 0;
  private readonly start = Date.now();

  /**
   * @param plan the trials still to train, in run order
   * @param stored trials of the grid already stored (counted as finished, not timed)
   * @param model seconds of one training by `dataset|method|nodes` (estimate.ts `perTraining`), for trials not measured yet
   */
  constructor(
    private readonly plan: TrialCoordinates[],
    private readonly write: (text: string) => void,
    private readonly inPlace: boolean,
    private readonly stored = 0,
    private readonly model: ReadonlyMap<string, number> = new Map(),
  ) {}

  private add(key: string, seconds: number): void {
    if (!this.times.has(key)) this.times.set(key, []);
    this.times.get(key)!.push(seconds);
  }

  private mean(key: string): number | null {
    const xs = this.times.get(key);
    return xs && xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null;
  }

  /** Records a measured trial (also for trials loaded from a previous session: they inform the ETA). */
  observe(c: TrialCoordinates, seconds: number): void {
    this.add(`${c.dataset}|${c.method}|${c.nodes}`, seconds);
    this.add(`*|${c.method}|${c.nodes}`, seconds);
    this.add(`${c.dataset}|*|*`, seconds);
    this.add('*|*|*', seconds);
  }

  private estimate(c: TrialCoordinates): number {
    const exact = this.mean(`${c.dataset}|${c.method}|${c.nodes}`);
    if (exact != null) return exact;
    const modelled = this.model.get(`${c.dataset}|${c.method}|${c.nodes}`);
    if (modelled != null && Number.isFinite(modelled)) return modelled;
    const mn = this.mean(`*|${c.method}|${c.nodes}`);
    const all = this.mean('*|*|*');
    const ds = this.mean(`${c.dataset}|*|*`);
    if (mn != null) return ds != null && all ? (mn * ds) / all : mn;
    // The same method at the nearest measured node count, scaled by (p/p')² (the graph's cost).
    const near = Array.from(this.times.keys())
      .filter((k) => k.startsWith(`${c.dataset}|${c.method}|`))
      .map((k) => Number(k.split('|')[2]))
      .sort((a, b) => Math.abs(a - c.nodes) - Math.abs(b - c.nodes))[0];
    if (near != null) return this.mean(`${c.dataset}|${c.method}|${near}`)! * (c.nodes / near) ** (c.method === 'NN' ? 1 : 2);
    return ds ?? all ?? NaN;
  }

  /** Trials trained at once (`--workers`): the ETA divides by it. */
  parallel = 1;

  /** Seconds left for the trials of the plan not finished yet. */
  eta(): number {
    let s = 0;
    for (const c of this.plan.slice(this.done)) s += this.estimate(c);
    return s / this.parallel;
  }

  started(c: TrialCoordinates): void {
    if (!this.inPlace) return;
    this.write(`\r${this.bar()} ${this.label(c)} …\x1b[K`);
  }

  /**
   * @param seconds the trial's wall time, printed
   * @param timed the time the ETA learns from; default `seconds` (the runner passes `trialSeconds`, which a pause does not stretch)
   */
  finished(c: TrialCoordinates, seconds: number, summary: string, timed = seconds): void {
    this.done++;
    this.observe(c, timed);
    const line = `${this.bar()} ${this.label(c)} ${summary} (${seconds.toFixed(1)}s)`;
    this.write(this.inPlace ? `\r${line}\x1b[K` : `${line}\n`);
  }

  end(): void {
    if (this.inPlace) this.write('\n');
  }

  private label(c: TrialCoordinates): string {
    return `${c.dataset} ${c.method} p=${c.nodes} seed ${c.seed} cfg ${c.configIndex + 1}`;
  }

  private bar(): string {
    const total = this.plan.length + this.stored;
    const finished = this.done + this.stored;
    const width = 24;
    const filled = total > 0 ? Math.round((width * finished) / total) : width;
    const elapsed = (Date.now() - this.start) / 1000;
    return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${finished}/${total} elapsed ${fmtTime(elapsed)} ETA ${fmtTime(this.eta())}`;
  }
}
