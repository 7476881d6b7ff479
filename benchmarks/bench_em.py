#!/usr/bin/env python
"""Benchmark of fastgmm's EM iterations against scikit-learn and plain NumPy.

For every case the script generates one data set (well-separated Gaussian
blobs with random covariances, fixed seed), builds ONE set of initial
parameters (uniform weights, K random rows (one per blob) as means, the data's covariance
for every component) and fits

* ``fastgmm.GaussianMixture`` (default threads, ``n_threads=1``, and float32
  for the cases that ask for it),
* ``sklearn.mixture.GaussianMixture``,
* the plain vectorised NumPy EM of ``tests/numpy_reference.py``,

all from exactly those parameters (``weights_init``, ``means_init``,
``precisions_init``) with ``tol=0``, side by side in the same run.

Seconds per iteration exclude one-off costs (validation, initialisation,
scikit-learn's initial M-step and final E-step): each implementation is timed
at two iteration counts and the time difference is divided by the difference
in iterations.  fastgmm takes the best of a few repeats; scikit-learn and
NumPy run once per iteration count (their iterations take seconds).

Peak memory of a fit is measured in a fresh subprocess that loads the data
from a ``.npy`` (no mmap), resets the peak RSS (``echo 5 >
/proc/self/clear_refs``), fits and reads ``VmHWM`` from ``/proc/self/status``.

Usage::

    python benchmarks/bench_em.py [--cases lowd,mid,highd,diag] [--quick]
                                  [--output benchmarks/RESULTS.md]
"""

import argparse
import contextlib
import datetime
import gc
import io
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from math import inf
from pathlib import Path
from time import perf_counter

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "tests"))

# --------------------------------------------------------------------------
# Cases
# --------------------------------------------------------------------------
# name: (n_samples, n_features, n_components, covariance_type, float32 run?)
CASES = {
    "lowd": (1_000_000, 2, 8, "full", False),
    "mid": (300_000, 16, 16, "full", True),
    "highd": (100_000, 64, 32, "full", True),
    "diag": (1_000_000, 32, 32, "diag", False),
}
QUICK_DIVISOR = 20

# Iteration counts whose time difference gives the per-iteration time.
FASTGMM_ITERS = (2, 12)
SKLEARN_ITERS = (1, 3)
NUMPY_ITERS = (1, 3)
# The lower bounds of the three implementations are compared at this
# iteration (1-based); it must be <= every implementation's larger count.
COMPARE_ITER = 3
# fastgmm repeats (best of); no further repeat is started once the repeats
# of one configuration have taken this many seconds (keeps the run short).
FASTGMM_REPEATS = 3
FASTGMM_REPEAT_BUDGET = 30.0
# Iterations of the fits whose peak memory is measured.
MEMORY_ITERS = {"fastgmm": 3, "sklearn": 1}
# Rows of the matrix-product reference (64 chunks of 256 rows).
MATMUL_ROWS = 64 * 256
REG_COVAR = 1e-6
SEED = 0

FLOP_MODEL = """\
Flops per EM iteration (n samples, d features, K components); only what the
algorithm needs is counted (a multiply-add is 2 flops, exp/log count as 1):

* full: n*K*(2*d^2 + 7*d + 5).  E-step: centre x - mu_k (d), triangular
  product (x - mu_k) P_k with the d x d upper-triangular precision Cholesky
  factor (d(d+1)/2 multiply-adds = d^2 + d), squared norm (2d); M-step:
  rank-1 update of the lower triangle of the centred scatter
  r_ik (x - m_k)(x - m_k)^T (d^2 + d), first moment r_ik x (2d); plus ~5 per
  sample and component for log-weights, max, exp, log-sum-exp and N_k.
* diag: n*K*(8*d + 5).  E-step: centre, scale and square-accumulate (4d);
  M-step: first moment (2d) and squared deviations (2d); plus ~5 as above.
* tied (not benchmarked here): n*(2*d^2 + 5*K*d + 5*K): x P once (d^2 + d)
  and per component (mu_k P subtracted, squared norm: 3d), one scatter
  (d^2 + d) and first moments (2Kd).
* spherical (not benchmarked here): n*K*(6*d + 5).

GFLOP/s = model flops per iteration / seconds per iteration.  The reference
next to it is a NumPy matrix product of the same size class and dtype,
A (16384 x d) @ B (d x K*d), i.e. one 2-D GEMM doing all K per-component
products of 64 chunks of 256 rows at once, counted as 2*16384*d*K*d flops,
best of several timings, with NumPy's BLAS at the same thread count.
"""


