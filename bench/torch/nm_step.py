"""
The Neural Module layer coded in PyTorch as a best-effort baseline, for a side-by-side
timing against this package (bench/torch/compare.ts, `npm run bench:torch`).

Same mathematics as docs/DESIGN.md §1, monolithic (no module decomposition): p nodes,
input kernel U [n, p], graph W [p, p] whose diagonal is the bias; the kept-edge mask is
the top-K magnitude of the off-diagonal entries (K = ceil(ρ·p·(p−1)), chosen once, as the
layer's re-partition does, not every step); the forward solve x = z + tanh(x)·A
(z = u·U + diag(W)) and the adjoint v = q + (v·Aᵀ)∘f'(x*) both use batched Anderson
(m = 5, λ = 1e-4 relative to the Gram diagonal, tol 1e-4 relative per row: every row
satisfies ‖f(x) − x‖ ≤ tol·(‖x‖ + 1e-8), max 50 evaluations), or with `sparse-auto` the
package's default rule; the backward is implicit (never unrolled); every one of the p²
off-diagonal edges gets the dense gradient Σ_b f(x_j)·v_k (straight-through), the
diagonal Σ_b v; torch.optim.Adam (lr 1e-3, foreach) on all weights; a softmax output
layer with cross-entropy. Float32.

What makes it fast (measured on 2 shared cores, p = 3000, ρ 0.01, batch 128, 1 thread;
the original code, kept as the reference in nm_reference.py: ~270-310 ms a step):
- node-major layout: the solves keep x, f(x), v as [p, batch] so A·tanh(x) is a CSR
  matrix on the left of a contiguous operand (torch.sparse.mm: 2.3 ms instead of 8.1 ms
  with the transposed, non-contiguous operand of the [batch, p] layout);
- A and Aᵀ as CSR straight from index arrays precomputed with the mask: only the K values
  are gathered from W each step (index_select), 0.3 ms instead of 10 ms for
  COO → coalesce → CSR twice (COO spmm is as fast as CSR here; dense is 8× slower at p = 3000);
- a lean Anderson: preallocated history, f(x) − x kept for the Gram matrix, which gains
  one row per iteration; column norms as mul + sum (0.15 ms instead of vector_norm's
  0.5 ms), the mixing step as fused addcmul_ passes (0.7 ms instead of 1.4 ms), one
  `.item()` per iteration;
- z = u·U + diag(W) inside the autograd Function, which returns the whole gradient of W
  (no p×p DiagonalBackward plus accumulation), `zero_grad(set_to_none=True)`;
- malloc tuned (`--malloc tuned`, the default: mmap off, no trimming), so the p² gradient
  and Adam's temporaries reuse heap memory instead of page-faulting fresh mmaps each step
  (the PyTorch CPU tuning guide's jemalloc/tcmalloc advice without a preload): 150 → 113 ms;
- `--threads N` sets torch's threads and OpenBLAS's (before torch loads: OpenBLAS
  otherwise uses every core whatever torch.set_num_threads says), and OMP_WAIT_POLICY
  passive (`--omp-wait`): spinning OpenMP threads on a shared machine made the 2-thread
  Anderson 5-20× slower;
- `sparse-auto`: Picard steps are cheaper than Anderson's and converge in as many
  evaluations here (7): 131 → 110 ms (p = 300: 5.5 → 3.1 ms).
Tried and not kept: Adam foreach on/off (same), flush-denormal (same), a hand-fused
in-place Adam (−15 % of Adam's time; torch.optim.Adam is what a researcher uses).

Variants (`--variant`): `sparse` (CSR A, Anderson), `dense` (dense masked A, Anderson),
`sparse-auto` (CSR A, the package's default solver 'auto': Picard while the worst row's
residual falls by more than half per check, then Anderson from the newest iterate f(x_t)).
`--impl reference` runs the original straightforward implementation (nm_reference.py, with its
diagonal gradient fixed: it counted Σ_b v twice) for before/after timings. `--check`
compares every variant's forward output and gradients at p = 40, batch 8 against the
reference and against a float64 dense solve (itself checked by finite differences).

Prints one JSON line: {"ms": median training-step milliseconds, ..., "blasCore": the core
type OpenBLAS runs its kernels for (None: not OpenBLAS), "coretypeEnv": OPENBLAS_CORETYPE}.
OpenBLAS 0.3.21 (Debian) takes a virtual CPU without a model name for a "Prescott" (SSE3)
and runs its slowest kernels; compare.ts sets OPENBLAS_CORETYPE from the CPU flags.

    /usr/bin/python3 bench/torch/nm_step.py --p 300 --density 0.05 --batch 64 --features 64 --classes 10 --threads 1
    /usr/bin/python3 bench/torch/nm_step.py --check
"""
import argparse
import ctypes
import json
import math
import os
import sys
import time
import warnings


