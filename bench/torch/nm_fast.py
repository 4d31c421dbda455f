"""
The fast PyTorch NM layer of bench/torch/nm_step.py: node-major [p, B] layout throughout,
CSR A and Aᵀ gathered from precomputed index arrays, a lean Anderson with preallocated
history, and the package's 'auto' rule (Picard, then Anderson). What makes it fast, as
measured: nm_step.py's docstring.

Imported by nm_step.py after it has set the thread and allocator environment.
"""
import math

import torch

from nm_reference import LAM, M, MAX_ITER, STATS, TOL

# ---------------------------------------------------------------------------------------
# The fast implementation: node-major [p, B] layout throughout.
# ---------------------------------------------------------------------------------------


class Workspace:
    """Preallocated Anderson/Picard buffers for [n, B] iterates, reused by every solve of that shape."""

    def __init__(self, n, B, m, dtype):
        self.X = torch.empty(m, n, B, dtype=dtype)  # iterates x
        self.F = torch.empty(m, n, B, dtype=dtype)  # f(x)
        self.G = torch.empty(m, n, B, dtype=dtype)  # f(x) − x
        self.gram = torch.zeros(B, m, m, dtype=dtype)
        self.dots = torch.empty(m, B, dtype=dtype)
        self.H = torch.zeros(B, m + 1, m + 1, dtype=dtype)
        self.H[:, 0, 1:] = 1
        self.H[:, 1:, 0] = 1
        self.y = torch.zeros(B, m + 1, 1, dtype=dtype)
        self.y[:, 0] = 1
        self.eye = torch.eye(m, dtype=dtype)
        self.h = torch.empty(n, B, dtype=dtype)  # scratch for f
        self.tmp = torch.empty(n, B, dtype=dtype)  # scratch for the column dot products
        self.rn = torch.empty(B, dtype=dtype)
        self.xn = torch.empty(B, dtype=dtype)


_workspaces = {}


def workspace(n, B, dtype, m=M):
    key = (n, B, dtype, m)
    if key not in _workspaces:
        _workspaces[key] = Workspace(n, B, m, dtype)
    return _workspaces[key]


def _coldot(ws, a, b, out):
    """out[b] = Σ_n a[n, b]·b[n, b] (mul into scratch + sum over rows: 3× faster here than vector_norm(dim=0))."""
    return torch.sum(torch.mul(a, b, out=ws.tmp), 0, out=out)


def _residual(ws, fx, x, r):
    """r = f(x) − x and ws.rn = ‖r‖² per column; returns the worst column's ‖r‖ / (‖x‖ + 1e-8) as a float (the one sync per check)."""
    torch.sub(fx, x, out=r)
    _coldot(ws, r, r, ws.rn)
    _coldot(ws, x, x, ws.xn)
    return torch.sqrt(ws.rn).div_(ws.xn.sqrt_().add_(1e-8)).max().item()


def anderson_fast(f, x0, ws, m=M, tol=TOL, max_iter=MAX_ITER, lam=LAM):
    """The same Anderson as anderson_reference on columns of x0 [n, B]; f(x, out) writes f(x) into out.
    Also stops after the first or second evaluation when every column has converged there.
    Returns (f(x_t), evaluations, worst residual); the answer is a view into ws."""
    X, F, G, gram, dots = ws.X, ws.F, ws.G, ws.gram, ws.dots

    def gram_update(s, filled):
        # gram[:, s, j] = gram[:, j, s] = Σ_n G[s, n, b]·G[j, n, b] for the filled slots j;
        # the diagonal entry is ‖G[s]‖², which _residual has just left in ws.rn.
        for j in range(filled):
            if j == s:
                dots[j].copy_(ws.rn)
            else:
                _coldot(ws, G[j], G[s], dots[j])
        d = dots[:filled].t()
        gram[:, s, :filled] = d
        gram[:, :filled, s] = d

    X[0].copy_(x0)
    f(X[0], F[0])
    res = _residual(ws, F[0], X[0], G[0])
    if res <= tol or max_iter <= 1:
        return F[0], 1, res
    gram_update(0, 1)
    X[1].copy_(F[0])
    f(X[1], F[1])
    res = _residual(ws, F[1], X[1], G[1])
    if res <= tol or max_iter <= 2:
        return F[1], 2, res
    gram_update(1, 2)
    H, y = ws.H, ws.y
    x, it = F[1], 2
    for k in range(2, max_iter):
        it = k + 1
        n_ = min(k, m)
        g = gram[:, :n_, :n_]
        scale = g.diagonal(dim1=1, dim2=2).mean(1).clamp_min_(1e-30).mul_(lam)[:, None, None]
        torch.addcmul(g, scale, ws.eye[:n_, :n_][None], out=H[:, 1:n_ + 1, 1:n_ + 1])
        alpha = torch.linalg.solve(H[:, :n_ + 1, :n_ + 1], y[:, :n_ + 1])[:, 1:n_ + 1, 0].t().contiguous()  # [n_, B]
        s = k % m
        xs = X[s]
        torch.mul(F[0], alpha[0], out=xs)  # x = Σ_i α_i·f(x_i), one fused pass per slot
        for i in range(1, n_):
            xs.addcmul_(F[i], alpha[i])
        f(xs, F[s])
        res = _residual(ws, F[s], xs, G[s])
        x = F[s]
        if res <= tol:
            break
        gram_update(s, min(k + 1, m))
    return x, it, res


