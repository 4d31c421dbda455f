#!/usr/bin/env python3
"""Independent recomputation of the protocol v3 claim rows from the raw trials.

Shares no code with the TypeScript report (bench/uci/claims_v3.ts, stats_cluster.ts):
it reads the trial store, selects each run's configuration, forms the (dataset, seed)
clusters and recomputes, per claim, the clusters and pairs, the mean difference, the
better / tie / worse counts, the sign-flip p (exact up to 20 clusters, else 10^6
Monte Carlo draws), the exact Wilcoxon signed-rank p and the largest
leave-one-dataset-out p. Compare its rows with the report's "Protocol v3: claims" table.

Usage:
  python3 bench/uci/recompute_v3.py bench/results/uci-v3/trials.jsonl.gz \
      [--datasets digits,satellite,vehicle,dna] [--deq-engine host|tensor] \
      [--retime bench/results/uci-v3/retime.jsonl.gz]

Selection follows bench/uci/README.md: among a run's configurations the one with the
lowest validation error (ties: lower validation loss, then the earlier configuration).
A run's trials are those with the planned key: at p = 300 the NM-recipe and NM-default
trials of definition version 2 (key tag `def2`), elsewhere the untagged ones; DEQ's
trials on the engine --deq-engine names (key tag `host`; the tensor engine's are untagged).
The secondary family includes the speed rows (ln of DEQ's time per epoch over the
method's), as the report's Holm correction does. With --retime (the same-window reruns of
`--retime`, bench/uci/retime.ts) the speed rows use the reruns' times per epoch, for the
selected runs that have a rerun (the key of the selected trial), as the report does when
reruns are stored. Needs numpy only.
"""
import argparse
import gzip
import json
import math
import sys
from collections import defaultdict

import numpy as np

PRIMARY = [('NMs', 'NN'), ('NMs&L1', 'NN'), ('NMs&NM', 'NN'), ('NM-default', 'NN'), ('NM-recipe', 'NN')]
SECONDARY = [
    ('NMs', 'DEQ'), ('NMs&NM', 'DEQ'), ('NMs', 'DAG'), ('NMs&NM', 'DAG'), ('NMs&NM', 'NMs'),
    ('NMs&NM', 'NMs&L1'), ('NM-recipe', 'NM-default'), ('DEQ', 'NN'),
]
SPEED = ['NMs', 'NMs&NM', 'NM-default', 'NM-recipe']
REDEFINED_AT = {('NM-recipe', 300): 'def2', ('NM-default', 300): 'def2'}
EPS = 1e-12


def planned(t, deq_engine):
    tag = REDEFINED_AT.get((t['method'], t['nodes']))
    parts = t['key'].split('|')
    if t['method'] == 'DEQ' and ('host' in parts) != (deq_engine == 'host'):
        return False
    has = any(p.startswith('def') for p in parts)
    return (tag in parts) if tag else not has


def load(path, datasets, deq_engine='host'):
    runs = defaultdict(list)
    with gzip.open(path, 'rt') as f:
        for line in f:
            t = json.loads(line)
            if t.get('error') or t.get('valError') is None or t.get('testError') is None:
                continue
            if datasets and t['dataset'] not in datasets:
                continue
            if not planned(t, deq_engine):
                continue
            runs[(t['dataset'], t['method'], t['nodes'], t['seed'])].append(t)
    sel = {}
    for k, ts in runs.items():
        ts.sort(key=lambda t: (t['valError'], t['valLoss'], t['configIndex']))
        sel[k] = ts[0]
    return sel


def read_lines(path):
    opener = gzip.open if path.endswith('.gz') else open
    with opener(path, 'rt') as f:
        return [json.loads(line) for line in f if line.strip()]


def with_retimes(sel, path):
    """The selected runs that have a rerun in the --retime file, with the rerun's time per epoch."""
    again = {t['key']: t for t in read_lines(path)}
    out = {}
    for k, t in sel.items():
        r = again.get(t['key'])
        if r is not None and r['secondsPerEpoch'] > 0:
            out[k] = {**t, 'secondsPerEpoch': r['secondsPerEpoch']}
    return out


def clusters(sel, a, b, speed=False):
    """Cluster means of a − b in points (speed: ln of b's time per epoch over a's), keyed by
    (dataset, seed), and the pair count."""
    per = defaultdict(list)
    for (d, m, p, s), t in sel.items():
        if m != a:
            continue
        o = sel.get((d, b, p, s))
        if o is None:
            continue
        if speed:
            per[(d, s)].append(math.log(o['secondsPerEpoch'] / t['secondsPerEpoch']))
        else:
            per[(d, s)].append(100 * (t['testError'] - o['testError']))
    return {k: float(np.mean(v)) for k, v in per.items()}, sum(len(v) for v in per.values())