def _early_args():
    """--threads, --blas-threads and --malloc act before torch is imported (OpenBLAS reads its thread count at load)."""
    found = {'--threads': '1', '--blas-threads': None, '--malloc': 'tuned', '--omp-wait': 'passive'}
    argv = sys.argv[1:]
    for i, a in enumerate(argv[:-1]):
        if a in found:
            found[a] = argv[i + 1]
    threads = int(found['--threads'])
    return threads, int(found['--blas-threads'] or threads), found['--malloc'], found['--omp-wait']


_THREADS, _BLAS_THREADS, _MALLOC, _OMP_WAIT = _early_args()
os.environ['OMP_NUM_THREADS'] = str(_THREADS)
os.environ['OPENBLAS_NUM_THREADS'] = str(_BLAS_THREADS)
if _OMP_WAIT in ('passive', 'active'):
    os.environ['OMP_WAIT_POLICY'] = _OMP_WAIT.upper()
if _MALLOC == 'tuned':
    try:
        _libc = ctypes.CDLL('libc.so.6')
        _libc.mallopt(-4, 0)  # M_MMAP_MAX = 0: every block from the heap, so freed ones are reused
        _libc.mallopt(-1, 1 << 30)  # M_TRIM_THRESHOLD: keep up to 1 GiB of freed heap
    except OSError:
        pass

import torch  # noqa: E402

warnings.filterwarnings('ignore', message='Sparse CSR tensor support is in beta state')

from nm_reference import STATS, ReferenceNM  # noqa: E402
from nm_fast import FastNM, Graph  # noqa: E402


# ---------------------------------------------------------------------------------------
# Problem setup and the training step.
# ---------------------------------------------------------------------------------------


def build(p, density, batch, features, classes, seed=1, dtype=torch.float32):
    """The package's ContractiveGraph: off-diagonal N(0, 1), diagonal 0, all scaled so that the
    spectral norm of the top-K (kept) part is 0.5 (power iteration, 50 steps); a Glorot U."""
    torch.manual_seed(seed)
    w = torch.randn(p, p)
    w.fill_diagonal_(0)
    k = math.ceil(density * p * (p - 1))
    mask_idx = torch.topk(w.abs().reshape(-1), k).indices.sort().values
    kept = torch.zeros(p * p)
    kept[mask_idx] = w.reshape(-1)[mask_idx]
    kept = kept.view(p, p)
    v = torch.randn(p)
    for _ in range(50):
        v = kept.t() @ (kept @ v)
        v = v / v.norm()
    sigma = (kept @ v).norm().item()
    w = (w * (0.5 / sigma)).to(dtype).requires_grad_()
    u = (torch.randn(features, p) * math.sqrt(2 / (features + p))).to(dtype).requires_grad_()
    out = torch.nn.Linear(p, classes).to(dtype)
    x = torch.randn(batch, features).to(dtype)
    y = torch.randint(0, classes, (batch,))
    return dict(w=w, u=u, out=out, x=x, y=y, mask_idx=mask_idx, k=k, p=p)


def loss_fn(prob, impl, variant, graph=None):
    """The loss of one batch with implementation impl ('reference' or 'fast'); returns (loss, h [B, p])."""
    w, u, out, x, y, p = prob['w'], prob['u'], prob['out'], prob['x'], prob['y'], prob['p']
    if impl == 'reference':
        z = x @ u + w.diagonal()
        h = ReferenceNM.apply(z, w, prob['mask_idx'], p, variant)
    else:
        h = FastNM.apply(x, u, w, graph, 'auto' if variant == 'sparse-auto' else 'anderson').t()
    return torch.nn.functional.cross_entropy(out(h), y), h


