#!/usr/bin/env python
"""Benchmark of model selection: fastgmm's selector against the scikit-learn loop.

The loop a user writes today with scikit-learn::

    fits = [GaussianMixture(n, covariance_type=t, random_state=0).fit(X)
            for n in range(1, 21) for t in ("full", "tied", "diag", "spherical")]
    best = min(fits, key=lambda g: g.bic(X))

against ``fastgmm.GaussianMixtureSelector(range(1, 21), random_state=0).fit(X)``
over the same grid (n_components 1..20 x the four covariance types, 80
candidates, scikit-learn's defaults otherwise), side by side in one run, on

* small: 300 x 2 (3 Gaussian clusters),
* large: 200,000 x 8 (6 Gaussian clusters with random full covariances).

Also timed, to show where the speed comes from: the selector with its
candidates run one after the other on multi-threaded kernels
(``_side_by_side = False``; large case only, as small data always runs on
one thread) and the plain fastgmm loop (one
``fastgmm.GaussianMixture(...).fit(X).bic(X)`` per candidate: no shared
validation or initialisation).  The small case runs every variant
``--repeats`` times interleaved and reports medians; the large case runs each
once (the scikit-learn loop takes many minutes), with the selector once more
at the end to bracket changes in the machine's load.

Usage::

    python benchmarks/bench_selection.py [--cases small,large] [--repeats 5]
                                         [--output benchmarks/RESULTS_selection.md]
"""

import argparse
import datetime
import os
import platform
import resource
import subprocess
import sys
import time
import warnings
from pathlib import Path
from statistics import median

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

GRID_K = range(1, 21)
GRID_TYPES = ("full", "tied", "diag", "spherical")
CASES = {
    # name: (n_samples, n_features, true clusters, separation)
    "small": (300, 2, 3, 6.0),
    "large": (200_000, 8, 6, 5.0),
}


def make_data(n, d, K, separation, seed=0):
    """K Gaussian clusters, random full covariances (singular values 0.5-1.5)
    and centres at least ``separation`` apart, shuffled."""
    rng = np.random.default_rng(seed)
    while True:
        centers = rng.uniform(-separation, separation, size=(K, d)) * 1.5
        dist = np.sqrt(((centers[:, None] - centers[None]) ** 2).sum(-1))
        if dist[np.triu_indices(K, 1)].min() >= separation:
            break
    labels = rng.permutation(np.arange(n) % K)
    X = np.empty((n, d))
    for k in range(K):
        Q, _ = np.linalg.qr(rng.normal(size=(d, d)))
        A = (Q * rng.uniform(0.5, 1.5, size=d)) @ np.linalg.qr(rng.normal(size=(d, d)))[0]
        rows = labels == k
        X[rows] = centers[k] + rng.normal(size=(int(rows.sum()), d)) @ A
    return np.ascontiguousarray(X)


# ----------------------------------------------------------------------- load
def _cpu_jiffies():
    with open("/proc/stat") as f:
        fields = [int(v) for v in f.readline().split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields[:8]) - idle


def _own_cpu():
    s, c = resource.getrusage(resource.RUSAGE_SELF), \
        resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime


def timed(fn, cpu=None):
    """(seconds, result, cores used by other processes meanwhile); appends
    this process's CPU seconds to ``cpu`` when given."""
    hz = os.sysconf("SC_CLK_TCK")
    j0, c0, t0 = _cpu_jiffies(), _own_cpu(), time.perf_counter()
    result = fn()
    wall = time.perf_counter() - t0
    busy = (_cpu_jiffies() - j0) / hz
    own = _own_cpu() - c0
    if cpu is not None:
        cpu.append(own)
    other = max(0.0, busy - own) / max(wall, 1e-9)
    return wall, result, other


def other_load(seconds=2.0):
    """Cores used by other processes over the next ``seconds``."""
    return timed(lambda: time.sleep(seconds))[2]


def wait_for_idle(budget, threshold=0.3, patience=60.0):
    """Wait (up to ``patience`` s, within the run's ``budget``) until other
    processes use less than ``threshold`` cores; returns seconds waited."""
    waited = 0.0
    while waited < min(patience, budget[0]):
        if other_load() < threshold:
            break
        waited += 2.0
    budget[0] -= waited
    return waited