def flops_per_iteration(n, d, K, cov_type):
    if cov_type == "full":
        return n * K * (2 * d * d + 7 * d + 5)
    if cov_type == "diag":
        return n * K * (8 * d + 5)
    if cov_type == "tied":
        return n * (2 * d * d + 5 * K * d + 5 * K)
    return n * K * (6 * d + 5)


class OtherLoad:
    """CPU used by *other* processes while a block runs, in cores.

    Busy jiffies of the whole machine (/proc/stat) minus this process's and
    its waited-for children's CPU time, divided by the wall time.  The
    timings are only meaningful when this stays near 0.
    """

    def __enter__(self):
        self._m0, self._o0, self._t0 = _machine_busy(), _own_cpu(), perf_counter()
        return self

    def __exit__(self, *exc):
        wall = perf_counter() - self._t0
        other = (_machine_busy() - self._m0) - (_own_cpu() - self._o0)
        self.cores = max(0.0, other / wall) if wall > 0 else 0.0
        return False


def _machine_busy():
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
    except OSError:
        return 0.0
    # user nice system idle iowait irq softirq steal
    return (v[0] + v[1] + v[2] + v[5] + v[6]) / os.sysconf("SC_CLK_TCK")


def _own_cpu():
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def wait_until_idle(max_wait, threshold=0.25):
    """Wait (up to max_wait s) until other processes use < threshold cores."""
    t0 = perf_counter()
    while True:
        with OtherLoad() as load:
            time.sleep(0.5)
        if load.cores < threshold or perf_counter() - t0 >= max_wait:
            return load.cores, perf_counter() - t0
        log(f"other processes use {load.cores:.2f} cores; waiting for the machine "
            "to be idle")
        time.sleep(4.0)


def log(msg):
    stamp = time.strftime("%H:%M:%S")
    print(f"[{stamp}] {msg}", file=sys.stderr, flush=True)


def import_fastgmm(retries=5, wait=60):
    """Import fastgmm, retrying while a concurrent rebuild is broken."""
    for attempt in range(retries):
        try:
            import fastgmm
            return fastgmm
        except Exception as exc:  # editable rebuild in progress / compile error
            if attempt == retries - 1:
                raise
            log(f"import fastgmm failed ({type(exc).__name__}: {exc}); retrying in {wait}s")
            for mod in [m for m in sys.modules if m.startswith("fastgmm")]:
                del sys.modules[mod]
            time.sleep(wait)


# --------------------------------------------------------------------------
# Data and initial parameters
# --------------------------------------------------------------------------
def make_blobs(n, d, K, cov_type, seed):
    """K well-separated Gaussian clusters with random covariances (float64).

    Full: covariance Q diag(ev) Q^T with Q random orthogonal and eigenvalues
    uniform in [0.2, 2]; diag: axis-aligned variances uniform in [0.2, 2].
    Centres are uniform in a box, redrawn until every pair is >= 10 apart
    (>= 7 standard deviations).  Cluster sizes are multinomial with weights
    half uniform, half Dirichlet(4); rows are shuffled.

    Returns the data and each row's blob label.
    """
    rng = np.random.default_rng(seed)
    half_width = 12.0 * K ** (1.0 / d)
    for _ in range(1000):
        centres = rng.uniform(-half_width, half_width, size=(K, d))
        gaps = np.linalg.norm(centres[:, None, :] - centres[None, :, :], axis=-1)
        gaps[np.diag_indices(K)] = inf
        if gaps.min() >= 10.0:
            break
    weights = 0.5 / K + 0.5 * rng.dirichlet(np.full(K, 4.0))
    counts = rng.multinomial(n, weights / weights.sum())
    X = np.empty((n, d))
    start = 0
    for k in range(K):
        ev = rng.uniform(0.2, 2.0, size=d)
        Z = rng.standard_normal((counts[k], d))
        if cov_type == "diag":
            block = Z * np.sqrt(ev)
        else:
            Q, _ = np.linalg.qr(rng.standard_normal((d, d)))
            block = Z @ (Q * np.sqrt(ev)).T
        X[start:start + counts[k]] = block + centres[k]
        start += counts[k]
    labels = np.repeat(np.arange(K), counts)
    perm = rng.permutation(n)
    return X[perm], labels[perm]


