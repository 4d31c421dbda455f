/** Command-line flags of the benchmark scripts: `--name value`. */

/** The value after `--name` on the command line, or `dflt` when the flag is absent; a flag without a value throws. */
export function flag(name: string, dflt: string): string {
  const argv = process.argv.slice(2);
  const i = argv.indexOf(`--${name}`);
  if (i < 0) return dflt;
  const v = argv[i + 1];
  if (v == null) throw new Error(`--${name} needs a value`);
  return v;
}