def auto_fast(f, x0, ws, tol=TOL, max_iter=MAX_ITER, switch_ratio=0.5):
    """The package's solver 'auto': Picard from x0 while the worst residual falls by more than
    switch_ratio per check, then anderson_fast from the newest iterate f(x_t) with the remaining budget."""
    x, fx = ws.X[0], ws.X[1]  # Picard ping-pongs between two buffers
    x.copy_(x0)
    previous = math.inf
    for t in range(1, max_iter + 1):
        f(x, fx)
        res = _residual(ws, fx, x, ws.G[0])
        if res <= tol or t == max_iter:
            return fx, t, res
        if res > switch_ratio * previous:
            ans, it, res = anderson_fast(f, fx.clone(), ws, tol=tol, max_iter=max_iter - t)
            return ans, t + it, res
        previous = res
        x, fx = fx, x
    return x, max_iter, res


class Graph:
    """The kept edges as index arrays computed once per mask; `load(w)` gathers the K values from W and builds A (and Aᵀ) as CSR, or the dense masked matrix."""

    def __init__(self, mask_idx, p, variant, dtype=torch.float32):
        self.p, self.variant = p, variant
        self.idx = mask_idx  # sorted flat indices j·p + k: row-major, so already A's CSR order
        rows, cols = mask_idx // p, mask_idx % p
        self.a_crow = torch.zeros(p + 1, dtype=torch.int64)
        self.a_crow[1:] = torch.bincount(rows, minlength=p).cumsum(0)
        self.a_col = cols.contiguous()
        order = torch.argsort(cols * p + rows)  # Aᵀ's CSR order: by target k, then source j
        self.t_order = order
        self.t_crow = torch.zeros(p + 1, dtype=torch.int64)
        self.t_crow[1:] = torch.bincount(cols, minlength=p).cumsum(0)
        self.t_col = rows[order].contiguous()
        if variant == 'dense':
            self.dense = torch.zeros(p, p, dtype=dtype)  # off-mask entries stay 0 forever

    def load(self, w):
        vals = w.detach().reshape(-1).index_select(0, self.idx)  # 2× faster than w.reshape(-1)[idx]
        if self.variant == 'dense':
            self.dense.view(-1)[self.idx] = vals
            self.a = self.dense  # A
            self.at = self.dense.t()  # Aᵀ: a transposed view, BLAS reads it in place
        else:
            p = self.p
            self.a = torch.sparse_csr_tensor(self.a_crow, self.a_col, vals, (p, p))
            self.at = torch.sparse_csr_tensor(self.t_crow, self.t_col, vals.index_select(0, self.t_order), (p, p))


class FastNM(torch.autograd.Function):
    """h [p, B] = tanh(x*) in node-major layout for the input xin [B, n]; gradients for U and the whole W."""

    @staticmethod
    def forward(ctx, xin, u, w, graph, method):
        p, B = w.shape[0], xin.shape[0]
        graph.load(w)
        zT = torch.addmm(w.detach().diagonal()[:, None], u.detach().t(), xin.t())  # [p, B] = (x·U + diag W)ᵀ
        ws = workspace(p, B, zT.dtype)
        at = graph.at

        def f(x, out):  # out = z + Aᵀ·tanh(x), all [p, B]
            torch.tanh(x, out=ws.h)
            torch.addmm(zT, at, ws.h, out=out)

        solve = auto_fast if method == 'auto' else anderson_fast
        xs, it, _ = solve(f, zT, ws)
        hT = torch.tanh(xs)
        ctx.save_for_backward(hT, xin)
        ctx.graph, ctx.method = graph, method
        STATS['forward'] = it
        return hT

    @staticmethod
    def backward(ctx, gT):
        hT, xin = ctx.saved_tensors
        p, B = hT.shape
        fp = torch.mul(hT, hT).neg_().add_(1)  # f'(x*) = 1 − tanh²
        q = torch.mul(fp, gT)
        ws = workspace(p, B, hT.dtype)
        a = ctx.graph.a

        def f(v, out):  # out = q + (A·v)∘f'   ((v·Aᵀ)∘f' in row form)
            # (sparse addmm with beta = 0 still propagates NaN from its input, so no out= there)
            av = torch.mm(a, v, out=out) if a.layout == torch.strided else torch.sparse.mm(a, v)
            torch.addcmul(q, av, fp, out=out)

        solve = auto_fast if ctx.method == 'auto' else anderson_fast
        v, it, _ = solve(f, q, ws)
        STATS['backward'] = it
        dw = torch.mm(hT, v.t())  # Σ_b f(x_j)·v_k for every edge, masked or not
        dw.diagonal().copy_(v.sum(1))  # the bias: Σ_b v
        du = torch.mm(xin.t(), v.t())
        return None, du, dw, None, None