def initial_parameters(X, labels, K, cov_type, seed):
    """Uniform weights, K random rows as means, the data's covariance.

    The K rows are drawn one from each blob: with rows drawn from the whole
    data set some blobs get two means and others none, and within a dozen
    iterations a component can collapse onto a handful of points (singular
    covariance; float32 fits then stop with an ill-defined covariance).
    """
    from numpy_reference import precisions_from_covariances

    rng = np.random.default_rng(seed + 1)
    n, d = X.shape
    weights = np.full(K, 1.0 / K)
    rows = [rng.choice(np.flatnonzero(labels == k)) for k in range(K)]
    means = X[rows].copy()
    if cov_type == "full":
        cov = np.cov(X, rowvar=False).reshape(d, d)
        covariances = np.repeat(cov[None], K, axis=0)
    elif cov_type == "diag":
        covariances = np.repeat(X.var(axis=0)[None], K, axis=0)
    else:
        raise ValueError(cov_type)
    precisions = precisions_from_covariances(covariances, cov_type)
    return dict(weights=weights, means=means, covariances=covariances,
                precisions=precisions)


# --------------------------------------------------------------------------
# Estimators
# --------------------------------------------------------------------------
def make_fastgmm(K, cov_type, init, max_iter, n_threads=None):
    import fastgmm

    return fastgmm.GaussianMixture(
        K, covariance_type=cov_type, tol=0.0, reg_covar=REG_COVAR,
        max_iter=max_iter, weights_init=init["weights"], means_init=init["means"],
        precisions_init=init["precisions"], init_params="random_from_data",
        random_state=0, n_threads=n_threads)


def make_sklearn(K, cov_type, init, max_iter):
    from sklearn.mixture import GaussianMixture

    # scikit-learn always runs an initial M-step on responsibilities from
    # init_params before applying the *_init arrays; 'random_from_data' is
    # the cheapest (no k-means).  It is a one-off cost, removed by timing
    # two iteration counts.
    return GaussianMixture(
        K, covariance_type=cov_type, tol=0.0, reg_covar=REG_COVAR,
        max_iter=max_iter, weights_init=init["weights"], means_init=init["means"],
        precisions_init=init["precisions"], init_params="random_from_data",
        random_state=0)


def timed_fit(est, X):
    gc.collect()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = perf_counter()
        est.fit(X)
        return perf_counter() - t0


def per_iteration(times, iters):
    lo, hi = iters
    per_it = (times[hi] - times[lo]) / (hi - lo)
    return per_it, times[lo] - lo * per_it  # (seconds/iteration, one-off)


def bench_fastgmm(X, K, cov_type, init, n_threads, repeats):
    best = {it: inf for it in FASTGMM_ITERS}
    hi_est = None
    done = 0
    t0 = perf_counter()
    for r in range(repeats):
        for it in FASTGMM_ITERS:
            est = make_fastgmm(K, cov_type, init, it, n_threads)
            best[it] = min(best[it], timed_fit(est, X))
            if it == max(FASTGMM_ITERS):
                hi_est = est
        done += 1
        if perf_counter() - t0 > FASTGMM_REPEAT_BUDGET:
            break
    per_it, one_off = per_iteration(best, FASTGMM_ITERS)
    return dict(per_it=per_it, one_off=one_off, repeats=done,
                lower_bounds=list(hi_est.lower_bounds_),
                means=np.asarray(hi_est.means_))


def bench_sklearn(X, K, cov_type, init):
    times, lbs = {}, None
    for it in SKLEARN_ITERS:
        est = make_sklearn(K, cov_type, init, it)
        times[it] = timed_fit(est, X)
        if it == max(SKLEARN_ITERS):
            lbs = list(getattr(est, "lower_bounds_", [est.lower_bound_]))
            if len(lbs) != it:  # older scikit-learn: only the last one
                lbs = [np.nan] * (it - 1) + [est.lower_bound_]
        del est
    per_it, one_off = per_iteration(times, SKLEARN_ITERS)
    return dict(per_it=per_it, one_off=one_off, repeats=1, lower_bounds=lbs)


def bench_numpy(X, cov_type, init):
    from numpy_reference import em

    times, lbs = {}, None
    for it in NUMPY_ITERS:
        gc.collect()
        t0 = perf_counter()
        res = em(X, init["weights"], init["means"], init["covariances"], cov_type,
                 it, reg_covar=REG_COVAR)
        times[it] = perf_counter() - t0
        lbs = res["lower_bounds"]
        del res
    per_it, one_off = per_iteration(times, NUMPY_ITERS)
    return dict(per_it=per_it, one_off=one_off, repeats=1, lower_bounds=lbs)


