#!/usr/bin/env python
"""Benchmark: EM iterations of fastgmm on a dask.distributed LocalCluster
against the in-memory fastgmm fit, from the same initial parameters.

One data set (K Gaussian blobs, float64, generated block by block from a
fixed seed) exists twice: as a NumPy array in this process and as a dask
array persisted on a LocalCluster of ``--workers`` worker processes with one
thread each (the same cores the in-memory fit uses with its default
threads).  Both fits start from the same ``weights_init``, ``means_init``,
``precisions_init`` with ``tol=0`` and run ``--iters`` iterations.

Measured per EM iteration:

* wall time of every iteration (E-step pass + M-step; for Dask also building
  and submitting the graph and gathering the result), from which the
  throughput of the Dask fit relative to the in-memory fit;
* bytes the workers sent (``Worker.transfer_outgoing_bytes_total``, summed
  over the workers: partial statistics moved between workers for the
  reduction tree, the parameters fetched by workers, the result gathered by
  the client);
* the size of the iteration's task graph as the client ships it (pickled),
  and the size of one block's statistics;
* CPU time used by processes outside this benchmark's process tree while
  each fit ran (other users of the machine), in cores.

A small single-thread in-memory fit at ``--estimate-features`` features
gives the per-core rate used for the paper estimate in the report.

Usage::

    python benchmarks/bench_dask.py                  # 20M x 16, K=16 full
    python benchmarks/bench_dask.py --quick          # 2M rows, smoke test
    python benchmarks/bench_dask.py --output /tmp/r.md
"""

import argparse
import datetime
import os
import pickle
import platform
import subprocess
import sys
import time
import warnings
from pathlib import Path
from time import perf_counter

import numpy as np

HERE = Path(__file__).resolve().parent


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------
# load of other processes
# --------------------------------------------------------------------------
def _machine_busy():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return (v[0] + v[1] + v[2] + v[5] + v[6]) / os.sysconf("SC_CLK_TCK")


def _tree_cpu():
    """CPU seconds of this process and all its descendants (the workers)."""
    import psutil

    me = psutil.Process()
    total = 0.0
    for p in [me] + me.children(recursive=True):
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.Error:
            pass
    return total


class OtherLoad:
    """Cores used by processes outside this benchmark while a block runs."""

    def __enter__(self):
        self._m, self._o, self._t = _machine_busy(), _tree_cpu(), perf_counter()
        return self

    def __exit__(self, *exc):
        wall = perf_counter() - self._t
        other = (_machine_busy() - self._m) - (_tree_cpu() - self._o)
        self.cores = max(0.0, other / wall) if wall > 0 else 0.0
        return False


_WAIT_BUDGET = [0.0]


def wait_until_idle(threshold=0.25, patience=60.0):
    """Wait (up to ``patience`` s, and within the run's --max-wait budget)
    until other processes use less than ``threshold`` cores."""
    t0 = perf_counter()
    while True:
        with OtherLoad() as load:
            time.sleep(1.0)
        waited = perf_counter() - t0
        if load.cores < threshold or waited >= patience or _WAIT_BUDGET[0] <= 0:
            _WAIT_BUDGET[0] -= waited
            return
        log(f"  other processes use {load.cores:.2f} cores; waiting")
        time.sleep(4.0)


# --------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------
def centers_of(d, K, seed):
    rng = np.random.default_rng(seed)
    return rng.uniform(-10 * K ** (1 / d), 10 * K ** (1 / d), size=(K, d)) * 3


def make_block(i, rows, d, K, seed):
    """Block ``i``: rows of K blobs with fixed random covariances."""
    centers = centers_of(d, K, seed)
    shapes = np.random.default_rng(seed + 1).uniform(0.5, 1.5, size=(K, d, d)) / d
    rng = np.random.default_rng([seed, i])
    labels = rng.integers(0, K, size=rows)
    X = rng.standard_normal((rows, d))
    for k in range(K):
        sel = labels == k
        X[sel] = X[sel] @ (shapes[k] + np.eye(d)) + centers[k]
    return X


def block_sizes(n, chunk):
    return [min(chunk, n - i0) for i0 in range(0, n, chunk)]


