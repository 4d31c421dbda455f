// The layering of src/, enforced by lint: a local ESLint plugin (no package needed) with
// two rules over the relative imports of src/ (type-only imports included).
//
// - `layering/floors`: every part of src/ (a folder, a layer family folder, or a single
//   entry file) stands on one floor of the `floors` option, lowest first. A file may
//   import its own part and parts on LOWER floors only: an import running back up, or
//   across to another part of the same floor (two layer families, say), is an error,
//   and so is a file in no part (a new folder must be given a floor).
// - `layering/no-cycle`: no import circle between files of src/, even inside one part.
//   The import graph of the whole folder is read with TypeScript's pre-processor (which
//   skips comments and strings) and cut into strongly connected components; an import
//   whose target is in the importing file's component is reported with the circle.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';

/** `file` (absolute) relative to `root`, with forward slashes. */
const rel = (root, file) => relative(root, file).split(sep).join('/');

/** The .ts file a relative specifier names, or null when it is not a relative import. */
function resolveImport(fromFile, spec) {
  if (!spec.startsWith('./') && !spec.startsWith('../')) return null;
  const base = resolve(dirname(fromFile), spec);
  const candidates = [base.replace(/\.js$/, '.ts'), base, `${base}.ts`, join(base, 'index.ts')];
  for (const c of candidates) {
    try {
      if (statSync(c).isFile()) return c;
    } catch {
      // not this one
    }
  }
  return null;
}

/** Every .ts file under `dir`. */
function tsFiles(dir, out = []) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) tsFiles(p, out);
    else if (entry.name.endsWith('.ts')) out.push(p);
  }
  return out;
}

/** The import graph of `root` and its strongly connected components, rebuilt when a file changes. */
const graphs = new Map();
function importGraph(root) {
  const files = tsFiles(root);
  const stamp = files.map((f) => `${f}:${statSync(f).mtimeMs}`).join('|');
  const cached = graphs.get(root);
  if (cached?.stamp === stamp) return cached;
  const edges = new Map();
  for (const f of files) {
    const info = ts.preProcessFile(readFileSync(f, 'utf8'), true, true);
    const targets = info.importedFiles.map((i) => resolveImport(f, i.fileName)).filter((t) => t !== null);
    edges.set(f, [...new Set(targets)]);
  }
  // Tarjan's strongly connected components (iterative: no recursion limit on deep chains).
  const index = new Map();
  const low = new Map();
  const component = new Map();
  const stack = [];
  const onStack = new Set();
  let next = 0;
  for (const start of files) {
    if (index.has(start)) continue;
    const work = [[start, 0]];
    index.set(start, next);
    low.set(start, next++);
    stack.push(start);
    onStack.add(start);
    while (work.length > 0) {
      const frame = work[work.length - 1];
      const [v, i] = frame;
      const out = edges.get(v) ?? [];
      if (i < out.length) {
        frame[1]++;
        const w = out[i];
        if (!edges.has(w)) continue;
        if (!index.has(w)) {
          index.set(w, next);
          low.set(w, next++);
          stack.push(w);
          onStack.add(w);
          work.push([w, 0]);
        } else if (onStack.has(w)) {
          low.set(v, Math.min(low.get(v), index.get(w)));
        }
        continue;
      }
      work.pop();
      if (work.length > 0) {
        const parent = work[work.length - 1][0];
        low.set(parent, Math.min(low.get(parent), low.get(v)));
      }
      if (low.get(v) === index.get(v)) {
        let w;
        do {
          w = stack.pop();
          onStack.delete(w);
          component.set(w, v);
        } while (w !== v);
      }
    }
  }
  const graph = { stamp, edges, component };
  graphs.set(root, graph);
  return graph;
}

/** The shortest chain of imports from `from` back to `to` inside one component. */
function circle(graph, from, to) {
  const comp = graph.component.get(from);
  const prev = new Map([[from, null]]);
  const queue = [from];
  while (queue.length > 0) {
    const v = queue.shift();
    if (v === to) break;
    for (const w of graph.edges.get(v) ?? []) {
      if (!prev.has(w) && graph.component.get(w) === comp) {
        prev.set(w, v);
        queue.push(w);
      }
    }
  }
  const chain = [];
  for (let v = to; v != null; v = prev.get(v)) chain.unshift(v);
  return chain;
}

