/**
 * The lint rules that keep src/ layered (eslint-rules/layering.js), on a small tree of
 * their own (test/fixtures/layering/src: floors low < side = ... < high, a two-file
 * circle, a folder on no floor), and on the real src/ with its real floor table.
 */
import { Linter } from 'eslint';
import { fileURLToPath } from 'node:url';
import tseslint from 'typescript-eslint';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain-JavaScript ESLint plugin without type declarations
import layering from '../eslint-rules/layering.js';

const fixture = fileURLToPath(new URL('./fixtures/layering/', import.meta.url));
const repo = fileURLToPath(new URL('../', import.meta.url));

/** The messages of rule `rule` for `code` linted as the file `file` of the tree at `cwd`. */
function lint(cwd: string, file: string, code: string, rule: string, options: object): string[] {
  const linter = new Linter({ cwd });
  const entry: Linter.RuleEntry = ['error', options];
  const config: Linter.Config[] = [
    { files: ['**/*.ts'], languageOptions: { parser: tseslint.parser as Linter.Parser }, plugins: { layering }, rules: { [`layering/${rule}`]: entry } },
  ];
  return linter.verify(code, config, { filename: `${cwd}${file}` }).map((m) => m.message);
}

const FLOORS = { root: 'src', floors: [['low'], ['side', 'cycle'], ['high']] };

describe('layering/floors', () => {
  it('allows an import of a lower floor', () => {
    expect(lint(fixture, 'src/high/b.ts', "import { a } from '../low/a.js';", 'floors', FLOORS)).toEqual([]);
  });

  it('reports an import running back up, naming both floors and both files', () => {
    const messages = lint(fixture, 'src/low/a.ts', "import { b } from '../high/b.js';\nexport const a = b;", 'floors', FLOORS);
    expect(messages).toHaveLength(1);
    expect(messages[0]).toContain("'low' (floor 0: low) may not import 'high' (floor 2: high), a higher floor: src/low/a.ts → src/high/b.ts");
  });

  it('reports an import across to another part of the same floor, type imports and re-exports included', () => {
    const code = "import type { X } from '../cycle/x.js';\nexport { type X };\nexport * from '../cycle/y.js';";
    const messages = lint(fixture, 'src/side/c.ts', code, 'floors', FLOORS);
    expect(messages).toHaveLength(2);
    for (const m of messages) expect(m).toContain('another part of the same floor');
  });

  it('reports a file on no floor', () => {
    expect(lint(fixture, 'src/loose/z.ts', 'export const z = 0;', 'floors', FLOORS)).toEqual([
      'src/loose/z.ts is on no floor: give its folder a floor in eslint.config.js (layering/floors).',
    ]);
  });

  it('on the real tree: a solver importing a layer family is an error', async () => {
    // @ts-expect-error: the repository's ESLint config is plain JavaScript without type declarations
    const { default: config } = await import('../eslint.config.js');
    const entry = (config as Array<{ rules?: Record<string, unknown> }>).find((c) => c.rules?.['layering/floors']);
    const [, options] = entry!.rules!['layering/floors'] as [string, object];
    const messages = lint(repo, 'src/solvers/picard.ts', "import { URNLayer } from '../layers/urn/layer.js';\nexport const x = URNLayer;", 'floors', options);
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatch(/^'solvers' \(floor \d+: .*\) may not import 'layers\/urn' \(floor \d+: .*\), a higher floor/);
  });
});

describe('layering/no-cycle', () => {
  it('reports both imports of a two-file circle, with the circle', () => {
    const x = lint(fixture, 'src/cycle/x.ts', "import type { Y } from './y.js';\nexport interface X { y?: Y }", 'no-cycle', { root: 'src' });
    expect(x).toEqual(['Import circle: cycle/x.ts → cycle/y.ts → cycle/x.ts. Move what both need into a file of its own.']);
    const y = lint(fixture, 'src/cycle/y.ts', "import type { X } from './x.js';\nexport interface Y { x?: X }", 'no-cycle', { root: 'src' });
    expect(y).toHaveLength(1);
  });

  it('accepts a chain without a circle', () => {
    expect(lint(fixture, 'src/high/b.ts', "import { a } from '../low/a.js';\nexport const b = a;", 'no-cycle', { root: 'src' })).toEqual([]);
  });
});