def exact_float64(prob):
    """Forward output and gradients in float64 by dense linear algebra (Newton on each sample,
    the adjoint by a direct solve): the mathematics of docs/DESIGN.md §1 without any iteration tolerance."""
    d = torch.float64
    w, u, out = prob['w'].detach().to(d), prob['u'].detach().to(d), prob['out']
    x, y, p, idx = prob['x'].to(d), prob['y'], prob['p'], prob['mask_idx']
    A = torch.zeros(p * p, dtype=d)
    A[idx] = w.reshape(-1)[idx]
    A = A.view(p, p)
    z = x @ u + w.diagonal()
    xs = z.clone()
    for _ in range(100):  # Newton: J = I − diag(f')·Aᵀ per row (row form: dx·(I − A·...)); solve column form
        r = z + torch.tanh(xs) @ A - xs
        fp = 1 - torch.tanh(xs) ** 2
        J = torch.eye(p, dtype=d)[None] - (A.t()[None] * fp[:, None, :])  # J_b = I − Aᵀ·diag(f'_b) acting on column x_b
        xs = xs + torch.linalg.solve(J, r[:, :, None])[:, :, 0]
        if r.abs().max() < 1e-14:
            break
    h = torch.tanh(xs).requires_grad_()
    W_o, b_o = out.weight.detach().to(d).requires_grad_(), out.bias.detach().to(d).requires_grad_()
    loss = torch.nn.functional.cross_entropy(h @ W_o.t() + b_o, y)
    loss.backward()
    g = h.grad
    fp = 1 - h.detach() ** 2
    q = g * fp
    # v = q + (v·Aᵀ)∘f'  ⇔  v_b·(I − Aᵀ·diag(f'_b)) = q_b  ⇔  (I − diag(f'_b)·A)·v_bᵀ = q_bᵀ
    Mb = torch.eye(p, dtype=d)[None] - fp[:, :, None] * A[None]
    v = torch.linalg.solve(Mb, q[:, :, None])[:, :, 0]
    dw = h.detach().t() @ v
    dw.diagonal().copy_(v.sum(0))
    du = x.t() @ v
    return dict(h=h.detach(), w=dw, u=du, out_w=W_o.grad, out_b=b_o.grad, loss=loss.item())


def grads_of(prob, impl, variant):
    w, u, out = prob['w'], prob['u'], prob['out']
    for t in (w, u, *out.parameters()):
        t.grad = None
    graph = Graph(prob['mask_idx'], prob['p'], 'dense' if variant == 'dense' else 'sparse') if impl == 'fast' else None
    loss, h = loss_fn(prob, impl, variant, graph)
    loss.backward()
    return dict(h=h.detach().contiguous(), w=w.grad.clone(), u=u.grad.clone(), out_w=out.weight.grad.clone(), out_b=out.bias.grad.clone(), loss=loss.item())