def initial_parameters(d, K, seed):
    rng = np.random.default_rng(seed + 2)
    means = centers_of(d, K, seed) + rng.normal(scale=0.5, size=(K, d))
    precisions = np.broadcast_to(np.eye(d) / 2.0, (K, d, d)).copy()
    return dict(weights_init=np.full(K, 1.0 / K), means_init=means,
                precisions_init=precisions)


# --------------------------------------------------------------------------
# instrumented fits
# --------------------------------------------------------------------------
def timed_fit(gm, X, on_iteration=None):
    """Fit; return per-iteration wall times (and whatever on_iteration adds)."""
    import fastgmm._gaussian_mixture as gmm

    times = []
    original = gmm.GaussianMixture._em_iteration

    def timed(self, *args, **kw):
        t0 = perf_counter()
        out = original(self, *args, **kw)
        times.append(perf_counter() - t0)
        if on_iteration is not None:
            on_iteration()
        return out

    gmm.GaussianMixture._em_iteration = timed
    wait_until_idle()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with OtherLoad() as load:
                t0 = perf_counter()
                gm.fit(X)
                total = perf_counter() - t0
    finally:
        gmm.GaussianMixture._em_iteration = original
    return times, total, load.cores


def worker_bytes_sent(client):
    sent = client.run(lambda dask_worker: dask_worker.transfer_outgoing_bytes_total)
    return sum(sent.values())


def graph_bytes(source, gm):
    """Pickled size of one EM iteration's task graph (what the client ships)."""
    import cloudpickle

    from fastgmm import _gaussian_mixture as gmm
    from fastgmm.dask import _em_block
    from fastgmm._dispatch import em as _em

    params = gmm._Params(gm.weights_, gm.means_, gm.covariances_,
                         gm.precisions_cholesky_)
    means, prec, log_norm, center = gm._kernel_args(params, source.dtype)
    tree = source.reduction(_em_block, (means, prec, log_norm, center,
                                        _em.COVARIANCE_TYPES[gm.covariance_type],
                                        gm._use_blas(source.n_features), None))
    graph = dict(tree.__dask_graph__())
    # persisted blocks stay on the workers: the graph refers to them by key
    blocks = set(source.X.__dask_keys__()[i][0] for i in range(source.X.numblocks[0]))
    shipped = {k: v for k, v in graph.items() if k not in blocks}
    return len(cloudpickle.dumps(shipped, protocol=pickle.HIGHEST_PROTOCOL)), \
        len(shipped)


def per_core_rate(d, K, rows=200_000, iters=4):
    """Single-thread in-memory seconds per row per EM iteration at d
    features (median of iterations 2..iters) and the other processes' load."""
    from fastgmm import GaussianMixture

    X = make_block(0, rows, d, K, seed=7)
    gm = GaussianMixture(K, max_iter=iters, tol=0.0, n_threads=1,
                         **initial_parameters(d, K, 7))
    times, _, load = timed_fit(gm, X)
    return float(np.median(times[1:])) / rows, load


# --------------------------------------------------------------------------
# report
# --------------------------------------------------------------------------
def versions():
    import dask
    import distributed
    import scipy
    import threadpoolctl

    import fastgmm

    try:
        rev = subprocess.run(["git", "-C", str(HERE), "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(HERE), "status", "--porcelain",
                                "--", "../src"], capture_output=True,
                               text=True).stdout.strip()
    except OSError:
        rev, dirty = "?", ""
    cpu = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "machine": f"{cpu}; {os.cpu_count()} logical cores; RAM {mem:.1f} GiB; "
                   f"{platform.platform()}",
        "versions": f"Python {platform.python_version()}, NumPy {np.__version__}, "
                    f"SciPy {scipy.__version__}, dask {dask.__version__}, distributed "
                    f"{distributed.__version__}, threadpoolctl "
                    f"{threadpoolctl.__version__}, fastgmm {fastgmm.__version__} "
                    f"(git {rev}{' + local changes in src/' if dirty else ''})",
    }


