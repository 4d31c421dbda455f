"""Two floors of the tuned NM(3000) training step on this machine, measured outside tfjs.

1. Memory bandwidth of one core: a numpy triad (m = w + g) over the layer's 9.05 M
   float32 weights, and what Adam's seven array passes (read w, g, m, v; write w, m, v)
   would take at that rate. The fused Adam kernel is one such pass on one core.
2. The dense graph gradient's product, [3000, 128] x [128, 3000], in PyTorch's OpenBLAS on
   1 and 2 threads: what native BLAS reaches for the same 2.36 GFLOP on these cores.

Usage (the core type as bench:torch sets it; see bench/torch/blas_core.ts):
    OPENBLAS_CORETYPE=Haswell python3 bench/torch/floors.py
"""
import os
import time

import numpy as np
import torch

N = 3000 * 3000 + 3000 * 16 + 3000  # NM(3000) with 16 inputs: W, U and the bias


def median_seconds(fn, reps):
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return sorted(times)[len(times) // 2]


w, g, m = (np.random.rand(N).astype(np.float32) for _ in range(3))
triad = median_seconds(lambda: np.add(w, g, out=m), 15)
rate = 3 * 4 * N / triad
print(f"numpy triad m = w + g over {N} float32: {triad * 1e3:.2f} ms, {rate / 1e9:.1f} GB/s (one core)")
print(f"  => Adam's 7 array passes (read w,g,m,v; write w,m,v = {7 * 4 * N / 1e6:.0f} MB) at that rate: {7 * 4 * N / rate * 1e3:.1f} ms")

for threads in (1, 2):
    torch.set_num_threads(threads)
    a, b = torch.randn(3000, 128), torch.randn(128, 3000)
    for _ in range(3):
        a @ b
    t = median_seconds(lambda: a @ b, 9)
    print(
        f"torch {torch.__version__} mm [3000,128]x[128,3000], {threads} thread(s), "
        f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE')}: {t * 1e3:.2f} ms, {2 * 3000 * 128 * 3000 / t / 1e9:.1f} GFLOP/s"
    )