def sign_flip_p(x, draws=1_000_000, seed=7):
    x = np.asarray(x, dtype=np.float64)
    n = len(x)
    obs = abs(x.sum())
    if n <= 20:
        count = 0
        total = 0
        # Enumerate the 2^n sign patterns in chunks.
        chunk = 1 << min(n, 16)
        for start in range(0, 1 << n, chunk):
            idx = np.arange(start, start + chunk, dtype=np.int64)
            signs = 1 - 2 * ((idx[:, None] >> np.arange(n)) & 1)
            sums = np.abs(signs @ x)
            count += int(np.sum(sums >= obs - 1e-9))
            total += chunk
        return count / total, False
    rng = np.random.default_rng(seed)
    count = 0
    for _ in range(draws // 100_000):
        signs = rng.integers(0, 2, size=(100_000, n)) * 2 - 1
        count += int(np.sum(np.abs(signs @ x) >= obs - 1e-9))
    return (count + 1) / (draws + 1), True


def wilcoxon_exact_p(x):
    """Two-sided exact signed-rank p: zeros dropped, midranks for ties (doubled to integers)."""
    x = [v for v in x if abs(v) > EPS]
    n = len(x)
    if n == 0:
        return 1.0
    order = sorted(range(n), key=lambda i: abs(x[i]))
    ranks2 = [0] * n
    i = 0
    while i < n:
        j = i
        while j + 1 < n and abs(abs(x[order[j + 1]]) - abs(x[order[i]])) <= 1e-9:
            j += 1
        for k in range(i, j + 1):
            ranks2[order[k]] = i + j + 2  # 2 × the midrank (i+1 + j+1)/2
        i = j + 1
    w_plus = sum(r for r, v in zip(ranks2, x) if v > 0)
    total = sum(ranks2)
    dist = {0: 1}
    for r in ranks2:
        nxt = defaultdict(int)
        for s, c in dist.items():
            nxt[s] += c
            nxt[s + r] += c
        dist = nxt
    lo = min(w_plus, total - w_plus)
    tail = sum(c for s, c in dist.items() if s <= lo)
    return min(1.0, 2 * tail / 2 ** n)


def holm(ps):
    order = sorted(range(len(ps)), key=lambda i: ps[i])
    out = [0.0] * len(ps)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(ps) - rank) * ps[i]))
        out[i] = running
    return out


def row(sel, a, b, speed=False):
    cm, pairs = clusters(sel, a, b, speed)
    keys = sorted(cm)
    x = [cm[k] for k in keys]
    # For speed rows a positive log ratio means a is faster.
    better = sum((v > EPS) if speed else (v < -EPS) for v in x)
    worse = sum((v < -EPS) if speed else (v > EPS) for v in x)
    p, mc = sign_flip_p(x)
    loo = []
    for d in sorted({k[0] for k in keys}):
        xs = [cm[k] for k in keys if k[0] != d]
        if xs:
            loo.append((sign_flip_p(xs)[0], d))
    return {
        'a': a, 'b': b, 'claim': f'{b} time ÷ {a} time' if speed else f'{a} vs {b}', 'clusters': len(x), 'pairs': pairs, 'mean': float(np.mean(x)) if x else math.nan, 'speed': speed,
        'better': better, 'tie': len(x) - better - worse, 'worse': worse, 'p': p, 'mc': mc,
        'wilcoxon': wilcoxon_exact_p(x), 'loo': max(loo, key=lambda e: e[0]) if loo else None,
    }


def effect(r):
    return f"×{math.exp(r['mean']):.2f}" if r['speed'] else f"{r['mean']:+.2f} points"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('store')
    ap.add_argument('--datasets', default='')
    ap.add_argument('--deq-engine', choices=['host', 'tensor'], default='host', help="DEQ's trials on this engine (the report's --deq-engine)")
    ap.add_argument('--retime', default='', help="the same-window reruns (retime.jsonl[.gz]) whose times the speed rows use")
    ap.add_argument('--json', action='store_true', help='one JSON row per claim: claim, clusters, pairs, effect, counts, Wilcoxon p')
    args = ap.parse_args()
    datasets = set(filter(None, args.datasets.split(',')))
    sel = load(args.store, datasets, args.deq_engine)
    print(f'selected runs: {len(sel)}', file=sys.stderr if args.json else sys.stdout)
    for family, claims in (('primary', PRIMARY), ('secondary', SECONDARY)):
        rows = [row(sel, a, b) for a, b in claims]
        if family == 'secondary':
            timed = with_retimes(sel, args.retime) if args.retime else sel
            rows += [row(timed, a, 'DEQ', speed=True) for a in SPEED]
        for r, ph in zip(rows, holm([r['p'] for r in rows])):
            if args.json:
                name = f"{r['a']} vs {r['b']}" + (' (speed)' if r['speed'] else '')
                effect_value = round(math.exp(r['mean']), 2) if r['speed'] else round(r['mean'], 2)
                wil = float(f"{r['wilcoxon']:.4g}")
                print(json.dumps([name, r['clusters'], r['pairs'], effect_value, [r['better'], r['tie'], r['worse']], wil], ensure_ascii=False) + ',')
                continue
            loo = f"{r['loo'][0]:.4g} (without {r['loo'][1]})" if r['loo'] else '-'
            print(
                f"{family} | {r['claim']} | {r['clusters']} ({r['pairs']}) | {effect(r)} | "
                f"{r['better']} / {r['tie']} / {r['worse']} | p {r['p']:.4g}{'*' if r['mc'] else ''} | "
                f"Holm {ph:.4f} | Wilcoxon {r['wilcoxon']:.4g} | LOO {loo}"
            )


if __name__ == '__main__':
    main()
