"""
The straightforward PyTorch NM layer that bench/torch/nm_step.py started from ([batch, p]
layout, COO → CSR each step, DEQ-tutorial Anderson), kept for `--impl reference` (before/after
timings) and `--check` (the fast implementation is compared against it). Also the solver
settings and per-solve counts both implementations share.

Imported by nm_step.py after it has set the thread and allocator environment (torch must
not be imported before that).
"""
import torch

M, TOL, MAX_ITER, LAM = 5, 1e-4, 50, 1e-4
STATS = {}  # evaluations of f in the last forward and adjoint solves

# ---------------------------------------------------------------------------------------
# The reference: the original straightforward implementation ([batch, p] layout, COO →
# CSR each step, DEQ-tutorial Anderson), kept for `--impl reference` and `--check`.
# ---------------------------------------------------------------------------------------


def anderson_reference(f, x0, m=M, tol=TOL, max_iter=MAX_ITER, lam=LAM):
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


class ReferenceNM(torch.autograd.Function):
    """h = tanh(x*) for z [B, p] (computed by the caller as x·U + diag(W))."""

    @staticmethod
    def forward(ctx, z, w, mask_idx, p, variant):
        with torch.no_grad():
            vals = w.reshape(-1)[mask_idx]
            rows, cols = mask_idx // p, mask_idx % p
            if variant.startswith('sparse'):
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
            x, it, _ = anderson_reference(lambda x: z + matA(torch.tanh(x)), z)
            h = torch.tanh(x)
        ctx.save_for_backward(h)
        ctx.matAT = matAT
        STATS['forward'] = it
        return h

    @staticmethod
    def backward(ctx, g):
        (h,) = ctx.saved_tensors
        fp = 1 - h * h
        q = g * fp
        with torch.no_grad():
            v, it, _ = anderson_reference(lambda v: q + ctx.matAT(v) * fp, q)
            STATS['backward'] = it
            dw = h.t() @ v  # every edge, masked or not
            # The diagonal's gradient Σ_b v reaches W through z = x·U + diag(W) in the
            # caller's graph; the original also wrote it here and so counted it twice.
            dw.diagonal().zero_()
        return v, dw, None, None, None