# ------------------------------------------------------------------ variants
def run_sklearn(X):
    from sklearn.mixture import GaussianMixture

    bics = []
    for n in GRID_K:
        for t in GRID_TYPES:
            g = GaussianMixture(n, covariance_type=t, random_state=0).fit(X)
            bics.append((g.bic(X), n, t))
    best = min(bics)
    return {"best": (best[1], best[2]), "best_bic": best[0], "bics": bics}


def run_selector(X, side_by_side=True):
    from fastgmm import GaussianMixtureSelector

    old = GaussianMixtureSelector._side_by_side
    GaussianMixtureSelector._side_by_side = side_by_side
    try:
        sel = GaussianMixtureSelector(GRID_K, GRID_TYPES, random_state=0).fit(X)
    finally:
        GaussianMixtureSelector._side_by_side = old
    b = sel.best_index_
    return {"best": (sel.best_params_["n_components"], sel.best_params_["covariance_type"]),
            "best_bic": float(sel.results_["bic"][b]),
            "n_iter": int(sel.results_["n_iter"].sum())}


def run_fastgmm_loop(X):
    from fastgmm import GaussianMixture

    bics = []
    for n in GRID_K:
        for t in GRID_TYPES:
            g = GaussianMixture(n, covariance_type=t, random_state=0).fit(X)
            bics.append((g.bic(X), n, t))
    best = min(bics)
    return {"best": (best[1], best[2]), "best_bic": best[0]}


VARIANTS = {
    "selector": ("fastgmm `GaussianMixtureSelector`", lambda X: run_selector(X, True)),
    "sequential": ("fastgmm selector, candidates one after the other on "
                   "2-thread kernels", lambda X: run_selector(X, False)),
    "fastgmm_loop": ("plain fastgmm loop (`GaussianMixture(...).fit(X).bic(X)`)",
                     run_fastgmm_loop),
    "sklearn": ("scikit-learn loop", run_sklearn),
}


