"""
The Neural Module layer coded the obvious way in PyTorch, for a side-by-side timing
against this package (bench/torch/compare.ts, `npm run bench:torch`).

Same mathematics as docs/DESIGN.md §1, monolithic (no module decomposition): the
kept-edge mask is the top-K magnitude of the off-diagonal graph; the forward solve
x = z + tanh(x)·A and the adjoint v = q + (v·Aᵀ)∘f'(x*) use batched Anderson
(m = 5, tol 1e-4 relative per row, max 50 iterations) with A as a sparse CSR matrix
(`--variant sparse`) or the dense masked matrix (`--variant dense`); the backward is
implicit (never unrolled) and every one of the p² edges gets the dense gradient
Σ_b f(x_j)·v_k; Adam on all weights; a softmax output layer.

Prints one JSON line: {"ms": median training-step milliseconds, ...}.

    python3 bench/torch/nm_step.py --p 300 --density 0.05 --batch 64 --features 64 --classes 10 --threads 1
"""
import argparse
import json
import math
import time

import torch


def anderson(f, x0, m=5, tol=1e-4, max_iter=50, lam=1e-4):
    """Batched Anderson acceleration (type II, the DEQ-tutorial form) on rows of x0 [B, n]; stops when every row's relative residual is ≤ tol."""
    B, n = x0.shape
    X = torch.zeros(B, m, n, dtype=x0.dtype)
    F = torch.zeros(B, m, n, dtype=x0.dtype)
    X[:, 0], F[:, 0] = x0, f(x0)
    X[:, 1], F[:, 1] = F[:, 0], f(F[:, 0])
    H = torch.zeros(B, m + 1, m + 1, dtype=x0.dtype)
    H[:, 0, 1:] = H[:, 1:, 0] = 1
    y = torch.zeros(B, m + 1, 1, dtype=x0.dtype)
    y[:, 0] = 1
    it = 2
    res = float('inf')
    x = F[:, 1]
    for k in range(2, max_iter):
        it = k + 1
        n_ = min(k, m)
        G = F[:, :n_] - X[:, :n_]
        gram = torch.bmm(G, G.transpose(1, 2))
        # Tikhonov λ relative to the Gram matrix's mean diagonal, as the package does (an
        # absolute λ swamps the tiny Gram matrices of the adjoint and stalls it).
        scale = gram.diagonal(dim1=1, dim2=2).mean(1).clamp_min(1e-30)[:, None, None]
        H[:, 1:n_ + 1, 1:n_ + 1] = gram + lam * scale * torch.eye(n_, dtype=x0.dtype)[None]
        alpha = torch.linalg.solve(H[:, :n_ + 1, :n_ + 1], y[:, :n_ + 1])[:, 1:n_ + 1, 0]
        X[:, k % m] = (alpha[:, None] @ F[:, :n_])[:, 0]
        F[:, k % m] = f(X[:, k % m])
        r = (F[:, k % m] - X[:, k % m]).norm(dim=1) / (X[:, k % m].norm(dim=1) + 1e-8)
        x = F[:, k % m]
        res = r.max().item()
        if res <= tol:
            break
    return x, it, res


class NMFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, z, w, mask_idx, p, variant):
        with torch.no_grad():
            vals = w.reshape(-1)[mask_idx]
            rows, cols = mask_idx // p, mask_idx % p
            if variant == 'sparse':
                # x·A = (Aᵀ xᵀ)ᵀ: Aᵀ in CSR over rows = targets.
                at = torch.sparse_coo_tensor(torch.stack([cols, rows]), vals, (p, p)).coalesce().to_sparse_csr()
                a = torch.sparse_coo_tensor(torch.stack([rows, cols]), vals, (p, p)).coalesce().to_sparse_csr()
                matA = lambda h: torch.sparse.mm(at, h.t()).t()
                matAT = lambda v: torch.sparse.mm(a, v.t()).t()
            else:
                dense = torch.zeros(p * p, dtype=w.dtype)
                dense[mask_idx] = vals
                dense = dense.view(p, p)
                dense_t = dense.t().contiguous()
                matA = lambda h: h @ dense
                matAT = lambda v: v @ dense_t
            x, it, _ = anderson(lambda x: z + matA(torch.tanh(x)), z)
            h = torch.tanh(x)
        ctx.save_for_backward(h)
        ctx.matAT = matAT
        ctx.it = it
        return h

    @staticmethod
    def backward(ctx, g):
        (h,) = ctx.saved_tensors
        fp = 1 - h * h
        q = g * fp
        with torch.no_grad():
            v, _, _ = anderson(lambda v: q + ctx.matAT(v) * fp, q)
            dw = h.t() @ v  # every edge, masked or not
            dw.diagonal().copy_(v.sum(0))
        return v, dw, None, None, None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--p', type=int, default=300)
    ap.add_argument('--density', type=float, default=0.05)
    ap.add_argument('--batch', type=int, default=64)
    ap.add_argument('--features', type=int, default=64)
    ap.add_argument('--classes', type=int, default=10)
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--variant', choices=['sparse', 'dense'], default='sparse')
    ap.add_argument('--reps', type=int, default=20)
    ap.add_argument('--warmup', type=int, default=10)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    p = a.p
    # The package's ContractiveGraph: off-diagonal N(0, 1), diagonal 0, all scaled so that
    # the spectral norm of the top-K (kept) part is 0.5 (power iteration, 50 steps).
    w = torch.randn(p, p)
    w.fill_diagonal_(0)
    k = math.ceil(a.density * p * (p - 1))
    mask_idx = torch.topk(w.abs().reshape(-1), k).indices.sort().values
    kept = torch.zeros(p * p)
    kept[mask_idx] = w.reshape(-1)[mask_idx]
    kept = kept.view(p, p)
    v = torch.randn(p)
    for _ in range(50):
        v = kept.t() @ (kept @ v)
        v = v / v.norm()
    sigma = (kept @ v).norm().item()
    w = (w * (0.5 / sigma)).requires_grad_()
    u = (torch.randn(a.features, p) * math.sqrt(2 / (a.features + p))).requires_grad_()
    out = torch.nn.Linear(p, a.classes)
    opt = torch.optim.Adam([w, u, *out.parameters()], lr=1e-3)
    x = torch.randn(a.batch, a.features)
    y = torch.randint(0, a.classes, (a.batch,))

    def step():
        opt.zero_grad()
        z = x @ u + w.diagonal()
        h = NMFunction.apply(z, w, mask_idx, p, a.variant)
        loss = torch.nn.functional.cross_entropy(out(h), y)
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
    print(json.dumps({'ms': ts[len(ts) // 2], 'torch': torch.__version__, 'threads': a.threads, 'variant': a.variant, 'p': p, 'batch': a.batch, 'keptEdges': k}))


if __name__ == '__main__':
    main()