/** Calls `check(node, specifier)` for every import, re-export and dynamic import or type import of a file. */
function eachImport(check) {
  const literal = (node, source) => {
    if (source?.type === 'Literal' && typeof source.value === 'string') check(node, source.value);
  };
  return {
    ImportDeclaration: (node) => literal(node, node.source),
    ExportNamedDeclaration: (node) => literal(node, node.source),
    ExportAllDeclaration: (node) => literal(node, node.source),
    ImportExpression: (node) => literal(node, node.source),
    TSImportType: (node) => literal(node, node.argument?.type === 'TSLiteralType' ? node.argument.literal : node.argument),
  };
}

/** True when `path` (relative to src/) is in part `key`: the file itself, a file under the folder, or with a trailing `*` any path that starts so. */
const inPart = (key, path) => (key.endsWith('*') ? path.startsWith(key.slice(0, -1)) : path === key || path.startsWith(`${key}/`));

/** The part (a key of `floorOf`) that `path` (relative to src/) belongs to: the longest matching key. */
function partOf(floorOf, path) {
  let best = null;
  for (const key of floorOf.keys()) {
    if (inPart(key, path) && (best === null || key.length > best.length)) best = key;
  }
  return best;
}

const floors = {
  meta: {
    type: 'problem',
    docs: { description: 'A file of src/ imports only its own part and parts on lower floors.' },
    schema: [
      {
        type: 'object',
        properties: {
          root: { type: 'string' },
          floors: { type: 'array', items: { type: 'array', items: { type: 'string' } } },
        },
        required: ['root', 'floors'],
        additionalProperties: false,
      },
    ],
  },
  create(context) {
    const { root: rootOption, floors: table } = context.options[0];
    const root = resolve(context.cwd, rootOption);
    const file = context.filename;
    const path = rel(root, file);
    if (path.startsWith('..')) return {};
    const floorOf = new Map(table.flatMap((parts, i) => parts.map((p) => [p, i])));
    const own = partOf(floorOf, path);
    const describe = (part) => `'${part}' (floor ${floorOf.get(part)}: ${table[floorOf.get(part)].join(', ')})`;
    return {
      Program(node) {
        if (own === null) context.report({ node, message: `src/${path} is on no floor: give its folder a floor in eslint.config.js (layering/floors).` });
      },
      ...eachImport((node, spec) => {
        const target = resolveImport(file, spec);
        if (own === null || target === null) return;
        const targetPath = rel(root, target);
        const part = partOf(floorOf, targetPath);
        if (part === null || part === own || floorOf.get(part) < floorOf.get(own)) return;
        const why = floorOf.get(part) > floorOf.get(own) ? 'a higher floor' : 'another part of the same floor';
        context.report({
          node,
          message: `${describe(own)} may not import ${describe(part)}, ${why}: src/${path} → src/${targetPath}. Move the shared code down to a floor both can import.`,
        });
      }),
    };
  },
};

const noCycle = {
  meta: {
    type: 'problem',
    docs: { description: 'No import circle between the files of src/.' },
    schema: [{ type: 'object', properties: { root: { type: 'string' } }, required: ['root'], additionalProperties: false }],
  },
  create(context) {
    const root = resolve(context.cwd, context.options[0].root);
    const file = context.filename;
    if (rel(root, file).startsWith('..')) return {};
    return eachImport((node, spec) => {
      const target = resolveImport(file, spec);
      if (target === null) return;
      const graph = importGraph(root);
      const comp = graph.component.get(file);
      if (comp === undefined || graph.component.get(target) !== comp) return;
      const chain = [file, ...circle(graph, target, file)].map((f) => rel(root, f));
      context.report({ node, message: `Import circle: ${chain.join(' → ')}. Move what both need into a file of its own.` });
    });
  },
};

export default { meta: { name: 'layering' }, rules: { floors, 'no-cycle': noCycle } };