def fmt_bytes(b):
    for unit in ("B", "KB", "MB", "GB"):
        if abs(b) < 1000 or unit == "GB":
            return f"{b:.0f} {unit}" if unit == "B" else f"{b:.1f} {unit}"
        b /= 1000.0


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=20_000_000)
    ap.add_argument("--features", type=int, default=16)
    ap.add_argument("--components", type=int, default=16)
    ap.add_argument("--chunk-rows", type=int, default=500_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--iters", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=3,
                    help="alternating in-memory / Dask fits (work stealing off)")
    ap.add_argument("--estimate-features", type=int, default=32)
    ap.add_argument("--quick", action="store_true", help="2M rows")
    ap.add_argument("--max-wait", type=float, default=300.0,
                    help="seconds the whole run may wait for an idle machine")
    ap.add_argument("--output", default=str(HERE / "RESULTS_dask.md"))
    args = ap.parse_args()
    if args.quick:
        args.rows, args.chunk_rows = 2_000_000, 250_000
    _WAIT_BUDGET[0] = args.max_wait

    import dask
    import dask.array as da
    from distributed import Client, LocalCluster, wait

    import fastgmm.dask as fdask
    from fastgmm import GaussianMixture

    n, d, K, seed = args.rows, args.features, args.components, 0
    sizes = block_sizes(n, args.chunk_rows)
    t_start = perf_counter()
    info = versions()

    log(f"generating {n:,} x {d} float64 in this process ({len(sizes)} blocks)")
    X = np.empty((n, d))
    i0 = 0
    for i, m in enumerate(sizes):
        X[i0:i0 + m] = make_block(i, m, d, K, seed)
        i0 += m
    init = initial_parameters(d, K, seed)
    runs = {}

    def in_memory(label):
        log(f"in-memory fit ({label})")
        gm = GaussianMixture(K, max_iter=args.iters, tol=0.0, **init)
        # (X is deleted only after the last call of this closure)
        runs[label] = (gm,) + timed_fit(gm, X) + (None,)  # noqa: F821
        log(f"  iterations {runs[label][1]}")

    def dask_fit(label, client, dX):
        sent = []
        last = [worker_bytes_sent(client)]

        def count_bytes():
            now = worker_bytes_sent(client)
            sent.append(now - last[0])
            last[0] = now

        log(f"Dask fit ({label})")
        gm = GaussianMixture(K, max_iter=args.iters, tol=0.0, **init)
        runs[label] = (gm,) + timed_fit(gm, dX, count_bytes) + (sent,)
        log(f"  iterations {runs[label][1]}, bytes {sent}")
        if "graph" not in runs:
            runs["graph"] = graph_bytes(
                fdask.DaskSource(dX, estimator=gm, persist=False), gm)

    def on_cluster(stealing, body):
        log(f"LocalCluster: {args.workers} worker processes x 1 thread, "
            f"work stealing {'on' if stealing else 'off'}")
        with dask.config.set({"distributed.scheduler.work-stealing": stealing}):
            cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1,
                                   processes=True, dashboard_address=None)
        client = Client(cluster)
        try:
            log("  generating the same data on the workers")
            blocks = [da.from_delayed(
                dask.delayed(make_block, pure=True)(i, m, d, K, seed),
                shape=(m, d), dtype=np.float64) for i, m in enumerate(sizes)]
            dX = da.concatenate(blocks).persist()
            wait(dX)
            body(client, dX)
        finally:
            client.close()
            cluster.close()

    # The machine is shared and its load changes by the minute: in-memory and
    # Dask fits alternate, and each round's ratio compares neighbours in time.
    def rounds(client, dX):
        for r in range(1, args.rounds + 1):
            in_memory(f"in memory, round {r}")
            dask_fit(f"Dask, round {r}", client, dX)

    on_cluster(False, rounds)
    on_cluster(True, lambda client, dX: dask_fit(
        "Dask, work stealing on (Dask's default)", client, dX))
    del X
    g_bytes, g_tasks = runs.pop("graph")
    gm_mem = runs["in memory, round 1"][0]
    lb_diff = max(np.max(np.abs(np.asarray(r[0].lower_bounds_)
                                - np.asarray(gm_mem.lower_bounds_)))
                  for r in runs.values())
    mean_diff = max(float(np.max(np.abs(r[0].means_ - gm_mem.means_)))
                    for r in runs.values())

    log(f"single-thread rate at d={args.estimate_features}")
    rate, load_rate = per_core_rate(args.estimate_features, K)
    rate16, _ = per_core_rate(d, K)

    stride = 1 + K + K * d + K * d * d

    def steady(times):
        # the first iteration also pays one-off costs (pages first touched, ...)
        return float(np.median(times[1:])) if len(times) > 1 else float(times[0])

    ratios = [steady(runs[f"in memory, round {r}"][1])
              / steady(runs[f"Dask, round {r}"][1]) for r in range(1, args.rounds + 1)]
    steady_mem = float(np.median([steady(runs[k][1]) for k in runs
                                  if k.startswith("in memory")]))

    de = args.estimate_features
    stride_e = 1 + K + K * de + K * de * de
    lines = []
    w = lines.append
    w("# fastgmm on Dask: EM iterations on a LocalCluster vs in memory\n")
    w(f"Generated by `python benchmarks/bench_dask.py{' --quick' if args.quick else ''}`"
      f" on {datetime.datetime.now(datetime.UTC).strftime('%Y-%m-%d %H:%M UTC')}; "
      f"run time {(perf_counter() - t_start) / 60:.1f} min.\n")
    w("## Machine and versions\n")
    w(f"* {info['machine']}")
    w(f"* {info['versions']}\n")
    w("## Setup\n")
    w(f"* Data: {n:,} x {d} float64 ({n * d * 8 / 1e9:.2f} GB), {K} Gaussian blobs, "
      f"generated block by block from a fixed seed; {len(sizes)} row blocks of "
      f"{args.chunk_rows:,} rows ({args.chunk_rows * d * 8 / 1e6:.0f} MB).")
    w(f"* Model: K={K}, covariance 'full', from the same `weights_init`, "
      f"`means_init`, `precisions_init`, `tol=0`, {args.iters} iterations.")
    w(f"* In memory: `GaussianMixture.fit(numpy_array)`, default threads "
      f"({os.cpu_count()}).")
    w(f"* Dask: `GaussianMixture.fit(dask_array)` with a `distributed.Client` on a "
      f"`LocalCluster(n_workers={args.workers}, threads_per_worker=1, "
      f"processes=True)` (kernels one thread per task), the array generated on "
      f"the workers and persisted before the fit.  {args.rounds} rounds of an "
      f"in-memory fit followed by a Dask fit with "
      f"`distributed.scheduler.work-stealing: False`, then one Dask fit on a "
      f"fresh cluster with Dask's default configuration (work stealing on).")
    w("* Iteration time: wall time of each EM iteration (pass + M-step; for Dask "
      "also graph construction, scheduling and gathering).  The first iteration "
      "is reported apart (it pays one-off costs); 'steady' is the median of the "
      "others.\n")
    w("## Seconds per EM iteration\n")
    w("| fit | iteration 1 | steady (median of 2..) | all iterations | whole fit s |"
      " throughput vs in memory | other processes' load (cores) |")
    w("|---|---:|---:|---|---:|---:|---:|")
    for label, (gm, times, total, load, sent) in runs.items():
        if label.startswith("Dask, round"):
            ratio = f"{100 * ratios[int(label.rsplit(' ', 1)[1]) - 1]:.0f}%"
        elif label.startswith("Dask"):
            ratio = f"{100 * steady_mem / steady(times):.0f}%"
        else:
            ratio = ""
        w(f"| {label} | {times[0]:.2f} | {steady(times):.2f} | "
          f"{', '.join(f'{t:.2f}' for t in times)} | {total:.1f} | {ratio} | "
          f"{load:.2f} |")
    w("")
    w(f"**Dask throughput: {100 * float(np.median(ratios)):.0f}% of the in-memory "
      f"fit** (median over the rounds; range {100 * min(ratios):.0f}-"
      f"{100 * max(ratios):.0f}%; target >= 70%).  A round's throughput is the "
      "in-memory fit's steady seconds per iteration divided by the Dask fit's "
      "that followed it; the last row compares with the median of the "
      f"in-memory fits ({steady_mem:.2f} s).  "
      f"Same answer: max |lower bound difference| from the first in-memory fit "
      f"over all fits and iterations {lb_diff:.1e}, max |means difference| "
      f"{mean_diff:.1e}.\n")
    w("## Bytes per EM iteration\n")
    w("| quantity | bytes | how |")
    w("|---|---:|---|")
    for label, (gm, times, total, load, sent) in runs.items():
        if sent is None:
            continue
        w(f"| sent by all workers, {label} | "
          f"{', '.join(fmt_bytes(x) for x in sent)} | measured per iteration: "
          "sum over the workers of `Worker.transfer_outgoing_bytes_total` deltas |")
    w(f"| one block's statistics | {fmt_bytes(8 * stride)} | (1 + K + K d + K d^2) "
      "float64 |")
    w(f"| statistics of all blocks | {fmt_bytes(8 * stride * len(sizes))} | "
      f"{len(sizes)} blocks (an upper bound for what the reduction moves) |")
    w(f"| task graph shipped by the client | {fmt_bytes(g_bytes)} | pickled graph of "
      f"one iteration ({g_tasks} keys incl. the parameters once) |")
    w("")
    w("Without statistics the same pass would move the data: "
      f"{fmt_bytes(n * d * 8)} per iteration.  fastgmm asks for each block's "
      "task to run on the worker holding the block (a loose restriction: a lost "
      "worker's blocks run wherever Dask recomputes them).  Dask's work "
      "stealing may still move a whole block to an idle worker when it expects "
      "that to finish sooner (on a shared machine, when one worker falls "
      "behind); with stealing off, only statistics, parameters and the result "
      "travel.\n")
    w("## Paper estimate: 1 billion rows x 32 features, 100 workers\n")
    gflop = 1e9 * K * (2 * de * de + 7 * de + 5) / 1e9
    rows_per_worker = 1e9 / 100
    w(f"Measured here: one core runs an in-memory EM iteration at d={de}, K={K} "
      f"full in {rate * 1e6:.2f} us per row ({1 / rate / 1e6:.2f} M rows/s; at d={d}: "
      f"{rate16 * 1e6:.2f} us per row; other processes' load {load_rate:.2f} cores "
      f"during that measurement).  Assumptions: K={K} full, float64, each worker "
      "a machine with c cores running c one-thread tasks (or one task with "
      "n_threads=c) at this per-core rate, 10 Gbit/s links, the data persisted "
      "(10 M rows = 2.56 GB per worker), blocks of 1 M rows (256 MB), "
      "`SPLIT_EVERY`=8.\n")
    w("| quantity | estimate |")
    w("|---|---|")
    w(f"| work per iteration | {gflop:,.0f} GFLOP (model n K (2d^2 + 7d + 5)) |")
    for c in (4, 16):
        w(f"| compute per iteration, c={c} | {rows_per_worker * rate / c:.1f} s "
          f"(10 M rows x {rate * 1e6:.2f} us / {c} cores) |")
    n_tree, width = 0, 1000
    while width > 1:
        width = -(-width // fdask.SPLIT_EVERY)
        n_tree += width
    w(f"| tasks per iteration | 1,000 block tasks + {n_tree} reduction tasks + 1 "
      f"parameter key; at ~5,000 tasks/s in the scheduler (~200 us each) "
      f"~{(1001 + n_tree) / 5000:.2f} s |")
    w(f"| statistics per block | {fmt_bytes(8 * stride_e)} |")
    w(f"| network per iteration | <= {fmt_bytes(8 * stride_e * (1000 + n_tree))} of "
      "partial sums "
      f"(at most every block and inner node's result moves once) + parameters "
      f"{fmt_bytes(8 * K * (de + de * de + 2))} x 100 workers = "
      f"{fmt_bytes(100 * 8 * K * (de + de * de + 2))}; spread over 100 links this "
      f"is ~{8 * stride_e * (1000 + n_tree) / 100 / 1.25e9 * 1000:.0f} ms of "
      "transfer per link |")
    w(f"| per-iteration time | about the compute time plus ~0.3-0.5 s of scheduling "
      f"and latency: ~{rows_per_worker * rate / 4 + 0.4:.0f} s with 4-core "
      f"workers, ~{rows_per_worker * rate / 16 + 0.4:.1f} s with 16-core workers |")
    w(f"| the same data sent instead | {fmt_bytes(1e9 * de * 8)} per iteration |")
    w("")
    w("## Noise\n")
    w("The machine is shared: the 'other processes' load' column is the CPU "
      "time used outside this benchmark (cores) while each fit ran; a value "
      "above ~0.1 means the row's timings were disturbed.  The worker "
      "processes are part of this benchmark's process tree and are not "
      "counted there.  Before each timed fit the script waited up to 60 s for "
      f"the others to use < 0.25 cores (at most {args.max_wait:.0f} s in the "
      "whole run).  The in-memory fit runs one OpenMP region per pass over "
      "both cores and suffers more from a busy core than the two independent "
      "worker processes do, so under load the ratio flatters Dask.\n")
    text = "\n".join(lines)
    Path(args.output).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