def matmul_gflops(d, K, dtype, n_threads=None, rows=MATMUL_ROWS):
    """GFLOP/s of A (rows x d) @ B (d x K*d) in ``dtype`` (best of several)."""
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(1)
    A = rng.standard_normal((rows, d)).astype(dtype)
    B = rng.standard_normal((d, K * d)).astype(dtype)
    C = np.empty((rows, K * d), dtype=dtype)
    flops = 2.0 * rows * d * K * d
    limits = threadpool_limits(limits=n_threads, user_api="blas") \
        if n_threads is not None else contextlib.nullcontext()
    with limits:
        np.matmul(A, B, out=C)
        reps = 1
        while True:  # calibrate: one timing >= 20 ms
            t0 = perf_counter()
            for _ in range(reps):
                np.matmul(A, B, out=C)
            if perf_counter() - t0 >= 0.02:
                break
            reps *= 2
        best = inf
        for _ in range(5):
            t0 = perf_counter()
            for _ in range(reps):
                np.matmul(A, B, out=C)
            best = min(best, (perf_counter() - t0) / reps)
    return flops / best / 1e9


# --------------------------------------------------------------------------
# Peak memory, in a fresh subprocess
# --------------------------------------------------------------------------
def _status_kb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def _reset_peak_rss():
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def _malloc_trim():
    """Give freed heap memory back to the OS (glibc), so RSS = live memory."""
    import ctypes

    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _peak_of_fit(est, X):
    gc.collect()
    _malloc_trim()
    _reset_peak_rss()
    base_kb = _status_kb("VmHWM")
    file_kb = _status_kb("RssFile")
    timed_fit(est, X)
    peak_kb = _status_kb("VmHWM")
    # Pages of shared libraries (OpenBLAS/LAPACK, the kernels' own code) read
    # in for the first time also raise the peak RSS; they are file-backed,
    # shared between processes and never freed during a fit, so their growth
    # is the part of the peak that is not allocated memory.
    return dict(base_kb=base_kb, peak_kb=peak_kb, extra_kb=peak_kb - base_kb,
                file_kb=_status_kb("RssFile") - file_kb, nbytes=int(X.nbytes))


def memory_child(impl, data_path, init_path, K, cov_type, max_iter, path32):
    """Runs in a fresh interpreter; prints one JSON line tagged MEMORY:.

    ``cold``: the first fit of the process.  fastgmm also reports ``warm``, a
    second fit after freed memory went back to the OS (malloc_trim), i.e.
    without the one-off runtime set-up (OpenMP threads, BLAS buffers), and,
    with ``path32``, ``f32``: a (warm) fit of the float32 data.
    """
    if impl == "fastgmm":
        import_fastgmm()
        make = lambda: make_fastgmm(K, cov_type, init, max_iter)  # noqa: E731
    else:
        import sklearn.mixture  # noqa: F401
        make = lambda: make_sklearn(K, cov_type, init, max_iter)  # noqa: E731
    z = np.load(init_path)
    init = {k: z[k] for k in z.files}
    X = np.load(data_path)  # no mmap: the data are resident, as a user's would be
    out = {"cold": _peak_of_fit(make(), X)}
    if impl == "fastgmm":
        out["warm"] = _peak_of_fit(make(), X)
        if path32 != "-":
            del X
            X = np.load(path32)
            out["f32"] = _peak_of_fit(make(), X)
    print("MEMORY:" + json.dumps(out), flush=True)


def measure_memory(impl, data_path, init_path, K, cov_type, path32=None):
    cmd = [sys.executable, str(Path(__file__).resolve()), "--_memory-child", impl,
           str(data_path), str(init_path), str(K), cov_type,
           str(MEMORY_ITERS[impl]), str(path32) if path32 else "-"]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=str(REPO))
    for line in out.stdout.splitlines():
        if line.startswith("MEMORY:"):
            return json.loads(line[len("MEMORY:"):])
    raise RuntimeError(f"memory child failed ({out.returncode}):\n{out.stdout}\n"
                       f"{out.stderr}")


# --------------------------------------------------------------------------
# Environment
# --------------------------------------------------------------------------
def environment():
    import scipy
    import sklearn
    import threadpoolctl
    fastgmm = import_fastgmm()

    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
            elif line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                simd = [f for f in ("avx2", "fma", "avx512f") if f in flags]
                cpu += " (" + ", ".join(simd or ["no AVX2"]) + ")"
                break
    try:
        import psutil
        ram = psutil.virtual_memory().total
        cores = f"{psutil.cpu_count(logical=False)} physical / " \
                f"{psutil.cpu_count(logical=True)} logical"
    except ImportError:
        ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        cores = f"{os.cpu_count()} logical"
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    buf = io.StringIO()
    cfg = fastgmm.show_config(file=buf)
    blas = [f"{lib['internal_api']} {lib.get('version')} "
            f"({lib.get('threading_layer', '?')}, {lib.get('architecture', '?')}, "
            f"{lib['num_threads']} threads) {Path(lib['filepath']).name}"
            for lib in threadpoolctl.threadpool_info() if lib["user_api"] == "blas"]
    git = "unknown"
    with contextlib.suppress(Exception):
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO,
                              capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "src"], cwd=REPO,
                               capture_output=True, text=True).stdout.strip()
        git = head + (f" (src/ has {len(dirty.splitlines())} uncommitted change(s))"
                      if dirty else " (src/ clean)")
    return dict(
        date=datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        cpu=cpu, cores=cores, affinity=affinity, ram_gib=ram / 2**30,
        python=platform.python_version(), numpy=np.__version__,
        scipy=scipy.__version__, sklearn=sklearn.__version__,
        threadpoolctl=threadpoolctl.__version__, blas=blas,
        fastgmm=fastgmm.__version__, openmp=cfg["openmp"], kernels=cfg.get("kernels"),
        default_threads=cfg["default_n_threads"], git=git,
        platform=platform.platform())


