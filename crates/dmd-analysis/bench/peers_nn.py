"""Peer timings for the nearest-neighbour benchmark of dmd-analysis (examples/bench_nn.rs).

Same seeded data: run `cargo run --release -p dmd-analysis --example bench_nn -- --write-npy DIR`
first, then `python bench/peers_nn.py DIR [repeats]`. Prints one JSON object with the median
seconds of
  * numpy: brute force (matmul expansion, argpartition for the two nearest, mean plain distance),
  * faiss: IndexFlatL2 with k = 2 (no mean distance),
  * sgemm: the bare matrix product queries @ train.T (the floor for any GEMM-based search),
and checks that numpy's and faiss's nearest neighbours agree with each other.
Needs numpy and faiss-cpu (e.g. a scratch venv: python -m venv /tmp/nnvenv;
/tmp/nnvenv/bin/pip install numpy faiss-cpu).
"""

import json
import sys
import time

import numpy as np


def numpy_nn(q, x, xn):
    qn = np.einsum("ij,ij->i", q, q)
    d2 = qn[:, None] + xn[None, :] - 2.0 * (q @ x.T)
    np.maximum(d2, 0.0, out=d2)
    top = np.argpartition(d2, 1, axis=1)[:, :2]
    rows = np.arange(q.shape[0])[:, None]
    order = np.argsort(d2[rows, top], axis=1)
    top = top[rows, order]
    mean_dist = np.sqrt(d2).mean(axis=1)
    return top, mean_dist


def median_time(f, repeats):
    times = []
    out = None
    for _ in range(repeats):
        t = time.perf_counter()
        out = f()
        times.append(time.perf_counter() - t)
    return float(np.median(times)), times, out


def main():
    d = sys.argv[1]
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    q = np.load(f"{d}/queries.npy")
    x = np.load(f"{d}/train.npy")
    xn = np.einsum("ij,ij->i", x, x)
    res = {"nq": q.shape[0], "nt": x.shape[0], "dim": q.shape[1]}
    res["numpy_s"], res["numpy_times"], (top, mean_dist) = median_time(lambda: numpy_nn(q, x, xn), repeats)
    res["sgemm_s"], res["sgemm_times"], _ = median_time(lambda: q @ x.T, repeats)
    try:
        import faiss

        def run_faiss():
            index = faiss.IndexFlatL2(x.shape[1])
            index.add(x)
            return index.search(q, 2)

        res["faiss_s"], res["faiss_times"], (_, fi) = median_time(run_faiss, repeats)
        res["faiss_agrees_with_numpy"] = float((fi[:, 0] == top[:, 0]).mean())
    except ImportError:
        res["faiss_s"] = None
    res["checksum"] = {
        "nearest0": int(top[0, 0]),
        "second0": int(top[0, 1]),
        "mean_distance0": float(mean_dist[0]),
        "sum_nearest": int(top[:, 0].sum()),
    }
    res["gflops_sgemm"] = 2.0 * q.shape[0] * x.shape[0] * q.shape[1] / res["sgemm_s"] / 1e9
    print(json.dumps(res))


if __name__ == "__main__":
    main()
