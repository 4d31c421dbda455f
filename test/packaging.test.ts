/**
 * Packaging invariants that need no build: the browser entry's module graph reaches no
 * `node:` module, the Node entry has the same namespaces, no deep tfjs `dist/` imports,
 * README links resolve in the repository, the relative links of README.md and the shipped
 * docs point to files `files` ships, and the package metadata users rely on.
 * (`npm run test:consumers` checks the built tarball itself.)
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as browserEntry from '../src/index.js';
import * as nodeEntry from '../src/node.js';
import { relativeLinks, resolveLink, shippedBy, shippedDocs } from './helpers/doc_links.js';

const ROOT = resolve(import.meta.dirname, '..');
const read = (f: string) => readFileSync(join(ROOT, f), 'utf8');

/** Relative imports and `node:`/bare imports of a source file (static and dynamic). */
function importsOf(file: string): string[] {
  const code = readFileSync(file, 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/^\s*\/\/.*$/gm, '');
  const out: string[] = [];
  for (const m of code.matchAll(/(?:\bfrom|\bimport\s*\(|^\s*import)\s*['"]([^'"]+)['"]/gm)) out.push(m[1]);
  return out;
}

/** Every source file reachable from `entry` by relative imports, with the non-relative specifiers met. */
function graph(entry: string): { files: Set<string>; external: Set<string> } {
  const files = new Set<string>();
  const external = new Set<string>();
  const todo = [entry];
  while (todo.length > 0) {
    const file = todo.pop()!;
    if (files.has(file)) continue;
    files.add(file);
    for (const spec of importsOf(file)) {
      if (spec.startsWith('.')) todo.push(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
      else external.add(spec);
    }
  }
  return { files, external };
}

describe('module graphs', () => {
  it('the browser entry reaches no node: module, only tfjs-core and tfjs-layers', () => {
    const { files, external } = graph(join(ROOT, 'src/index.ts'));
    expect(files.size).toBeGreaterThan(50);
    expect([...external].sort()).toEqual(['@tensorflow/tfjs-core', '@tensorflow/tfjs-layers']);
    expect([...files].some((f) => f.includes('/platform/node_host.ts'))).toBe(false);
  });

  it('only src/platform/node_host.ts imports node: modules', () => {
    const { files } = graph(join(ROOT, 'src/node.ts'));
    const withNode = [...files].filter((f) => importsOf(f).some((s) => s.startsWith('node:')));
    expect(withNode.map((f) => f.slice(ROOT.length + 1))).toEqual(['src/platform/node_host.ts']);
  });

  it('the Node entry exports the same namespaces and members as the browser entry', () => {
    const shape = (m: Record<string, unknown>) =>
      Object.fromEntries(Object.entries(m).map(([k, v]) => [k, typeof v === 'object' && v !== null ? Object.keys(v).sort() : typeof v]));
    expect(shape(nodeEntry)).toEqual(shape(browserEntry));
    expect(typeof nodeEntry.io.fileSystem).toBe('function');
  });

  it('no source imports tfjs internals (dist/ paths end up in the emitted .d.ts)', () => {
    const { files } = graph(join(ROOT, 'src/node.ts'));
    const deep = [...files].flatMap((f) =>
      importsOf(f)
        .filter((s) => /^@tensorflow\/[^/]+\/dist/.test(s))
        .map((s) => `${f}: ${s}`),
    );
    expect(deep).toEqual([]);
  });
});

describe('package metadata and docs', () => {
  const pkg = JSON.parse(read('package.json'));

  it('has license text, repository, homepage, bugs and the script-tag fields', () => {
    expect(pkg.license).toBe('Apache-2.0');
    expect(read('LICENSE')).toMatch(/Apache License\s+Version 2\.0, January 2004[\s\S]*END OF TERMS AND CONDITIONS/);
    expect(pkg.repository.url).toContain('github.com/tfjs-neural-modules/tfjs-neural-modules');
    expect(pkg.homepage).toMatch(/^https:\/\//);
    expect(pkg.bugs.url).toMatch(/\/issues$/);
    expect(pkg.unpkg).toBe('dist/tfjs-neural-modules.min.js');
    expect(pkg.jsdelivr).toBe(pkg.unpkg);
    expect(pkg.scripts.prepack).toBe('npm run build');
  });

  it('exports: node → Node entry (ESM and CJS), browser/default → browser entry, ./node subpath', () => {
    const dot = pkg.exports['.'];
    expect(dot.node.import.default).toBe('./dist/src/node.js');
    expect(dot.node.require.default).toBe('./dist/cjs/node.cjs');
    expect(dot.browser.import.default).toBe('./dist/src/index.js');
    expect(dot.default.default).toBe('./dist/src/index.js');
    expect(pkg.exports['./node'].require.types).toMatch(/\.d\.cts$/);
    // `browser` must win over `node` for tools that set both.
    expect(Object.keys(dot).indexOf('browser')).toBeLessThan(Object.keys(dot).indexOf('node'));
  });

  it('every relative README link resolves in the repository, none points outside it', () => {
    const links = relativeLinks(read('README.md'));
    expect(links.length).toBeGreaterThan(0);
    for (const l of links) {
      expect(l.startsWith('..'), l).toBe(false);
      expect(existsSync(join(ROOT, l)), l).toBe(true);
    }
    expect(read('README.md')).not.toContain('../shared');
  });

  it('every relative link of README.md and the shipped docs points to a file package.json `files` ships', () => {
    const docs = shippedDocs(pkg.files, ROOT);
    expect(docs).toEqual([
      'README.md',
      'docs/API.md',
      'docs/DESIGN.md',
      ...['activations-and-callbacks', 'backends-and-performance', 'benchmarks', 'cff', 'optnet', 'saving', 'structure-learning', 'troubleshooting'].map(
        (page) => `docs/guide/${page}.md`,
      ),
    ]);
    const broken: string[] = [];
    for (const doc of docs) {
      for (const link of relativeLinks(read(doc))) {
        const target = resolveLink(doc, link);
        if (target.startsWith('..') || !existsSync(join(ROOT, target)) || !shippedBy(pkg.files, target)) broken.push(`${doc}: ${link}`);
      }
    }
    expect(broken, 'link to the repository instead (https://github.com/tfjs-neural-modules/tfjs-neural-modules/blob/main/<path>), or ship the file').toEqual(
      [],
    );
  });

  it('the link parser finds inline, angle-bracket, titled and reference links, and skips code, anchors and URLs', () => {
    const md = [
      'See [a](docs/A.md#part), ![b](img/b.png "B"), [c](<docs/C D.md>) and [d][ref].',
      '[ref]: data/README.md',
      '[web](https://example.com/x.md), [mail](mailto:a@b.c), [top](#top), [proto](//cdn.example/x.js)',
      '`[not](code.md)`',
      '```md',
      '[not](fenced.md)',
      '```',
    ].join('\n');
    expect(relativeLinks(md)).toEqual(['docs/A.md', 'img/b.png', 'docs/C D.md', 'data/README.md']);
    expect(resolveLink('docs/API.md', 'STRUCTURE.md')).toBe('docs/STRUCTURE.md');
    expect(resolveLink('docs/API.md', '../LICENSE')).toBe('LICENSE');
    expect(resolveLink('README.md', '../shared/API.md')).toBe('../shared/API.md');
    expect(shippedBy(['dist', 'docs/API.md'], 'dist/src/index.js')).toBe(true);
    expect(shippedBy(['dist', 'docs/API.md'], 'docs/STRUCTURE.md')).toBe(false);
    expect(shippedBy(['dist'], 'distillery.md')).toBe(false);
    expect(shippedBy([], 'LICENSE')).toBe(true);
    expect(shippedBy(['docs/guide'], 'docs/guide/cff.md')).toBe(true);
    expect(shippedDocs(['dist', 'docs/guide', 'docs/API.md'], ROOT)).toContain('docs/guide/saving.md');
    expect(shippedDocs(['docs/guide'])).toEqual(['README.md']);
  });
});