def check():
    """Forward output and every gradient at p = 40, batch 8: each fast variant against the
    reference (the original code) and everything against the float64 exact solve."""
    torch.set_num_threads(1)
    prob = build(40, 0.1, 8, 12, 5, seed=3)
    exact = exact_float64(prob)
    ref = grads_of(prob, 'reference', 'sparse')
    rows = [('reference sparse', ref), ('reference dense', grads_of(prob, 'reference', 'dense'))]
    rows += [(f'fast {v}', grads_of(prob, 'fast', v)) for v in ('sparse', 'dense', 'sparse-auto')]
    keys = ['h', 'w', 'u', 'out_w', 'out_b']
    scale = {k: exact[k].abs().max().item() for k in keys}
    print('check: p = 40, ρ 0.1, batch 8, 12 features, 5 classes. Max |difference| per quantity (max |exact| in brackets).')
    print('  ' + ' '.join(f'{k + f" [{scale[k]:.2e}]":>22}' for k in keys))
    worst = 0.0
    for name, r in rows:
        d_exact = [(r[k].double() - exact[k]).abs().max().item() for k in keys]
        print(f'{name:18s} vs float64 exact: ' + ' '.join(f'{v:22.2e}' for v in d_exact))
        worst = max(worst, max(v / max(scale[k], 1e-30) for v, k in zip(d_exact, keys)))
        if name.startswith('fast'):
            d_ref = [(r[k] - ref[k]).abs().max().item() for k in keys]
            print(f'{name:18s} vs reference:     ' + ' '.join(f'{v:22.2e}' for v in d_ref))
    # Finite differences of the float64 loss on a few entries, against the exact gradient:
    # kept edges, the diagonal, U (a pruned edge's gradient is the straight-through rule, not a derivative).
    d = torch.float64
    base = {k: prob[k].detach().clone() for k in ('w', 'u')}

    def loss64(wm, um):
        A = torch.zeros(prob['p'] ** 2, dtype=d)
        A[prob['mask_idx']] = wm.reshape(-1)[prob['mask_idx']]
        A = A.view(prob['p'], prob['p'])
        z = prob['x'].to(d) @ um + wm.diagonal()
        xs = z.clone()
        for _ in range(400):
            xs = z + torch.tanh(xs) @ A
        o = prob['out']
        return torch.nn.functional.cross_entropy(torch.tanh(xs) @ o.weight.detach().to(d).t() + o.bias.detach().to(d), prob['y']).item()

    eps = 1e-6
    idx = prob['mask_idx']
    probes = [('w', int(idx[0])), ('w', int(idx[len(idx) // 2])), ('w', 0), ('w', 41 * 7), ('u', 3), ('u', 100)]
    fd_worst = 0.0
    for name, flat in probes:
        pw, pu = base['w'].to(d).clone(), base['u'].to(d).clone()
        t = pw if name == 'w' else pu
        t.view(-1)[flat] += eps
        lp = loss64(pw, pu)
        t.view(-1)[flat] -= 2 * eps
        lm = loss64(pw, pu)
        fd = (lp - lm) / (2 * eps)
        fd_worst = max(fd_worst, abs(fd - exact[name].reshape(-1)[flat].item()))
    print(f'float64 exact vs central finite differences (kept edges, diagonal, U; 6 entries): max |difference| {fd_worst:.2e}')
    ok = worst < 1e-2 and fd_worst < 1e-6
    print(f'check: {"OK" if ok else "FAILED"} (worst difference relative to the quantity\'s scale: {worst:.2e})')
    return ok


def blas_core():
    """The core type OpenBLAS runs its kernels for (openblas_get_corename of a loaded OpenBLAS), or None for another BLAS."""
    try:
        with open('/proc/self/maps') as f:
            libs = sorted({line.split()[-1] for line in f if 'blas' in line.lower() and line.split()[-1].startswith('/')})
    except OSError:
        return None
    for lib in libs:
        try:
            corename = ctypes.CDLL(lib).openblas_get_corename
        except (OSError, AttributeError):
            continue
        corename.restype = ctypes.c_char_p
        return corename().decode()
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--p', type=int, default=300)
    ap.add_argument('--density', type=float, default=0.05)
    ap.add_argument('--batch', type=int, default=64)
    ap.add_argument('--features', type=int, default=64)
    ap.add_argument('--classes', type=int, default=10)
    ap.add_argument('--threads', type=int, default=1, help="torch's threads (and OpenBLAS's unless --blas-threads)")
    ap.add_argument('--blas-threads', type=int, default=None, help="OpenBLAS's threads (default: --threads)")
    ap.add_argument('--variant', choices=['sparse', 'dense', 'sparse-auto'], default='sparse')
    ap.add_argument('--impl', choices=['fast', 'reference'], default='fast')
    ap.add_argument('--omp-wait', choices=['passive', 'active', 'default'], default='passive',
                    help='OMP_WAIT_POLICY for torch\'s OpenMP threads (passive: idle threads sleep instead of spinning)')
    ap.add_argument('--malloc', choices=['tuned', 'default'], default='tuned')
    ap.add_argument('--foreach', choices=['on', 'off', 'default'], default='on', help='torch.optim.Adam(foreach=...); the reference always uses the default')
    ap.add_argument('--reps', type=int, default=20)
    ap.add_argument('--warmup', type=int, default=10)
    ap.add_argument('--check', action='store_true')
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    if a.check:
        sys.exit(0 if check() else 1)
    prob = build(a.p, a.density, a.batch, a.features, a.classes)
    w, u, out = prob['w'], prob['u'], prob['out']
    opt = torch.optim.Adam([w, u, *out.parameters()], lr=1e-3, foreach=None if a.impl == 'reference' or a.foreach == 'default' else a.foreach == 'on')
    graph = Graph(prob['mask_idx'], a.p, 'dense' if a.variant == 'dense' else 'sparse') if a.impl == 'fast' else None

    def step():
        opt.zero_grad(set_to_none=a.impl == 'fast')
        loss, _ = loss_fn(prob, a.impl, a.variant, graph)
        loss.backward()
        opt.step()
        return loss.item()

    for _ in range(a.warmup):
        step()
    ts = []
    for _ in range(a.reps):
        t0 = time.perf_counter()
        step()
        ts.append((time.perf_counter() - t0) * 1000)
    ts.sort()
    print(json.dumps({'ms': ts[len(ts) // 2], 'torch': torch.__version__, 'threads': a.threads, 'blasThreads': _BLAS_THREADS, 'variant': a.variant, 'impl': a.impl,
                      'blasCore': blas_core(), 'coretypeEnv': os.environ.get('OPENBLAS_CORETYPE'),
                      'p': a.p, 'batch': a.batch, 'keptEdges': prob['k'],
                      'fwdIters': STATS.get('forward'), 'bwdIters': STATS.get('backward')}))


if __name__ == '__main__':
    main()
