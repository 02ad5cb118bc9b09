#!/usr/bin/env python3
"""Times Python peers of dmd-ot on the exact data written by `bench_ot --data-dir DIR`.

Peers: lap.lapjv, scipy.optimize.linear_sum_assignment, POT ot.emd2 (network simplex) and
POT ot.sinkhorn2 (per-iteration time). Each exact peer should reach the same optimum as dmd-ot
(relative difference <= 1e-9): `same_optimum`, and `relative_excess` = (peer - ours) / |ours|
(> 0: the peer's assignment costs more; < 0: it found a cheaper one than ours). The script
prints JSON with medians and, given --ours, the speed-up ratios peer_time / our_time.

Data files are `cost_n{N}_d{d}.npy` (case `gaussian`) or `cost_{case}_n{N}_d{d}.npy` (cases
`outlier`, `range`), as written by `bench_ot --case CASE --data-dir DIR`.

    python3 peers.py --data-dir DIR --ours ours.json [--reps 3] [--max-seconds 20] [--out peers.json]
"""
import argparse
import glob
import json
import os
import re
import statistics
import sys
import time
import warnings

import numpy as np


def timed(fn, reps, max_seconds):
    """Median wall time of fn() over reps runs (fewer if one run exceeds max_seconds)."""
    times, out = [], None
    for _ in range(reps):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
        if times[-1] > max_seconds:
            break
    return statistics.median(times), len(times), out


def exact_peers():
    peers = {}
    try:
        import lap

        def run_lap(c):
            res = lap.lapjv(c, extend_cost=False)
            return float(res[0])

        peers["lap.lapjv"] = run_lap
    except ImportError:
        print("lap not installed; skipping lap.lapjv", file=sys.stderr)
    try:
        from scipy.optimize import linear_sum_assignment

        def run_scipy(c):
            r, col = linear_sum_assignment(c)
            return float(c[r, col].sum())

        peers["scipy.linear_sum_assignment"] = run_scipy
    except ImportError:
        print("scipy not installed; skipping linear_sum_assignment", file=sys.stderr)
    try:
        import ot

        def run_emd(c):
            n = c.shape[0]
            a = np.full(n, 1.0 / n)
            return float(ot.emd2(a, a, c, numItermax=10**8)) * n

        peers["POT.emd2"] = run_emd
    except ImportError:
        print("POT not installed; skipping emd2", file=sys.stderr)
    return peers


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--ours", help="JSON written by bench_ot --out")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--max-seconds", type=float, default=20.0,
                    help="stop repeating a peer once one run takes longer than this")
    ap.add_argument("--sinkhorn-iters", type=int, default=50)
    ap.add_argument("--max-n-emd", type=int, default=4000,
                    help="skip POT.emd2 (network simplex, minutes at N = 8000) above this N")
    ap.add_argument("--out")
    args = ap.parse_args()

    ours = {}
    if args.ours:
        with open(args.ours) as f:
            for r in json.load(f)["results"]:
                ours[(r.get("case", "gaussian"), r["n"], r["d"])] = r

    peers = exact_peers()
    results = []
    for path in sorted(glob.glob(os.path.join(args.data_dir, "cost_*.npy"))):
        m = re.search(r"cost_(?:([a-z]+)_)?n(\d+)_d(\d+)\.npy$", path)
        if m is None:
            continue
        case, n, d = m.group(1) or "gaussian", int(m.group(2)), int(m.group(3))
        c = np.load(path)
        rec = {"case": case, "n": n, "d": d, "peers": {}}
        our = ours.get((case, n, d))
        for name, fn in peers.items():
            if name == "POT.emd2" and n > args.max_n_emd:
                continue
            t, runs, total = timed(lambda: fn(c), args.reps, args.max_seconds)
            entry = {"seconds": t, "runs": runs, "total_cost": total}
            if our is not None:
                ref = our["total_cost"]
                # relative to the optimum itself (costs may be tiny: the `range` case's is 1e-5)
                excess = (total - ref) / max(abs(ref), 1e-300)
                entry["relative_excess"] = excess
                entry["same_optimum"] = abs(excess) <= 1e-9
                entry["ratio_vs_ours"] = t / our["assignment_s"]
            rec["peers"][name] = entry
            print(f"{case} n={n} d={d} {name}: {t:.4f} s ({runs} runs) total={total:.10g}"
                  + (f" same_optimum={entry['same_optimum']} excess={entry['relative_excess']:.3g}"
                     f" x{entry['ratio_vs_ours']:.2f}" if our else ""),
                  file=sys.stderr)
        try:
            import ot

            reg = our["sinkhorn"]["epsilon"] if our else 0.01 * float(c.std())
            a = np.full(n, 1.0 / n)
            m0 = c - c.min()
            k = args.sinkhorn_iters

            def run_pot(iters):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    return ot.sinkhorn2(a, a, m0, reg, numItermax=iters, stopThr=0.0)

            # per-iteration time: difference between k and 2k iterations (setup cancels out)
            t1, _, _ = timed(lambda: run_pot(k), args.reps, args.max_seconds)
            t2, runs, _ = timed(lambda: run_pot(2 * k), args.reps, args.max_seconds)
            entry = {"ms_per_iter": 1e3 * max(t2 - t1, 0.0) / k, "reg": reg, "total_s_2k": t2}
            ours_ms = our["sinkhorn"]["ms_per_iter"] if our else 0.0
            if ours_ms > 0.0:
                entry["ratio_vs_ours"] = entry["ms_per_iter"] / ours_ms
            elif our:
                # the k vs 2k difference drowned in timing noise: no ratio rather than a crash
                entry["ratio_vs_ours"] = None
            rec["peers"]["POT.sinkhorn2"] = entry
            print(f"{case} n={n} d={d} POT.sinkhorn2: {entry['ms_per_iter']:.3f} ms/iter", file=sys.stderr)
        except ImportError:
            pass
        if our:
            rec["ours"] = our
            exact = {k: v["seconds"] for k, v in rec["peers"].items() if "seconds" in v}
            if exact:
                best = min(exact, key=exact.get)
                rec["fastest_peer"] = best
                rec["speedup_vs_fastest_peer"] = exact[best] / our["assignment_s"]
        results.append(rec)
    out = json.dumps({"results": results}, indent=2)
    print(out)
    if args.out:
        with open(args.out, "w") as f:
            f.write(out)


if __name__ == "__main__":
    main()