# --------------------------------------------------------------------------
# One case
# --------------------------------------------------------------------------
def run_case(name, quick, tmpdir, skip_memory, wait_budget):
    n, d, K, cov_type, with_f32 = CASES[name]
    if quick:
        n //= QUICK_DIVISOR
    res = dict(name=name, n=n, d=d, K=K, cov_type=cov_type)
    log(f"{name}: generating {n} x {d}, K={K} {cov_type}")
    X, labels = make_blobs(n, d, K, cov_type, SEED)
    init = initial_parameters(X, labels, K, cov_type, SEED)
    del labels
    res["nbytes"] = X.nbytes
    res["flops"] = flops_per_iteration(n, d, K, cov_type)

    # warm-up (thread pools, threadpoolctl controller) outside the timings
    timed_fit(make_fastgmm(K, cov_type, init, 1), X[:4096])
    X32 = X.astype(np.float32) if with_f32 else None

    load = res["load"] = {}
    blocks = [
        ("fg", "fastgmm default threads",
         lambda: bench_fastgmm(X, K, cov_type, init, None, FASTGMM_REPEATS)),
        ("fg1", "fastgmm n_threads=1",
         lambda: bench_fastgmm(X, K, cov_type, init, 1, FASTGMM_REPEATS)),
        ("fg32", "fastgmm float32",
         # X32 is deleted after the blocks have run
         lambda: bench_fastgmm(X32, K, cov_type, init, None, FASTGMM_REPEATS)),  # noqa: F821
        ("sk", "scikit-learn", lambda: bench_sklearn(X, K, cov_type, init)),
        ("np", "numpy EM", lambda: bench_numpy(X, cov_type, init)),
        ("mm", "matmul reference", lambda: matmul_gflops(d, K, np.float64)),
        ("mm1", "matmul reference, 1 thread",
         lambda: matmul_gflops(d, K, np.float64, n_threads=1)),
        ("mm32", "matmul reference, float32", lambda: matmul_gflops(d, K, np.float32)),
    ]
    for key, label, fn in blocks:
        if key.endswith("32") and not with_f32:
            continue
        if wait_budget[0] > 0:
            _, waited = wait_until_idle(min(30.0, wait_budget[0]))
            wait_budget[0] -= max(0.0, waited - 0.5)
        log(f"{name}: {label}")
        with OtherLoad() as other:
            res[key] = fn()
        load[key] = other.cores
        if other.cores > 0.1:
            log(f"{name}: WARNING other processes used {other.cores:.2f} cores "
                f"during '{label}'")
    del X32
    log(f"{name}: sec/it fastgmm {res['fg']['per_it']:.4g} (1 thr "
        f"{res['fg1']['per_it']:.4g}), sklearn {res['sk']['per_it']:.4g}, "
        f"numpy {res['np']['per_it']:.4g}")

    if not skip_memory:
        data_path = Path(tmpdir) / f"{name}.npy"
        init_path = Path(tmpdir) / f"{name}_init.npz"
        np.save(data_path, X)
        np.savez(init_path, **init)
        del X
        gc.collect()
        path32 = None
        if with_f32:
            path32 = Path(tmpdir) / f"{name}_f32.npy"
            np.save(path32, np.load(data_path).astype(np.float32))
        log(f"{name}: peak memory (fresh subprocesses)")
        res["mem"] = {
            "fastgmm": measure_memory("fastgmm", data_path, init_path, K, cov_type,
                                      path32),
            "sklearn": measure_memory("sklearn", data_path, init_path, K,
                                      cov_type)["cold"],
        }
        if path32 is not None:
            path32.unlink()
        data_path.unlink()
        init_path.unlink()
    return res


# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------
def _table(header, rows):
    out = ["| " + " | ".join(header) + " |",
           "|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def _s(x):
    return f"{x:.4f}" if x < 10 else f"{x:.2f}"


def _load(r, keys):
    v = max(r["load"].get(k, 0.0) for k in keys)
    return f"**{v:.2f}**" if v > 0.1 else f"{v:.2f}"


def _mb(kb):
    return f"{kb / 1024:.1f}"


def case_label(r, dtype="float64"):
    return f"{r['name']}: {r['n']:,} x {r['d']}, K={r['K']} {r['cov_type']}, {dtype}"


def tables(results):
    time_rows, flop_rows, lb_rows, mem_rows = [], [], [], []
    for r in results:
        fg, fg1, sk, npy = r["fg"], r["fg1"], r["sk"], r["np"]
        time_rows.append([
            case_label(r), _s(fg["per_it"]), _s(fg1["per_it"]),
            f"{fg1['per_it'] / fg['per_it']:.2f}", _s(sk["per_it"]), _s(npy["per_it"]),
            f"**{sk['per_it'] / fg['per_it']:.1f}**", f"**{npy['per_it'] / fg['per_it']:.1f}**",
            f"{fg['one_off']:.3f}", f"{fg['repeats']}/{fg1['repeats']}",
            _load(r, ("fg", "fg1", "sk", "np"))])
        gf = r["flops"] / fg["per_it"] / 1e9
        gf1 = r["flops"] / fg1["per_it"] / 1e9
        flop_rows.append([
            case_label(r), f"{r['flops'] / 1e9:.3g}", f"{gf:.1f}", f"{r['mm']:.1f}",
            f"{100 * gf / r['mm']:.0f}%", f"{gf1:.1f}", f"{r['mm1']:.1f}",
            f"{100 * gf1 / r['mm1']:.0f}%"])
        i = COMPARE_ITER - 1
        lb_fg, lb_sk, lb_np = fg["lower_bounds"][i], sk["lower_bounds"][i], \
            npy["lower_bounds"][i]
        same_threads = fg["lower_bounds"] == fg1["lower_bounds"]
        lb_rows.append([
            case_label(r), COMPARE_ITER, f"{lb_fg:.12f}", f"{abs(lb_fg - lb_sk):.1e}",
            f"{abs(lb_fg - lb_np):.1e}", f"{abs(lb_sk - lb_np):.1e}",
            "yes" if same_threads else "**no**"])
        if "fg32" in r:
            f32 = r["fg32"]
            time_rows.append([
                case_label(r, "float32"), _s(f32["per_it"]), "", "", "", "",
                "", "", f"{f32['one_off']:.3f}", f"{f32['repeats']}",
                _load(r, ("fg32",))])
            time_rows[-1][3] = f"f32 speed-up {fg['per_it'] / f32['per_it']:.2f}x"
            gf32 = r["flops"] / f32["per_it"] / 1e9
            flop_rows.append([
                case_label(r, "float32"), f"{r['flops'] / 1e9:.3g}", f"{gf32:.1f}",
                f"{r['mm32']:.1f}", f"{100 * gf32 / r['mm32']:.0f}%", "", "", ""])
            lb32 = f32["lower_bounds"][i]
            lb_rows.append([case_label(r, "float32"), COMPARE_ITER, f"{lb32:.12f}",
                            f"vs fastgmm f64: {abs(lb32 - lb_fg):.1e}", "", "", ""])
        if "mem" in r:
            m = r["mem"]
            nb = r["nbytes"]

            def pct(kb, nbytes=nb):
                return f"{100 * kb * 1024 / nbytes:.1f}%"

            fgm, fgw, skm = m["fastgmm"]["cold"], m["fastgmm"]["warm"], m["sklearn"]
            def verdict(kb):
                return "yes" if kb * 1024 <= 0.10 * nb else "**no**"

            # first fit, everything counted / its allocations (without the
            # library pages; the warm fit is judged too)
            allocs = max(fgm["extra_kb"] - fgm.get("file_kb", 0), fgw["extra_kb"])
            ok = f"{verdict(fgm['extra_kb'])} / {verdict(allocs)}"
            mem_rows.append([
                case_label(r), f"{nb / 2**20:.1f}", _mb(fgm["extra_kb"]),
                pct(fgm["extra_kb"]), _mb(fgm.get("file_kb", 0)),
                pct(fgm["extra_kb"] - fgm.get("file_kb", 0)),
                _mb(fgw["extra_kb"]), pct(fgw["extra_kb"]),
                _mb(skm["extra_kb"]), pct(skm["extra_kb"]), ok])
            if "f32" in m["fastgmm"]:
                m32 = m["fastgmm"]["f32"]
                nb32 = m32["nbytes"]
                mem_rows.append([
                    case_label(r, "float32"), f"{nb32 / 2**20:.1f}", "", "", "", "",
                    _mb(m32["extra_kb"]), pct(m32["extra_kb"], nb32), "", "",
                    "(warm) " + ("yes" if m32["extra_kb"] * 1024 <= 0.10 * nb32
                                 else "**no**")])
    time_t = _table(
        ["case", "fastgmm s/it", "fastgmm 1-thread s/it", "thread speed-up",
         "sklearn s/it", "numpy s/it", "sklearn / fastgmm", "numpy / fastgmm",
         "fastgmm one-off s", "fastgmm repeats (default/1-thr)",
         "other processes' load (cores, max)"], time_rows)
    flop_t = _table(
        ["case", "GFLOP/iter (model)", "fastgmm GFLOP/s", "matmul GFLOP/s",
         "fastgmm / matmul", "fastgmm 1-thr GFLOP/s", "matmul 1-thr GFLOP/s",
         "1-thr fastgmm / matmul"], flop_rows)
    lb_t = _table(
        ["case", "iteration", "lower bound (fastgmm)", "abs(fastgmm - sklearn)",
         "abs(fastgmm - numpy)", "abs(sklearn - numpy)",
         "fastgmm 1-thr == default (bitwise, all iterations)"], lb_rows)
    mem_t = _table(
        ["case", "input MB", "fastgmm extra peak MB", "% of input",
         "of which library pages MB", "% of input without them",
         "warm fastgmm MB", "% of input", "sklearn extra peak MB", "% of input",
         "fastgmm <= 10%: all / allocations"], mem_rows) if mem_rows else None
    return time_t, flop_t, lb_t, mem_t


def machine_lines(env):
    """The report's "Machine and versions" bullets (also bench_bgmm's)."""
    return [
        f"* CPU: {env['cpu']}; cores: {env['cores']} (usable by this process: "
        f"{env['affinity']}); RAM: {env['ram_gib']:.1f} GiB",
        f"* OS: {env['platform']}",
        f"* Python {env['python']}, NumPy {env['numpy']}, SciPy {env['scipy']}, "
        f"scikit-learn {env['sklearn']}, threadpoolctl {env['threadpoolctl']}",
        "* BLAS (threadpoolctl): " + "; ".join(env["blas"]),
        f"* fastgmm {env['fastgmm']} (git {env['git']}): OpenMP "
        f"{'on' if env['openmp'] else 'off'}, default n_threads {env['default_threads']}, "
        f"kernel build {env.get('kernels')}",
    ]


def report(env, results, quick, runtime, argv):
    time_t, flop_t, lb_t, mem_t = tables(results)
    lines = [
        "# fastgmm EM benchmark" + (" (--quick: sizes / 20, smoke test only)" if quick else ""),
        "",
        f"Generated by `python benchmarks/{Path(__file__).name}"
        f"{' ' + ' '.join(argv) if argv else ''}` on {env['date']}; "
        f"total run time {runtime / 60:.1f} min.  Other processes used "
        f"{env['run_load']:.2f} cores on average during the run (the script waited "
        f"{env['waited']:.0f} s for idle CPUs).",
        "",
        "## Machine and versions",
        "",
        *machine_lines(env),
        "",
        "## Method",
        "",
        "* Data: K well-separated Gaussian blobs with random covariances "
        f"(seed {SEED}), float64; float32 runs use the same data cast to float32.",
        "* One set of initial parameters per case (uniform weights, K random rows "
        "as means, drawn one from each blob, the data's covariance for every component) "
        "is given to all "
        "three implementations (`weights_init`, `means_init`, `precisions_init`; "
        "covariances for the NumPy EM), `tol=0`, `reg_covar=1e-6`.",
        f"* Seconds per iteration = (t(hi) - t(lo)) / (hi - lo): fastgmm max_iter "
        f"{FASTGMM_ITERS[0]} and {FASTGMM_ITERS[1]} (best of up to {FASTGMM_REPEATS} "
        "repeats; no new repeat once a configuration's repeats took "
        f"{FASTGMM_REPEAT_BUDGET:.0f} s), scikit-learn max_iter {SKLEARN_ITERS[0]} and "
        f"{SKLEARN_ITERS[1]} (once each; `init_params='random_from_data'` to keep its "
        "unavoidable initial M-step cheap), NumPy EM n_iter "
        f"{NUMPY_ITERS[0]} and {NUMPY_ITERS[1]} (once each).  \"one-off\" is the "
        "intercept t(lo) - lo * (s/it): validation, set-up and anything outside "
        "the iterations.",
        "* \"other processes' load\" is the CPU time used by other processes "
        "during the timed fits (from /proc/stat, in cores, the maximum over "
        "fastgmm, fastgmm 1-thread, scikit-learn and NumPy); a bold value "
        "(> 0.1) means the timings of that row were disturbed.  Before each "
        "timed block the script waits up to 30 s for an idle machine (at most "
        "--max-wait s in the whole run).",
        "* fastgmm uses its default thread count (all cores) unless marked "
        "1-thread; scikit-learn and NumPy use NumPy's BLAS with its default threads.",
        "* Peak memory: a fresh subprocess loads the data from a `.npy` (no mmap), "
        "writes 5 to `/proc/self/clear_refs` (peak RSS := current RSS), fits "
        f"(fastgmm {MEMORY_ITERS['fastgmm']} iterations, scikit-learn "
        f"{MEMORY_ITERS['sklearn']} iteration) and reports VmHWM after minus VmHWM "
        "before, for the first fit of the process.  \"library pages\" is how much "
        "the fit's file-backed RSS (`RssFile`) grew: shared-library code and data "
        "read in on first use (OpenBLAS/LAPACK, the kernels), shared between "
        "processes and not allocated by the fit; the column after it is the "
        "first fit's extra peak without them.  \"warm\" is a second fastgmm "
        "fit in the same process after freed memory went back to the OS "
        "(`malloc_trim`), i.e. without one-off runtime set-up (OpenMP threads, "
        "BLAS buffers); the float32 rows are such a warm fit of the float32 data "
        "in the same process.  Target: fastgmm's extra peak <= 10% of the input, "
        "judged twice: on the first fit with everything counted, and on the "
        "fit's allocations (the first fit without library pages, and the warm "
        "fit).",
        "",
        "## Flop model",
        "",
        FLOP_MODEL.rstrip(),
        "",
        "## Seconds per EM iteration",
        "",
        time_t,
        "",
        "## Achieved GFLOP/s",
        "",
        flop_t,
        "",
        "## Lower bounds after the same number of iterations (sanity check)",
        "",
        "Mean log-likelihood of the E-step of iteration "
        f"{COMPARE_ITER} (scikit-learn's `lower_bounds_` convention).  fastgmm float32 "
        "is compared with fastgmm float64.",
        "",
        lb_t,
        "",
    ]
    if mem_t:
        lines += ["## Peak memory of a fit", "", mem_t, ""]
    return "\n".join(lines)


# --------------------------------------------------------------------------
def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--_memory-child":
        impl, data, init, K, cov_type, it, path32 = argv[1:8]
        memory_child(impl, data, init, int(K), cov_type, int(it), path32)
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", default=",".join(CASES),
                        help=f"comma-separated subset of {','.join(CASES)}")
    parser.add_argument("--quick", action="store_true",
                        help=f"sizes divided by {QUICK_DIVISOR} (smoke test)")
    parser.add_argument("--output", default=str(HERE / "RESULTS.md"),
                        help="markdown report (default benchmarks/RESULTS.md)")
    parser.add_argument("--skip-memory", action="store_true",
                        help="do not measure peak memory")
    parser.add_argument("--max-wait", type=float, default=None,
                        help="seconds the whole run may spend waiting, before timed "
                             "blocks (30 s at most each), for other processes to "
                             "leave the CPUs idle (default 120, --quick 10; 0: never)")
    args = parser.parse_args(argv)
    if args.max_wait is None:
        args.max_wait = 10.0 if args.quick else 120.0
    names = [c.strip() for c in args.cases.split(",") if c.strip()]
    unknown = [c for c in names if c not in CASES]
    if unknown:
        parser.error(f"unknown case(s) {unknown}; choose from {list(CASES)}")

    t_start = perf_counter()
    run_load = OtherLoad().__enter__()
    env = environment()
    log(f"fastgmm {env['fastgmm']} (git {env['git']}), {env['cpu']}")
    tmpdir = tempfile.mkdtemp(prefix="fastgmm-bench-", dir="/tmp")
    try:
        wait_budget = [args.max_wait]
        results = [run_case(name, args.quick, tmpdir, args.skip_memory,
                            wait_budget) for name in names]
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
    runtime = perf_counter() - t_start
    run_load.__exit__(None, None, None)
    env["run_load"] = run_load.cores
    env["waited"] = args.max_wait - wait_budget[0]
    text = report(env, results, args.quick, runtime, argv)
    Path(args.output).write_text(text)
    print(text)
    log(f"wrote {args.output}; total {runtime / 60:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