# -------------------------------------------------------------------- report
def machine_info():
    import scipy
    import sklearn
    import threadpoolctl

    import fastgmm
    from fastgmm._config import effective_n_threads

    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "src"],
                               capture_output=True, text=True).stdout.strip()
        commit += " (src/ modified)" if dirty else " (src/ clean)"
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    blas = "; ".join(f"{i['internal_api']} {i['version']} ({i['num_threads']} threads)"
                     for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas")
    return [
        f"* CPU: {cpu}, {os.cpu_count()} cores (a 2-core Xeon VM); "
        f"{platform.platform()}",
        f"* Python {platform.python_version()}, NumPy {np.__version__}, SciPy "
        f"{scipy.__version__}, scikit-learn {sklearn.__version__}, threadpoolctl "
        f"{threadpoolctl.__version__}",
        f"* BLAS: {blas}",
        f"* fastgmm {fastgmm.__version__}, git {commit}, default n_threads "
        f"{effective_n_threads(None)}",
    ]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", default="small,large")
    parser.add_argument("--repeats", type=int, default=5,
                        help="interleaved repeats of every variant on the small case")
    parser.add_argument("--output", default=None, help="markdown report file")
    parser.add_argument("--max-wait", type=float, default=600.0,
                        help="seconds the whole run may wait for an idle machine "
                             "(before each timed block, at most 60 s)")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")  # ConvergenceWarnings of large-K candidates

    info = machine_info()       # before the run: the commit measured
    budget = [args.max_wait]
    waited = 0.0
    started = datetime.datetime.now(datetime.UTC)
    t_run = time.perf_counter()
    load0 = os.getloadavg()
    rows, details = [], []
    for case in args.cases.split(","):
        n, d, K, sep = CASES[case]
        X = make_data(n, d, K, sep)
        repeats = args.repeats if case == "small" else 1
        # small data runs the selector on one thread, so "sequential" is
        # the same thing there
        variants = [v for v in VARIANTS if case == "large" or v != "sequential"]
        order = variants + (["selector"] if case == "large" else [])
        times = {v: [] for v in variants}
        others = {v: [] for v in variants}
        cpus = {v: [] for v in variants}
        results = {}
        for _ in range(repeats):
            for v in order:
                waited += wait_for_idle(budget)
                wall, res, other = timed(lambda: VARIANTS[v][1](X), cpus[v])
                times[v].append(wall)
                others[v].append(other)
                results[v] = res
                print(f"{case:5s} {v:12s} {wall:9.2f} s  cpu {cpus[v][-1]:8.2f} s  "
                      f"best {res['best']}  "
                      f"other load {other:.2f} cores", flush=True)
        sk = median(times["sklearn"])
        for v in variants:
            t = median(times[v])
            same = results[v]["best"] == results["sklearn"]["best"]
            rows.append(
                f"| {case} ({n:,} x {d}) | {VARIANTS[v][0]} | "
                + (" / ".join(f"{x:.2f}" for x in times[v]) if case == "large"
                   else f"{t:.3f}")
                + f" | {sk / t:.1f}x | {median(cpus[v]):.2f} | "
                f"{results[v]['best'][0]}, {results[v]['best'][1]}"
                f" | {'yes' if same else 'NO'} | "
                + (" / ".join(f"{x:.2f}" for x in others[v]) if case == "large"
                   else f"{median(others[v]):.2f} (max {max(others[v]):.2f})")
                + " |")
        details.append(
            f"* {case}: best BIC scikit-learn {results['sklearn']['best_bic']:.6g}, "
            f"fastgmm selector {results['selector']['best_bic']:.6g}; the selector ran "
            f"{results['selector']['n_iter']} EM iterations over the 80 candidates.")
    total = (time.perf_counter() - t_run) / 60
    load1 = os.getloadavg()

    lines = [
        "# Model selection benchmark",
        "",
        f"Generated by `python benchmarks/bench_selection.py` on "
        f"{started:%Y-%m-%d %H:%M} UTC; total run time {total:.1f} min.  "
        f"The machine is shared with other agents' jobs: load average "
        f"{load0[0]:.1f} at the start and {load1[0]:.1f} at the end (2 cores; "
        "it counts this benchmark too, see \"other load\" for the others); "
        f"all variants ran side by side in this one run (the script waited "
        f"{waited:.0f} s in all for quieter moments), so compare ratios, not "
        "absolute times.",
        "",
        "## Machine and versions",
        "",
        *info,
        "",
        "## Method",
        "",
        "* Grid: n_components 1..20 x covariance types full, tied, diag, "
        "spherical (80 candidates), `random_state=0`, every other parameter at "
        "scikit-learn's default (k-means init, n_init=1, tol=1e-3, max_iter=100); "
        "best = lowest BIC on the training data.",
        "* scikit-learn loop: `[GaussianMixture(n, covariance_type=t, "
        "random_state=0).fit(X) for n in range(1, 21) for t in types]`, then "
        "`.bic(X)` of each.",
        "* Data: Gaussian clusters with random full covariances, float64 "
        "(small: 3 clusters, large: 6 clusters).",
        f"* Small case: every variant {args.repeats} times, interleaved; the "
        "median is shown.  Large case: once each (the selector once more at "
        "the end; both times shown, the speed-up uses their median).",
        "* \"other load\" is the CPU used by other processes during the "
        "variant's run, in cores (from /proc/stat; small case: median and "
        "maximum over the repeats; large case: every run). "
        "Before each run the script waits up to 60 s for it to fall below 0.3 "
        "cores (at most --max-wait s in all).",
        "* \"CPU seconds\": CPU time of the benchmark process during the run "
        "(all its threads; median over repeats).  Spinning OpenMP/BLAS threads "
        "count too, so it rises when the machine is busy.",
        "",
        "## Results",
        "",
        "| case | variant | seconds | speed-up vs scikit-learn | CPU seconds | "
        "best model | same as scikit-learn | other load |",
        "|---|---|---:|---:|---:|---|---|---:|",
        *rows,
        "",
        *details,
        "",
    ]
    report = "\n".join(lines)
    print(report)
    if args.output:
        Path(args.output).write_text(report)


if __name__ == "__main__":
    sys.exit(main())
