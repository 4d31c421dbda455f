// Derives the fused multiply-add (FMA) variant of a kernel module from its WebAssembly
// text, so both variants come from one source (scripts/build-kernels.mjs compiles both).
//
// fmaVariant(source, exports) keeps the module's imports and the functions exported as
// one of `exports` (plus every function they call), drops the other functions, and
// rewrites every f32 multiply-add inside the kept ones (folded S-expression form):
//   (f32x4.add A (f32x4.mul B C))  ->  (f32x4.relaxed_madd B C A)
//   (f32.add A (f32.mul B C))      ->  (f32x4.extract_lane 0 (f32x4.relaxed_madd
//                                        (f32x4.splat B) (f32x4.splat C) (f32x4.splat A)))
// (and the same with the product as the first operand of the add: fl(a + b) = fl(b + a)).
// The scalar form uses lane 0 of the vector instruction (WebAssembly has no scalar
// relaxed_madd), so a column gives the same bits whichever code path (16-, 4-wide or one
// column at a time) computes it, as in the mul+add module.
//
// relaxed_madd evaluates B and C before A, the add evaluated A first: operands with a side
// effect (a local.set/tee, a store, a call) are refused. Any f32 multiply left unfused in
// a kept function is refused too, so the FMA module fuses every product with its sum.
//
// Usage: import { fmaVariant } from './wat_fma.mjs';
//        const { text, fused } = fmaVariant(watSource, ['spmm', 'axpyRows']);

/** Splits WebAssembly text into '(', ')' and atoms (strings kept whole), without comments. */
function tokens(source) {
  const text = source.replace(/\(;[\s\S]*?;\)/g, ' ').replace(/;;[^\n]*/g, ' ');
  return text.match(/"(?:[^"\\]|\\.)*"|[()]|[^\s()"]+/g) ?? [];
}

/** The S-expression tree of `source`: an array of its top-level forms (atoms are strings, lists arrays). */
function parse(source) {
  const stack = [[]];
  for (const t of tokens(source)) {
    if (t === '(') stack.push([]);
    else if (t === ')') {
      if (stack.length < 2) throw new Error('wat_fma: unbalanced ")"');
      const list = stack.pop();
      stack[stack.length - 1].push(list);
    } else stack[stack.length - 1].push(t);
  }
  if (stack.length !== 1) throw new Error('wat_fma: unbalanced "("');
  return stack[0];
}

/** Text of a tree node; top-level module fields on their own lines. */
function print(node, depth = 0) {
  if (typeof node === 'string') return node;
  const inner = node.map((n) => print(n, depth + 1));
  return depth === 0 && node[0] === 'module' ? `(${inner[0]}\n  ${inner.slice(1).join('\n  ')})` : `(${inner.join(' ')})`;
}

const SIDE_EFFECT = /^(local\.set|local\.tee|global\.set|call|call_indirect|memory\.|.*\.store.*|.*\.atomic\..*)$/;

/** Throws when `node` contains an instruction with a side effect (reordering it would change the result). */
function checkPure(node, where) {
  if (typeof node === 'string') {
    if (SIDE_EFFECT.test(node)) throw new Error(`wat_fma: ${where}: an operand of a multiply-add has a side effect (${node}); cannot reorder it.`);
    return;
  }
  for (const n of node) checkPure(n, where);
}

const isOp = (node, op) => Array.isArray(node) && node[0] === op && node.length === 3;

/** Rewrites the multiply-adds in `node` (bottom-up); counts them in `count.n`. */
function fuse(node, where, count) {
  if (typeof node === 'string') return node;
  const out = node.map((n) => fuse(n, where, count));
  for (const [add, mul, vector] of [
    ['f32x4.add', 'f32x4.mul', true],
    ['f32.add', 'f32.mul', false],
  ]) {
    if (out[0] !== add || out.length !== 3) continue;
    const [, x, y] = out;
    const product = isOp(y, mul) ? y : isOp(x, mul) ? x : null;
    if (product === null) continue;
    const addend = product === y ? x : y;
    const [, b, c] = product;
    for (const operand of [addend, b, c]) checkPure(operand, where);
    count.n++;
    if (vector) return ['f32x4.relaxed_madd', b, c, addend];
    return ['f32x4.extract_lane', '0', ['f32x4.relaxed_madd', ['f32x4.splat', b], ['f32x4.splat', c], ['f32x4.splat', addend]]];
  }
  return out;
}

/** True when `node` still holds an f32 multiply. */
function hasMul(node) {
  if (typeof node === 'string') return node === 'f32x4.mul' || node === 'f32.mul';
  return node.some(hasMul);
}

/** The export name of a func form, or null. */
function exportName(func) {
  const e = func.find((n) => Array.isArray(n) && n[0] === 'export');
  return e ? JSON.parse(e[1]) : null;
}

/** The `$name` of a func form, or null. */
function funcId(func) {
  return typeof func[1] === 'string' && func[1].startsWith('$') ? func[1] : null;
}

/** The `$names` that `node` calls. */
function callees(node, out = new Set()) {
  if (Array.isArray(node)) {
    if (node[0] === 'call' && typeof node[1] === 'string') out.add(node[1]);
    for (const n of node) callees(n, out);
  }
  return out;
}

/**
 * The FMA variant of the module in `source` (WebAssembly text), with only the functions
 * exported as `exports` and those they call. Returns its text and, per kept function (by
 * export name or $id), how many multiply-adds were fused.
 *
 * @example
 * const { text, fused } = fmaVariant(readFileSync('src/kernels/gemm.wat', 'utf8'), ['packV', 'gemmNT']);
 */
export function fmaVariant(source, exports) {
  const forms = parse(source);
  if (forms.length !== 1 || !Array.isArray(forms[0]) || forms[0][0] !== 'module') throw new Error('wat_fma: expected one (module ...)');
  const fields = forms[0].slice(1);
  const funcs = fields.filter((f) => Array.isArray(f) && f[0] === 'func');
  const byId = new Map(funcs.filter(funcId).map((f) => [funcId(f), f]));
  const keep = new Set();
  const visit = (f) => {
    if (keep.has(f)) return;
    keep.add(f);
    for (const id of callees(f)) {
      const g = byId.get(id);
      if (!g) throw new Error(`wat_fma: call of unknown function ${id}`);
      visit(g);
    }
  };
  for (const name of exports) {
    const f = funcs.find((g) => exportName(g) === name);
    if (!f) throw new Error(`wat_fma: no function exported as "${name}"`);
    visit(f);
  }
  const fused = {};
  const kept = fields.flatMap((f) => {
    if (!Array.isArray(f) || f[0] !== 'func') return [f];
    if (!keep.has(f)) return [];
    const where = exportName(f) ?? funcId(f) ?? '(func)';
    const count = { n: 0 };
    const g = fuse(f, where, count);
    if (hasMul(g)) throw new Error(`wat_fma: ${where} keeps an f32 multiply that is not part of a multiply-add; fuse it or leave the function out.`);
    fused[where] = count.n;
    return [g];
  });
  return { text: print(['module', ...kept]), fused };
}
