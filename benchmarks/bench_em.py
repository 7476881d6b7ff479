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

``--suite overlap`` (report ``benchmarks/RESULTS_overlap.md``) measures what
users run (issue 15): overlapping clusters (dense responsibilities, measured)
for every covariance type (lowd-o, mid-o, highd-o, diag-o, tied-o, sph-o),
real data that ships with matplotlib and scikit-learn (hopper, digits), the
arithmetic floor at the measured peak GEMM rate, float32 against float64,
end-to-end default fits (k-means init + EM to convergence, random_state 0, 1,
2) with predict_proba, side by side with scikit-learn and, if pip ``mlpack``
is installed, mlpack's ``gmm_train``, and a table of the issue's targets with
the measured values.

Usage::

    python benchmarks/bench_em.py [--cases lowd,mid,highd,diag] [--quick]
                                  [--output benchmarks/RESULTS.md]
    python benchmarks/bench_em.py --suite overlap [--cases ...] [--e2e ...]
                                  [--divisor N] [--no-mlpack]
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
# The "overlap" suite (--suite overlap): overlapping clusters (dense
# responsibilities, see make_overlapping), tied and spherical cases and real
# data that ships with an installed package.
# name: (n_samples, n_features, n_components, covariance_type, float32 run?,
#        data: 'overlap', 'hopper' or 'digits'; n_samples None: all rows)
OVERLAP_CASES = {
    "lowd-o": (1_000_000, 2, 8, "full", False, "overlap"),
    "mid-o": (300_000, 16, 16, "full", True, "overlap"),
    "highd-o": (100_000, 64, 32, "full", True, "overlap"),
    "diag-o": (1_000_000, 32, 32, "diag", True, "overlap"),
    "tied-o": (1_000_000, 16, 16, "tied", True, "overlap"),
    "sph-o": (1_000_000, 16, 32, "spherical", True, "overlap"),
    "hopper": (None, 3, 16, "full", False, "hopper"),
    "digits": (None, 64, 10, "full", False, "digits"),
}
SUITES = {"blobs": CASES, "overlap": OVERLAP_CASES}
# Cases that also get end-to-end default fits (overlap suite).
E2E_CASES = ("mid-o", "diag-o", "hopper", "digits")
E2E_SEEDS = (0, 1, 2)
# Typical distance between two overlapping clusters' centres, in units of
# their standard deviations (about 1); see make_overlapping.
SEPARATION = 4.0
# Rows on which the responsibilities' density is measured.
DENSITY_ROWS = 20_000
# A row's responsibility counts as "above the threshold" from this value.
DENSITY_THRESHOLD = 1e-3
# Side of the square matrices of the peak GEMM measurement (--quick: half).
PEAK_GEMM_SIZE = 2048

# Issue 15's targets (float64, 2 cores, overlapping data).
TARGET_SPEEDUP = {"mid-o": 45.0, "highd-o": 14.0, "diag-o": 15.0, "tied-o": 40.0,
                  "sph-o": 40.0}  # per EM iteration, scikit-learn / fastgmm
TARGET_FLOOR = 1.5  # fastgmm time / arithmetic floor, 'full' and 'diag'
TARGET_FLOOR_CASES = ("lowd-o", "mid-o", "highd-o", "diag-o")
TARGET_F32 = 1.6  # float64 / float32 time per iteration, d >= 16
TARGET_E2E = {"mid-o": 30.0, "diag-o": 12.0}  # default fit, scikit-learn / fastgmm
# Mean lower bounds (per-sample log-likelihood) this close count as equal.
LB_ROUNDING = 1e-8
TARGET_MEMORY = 0.10  # fastgmm's extra peak memory / input, as in the blobs suite
QUICK_DIVISOR = 20

# Iteration counts whose time difference gives the per-iteration time.
FASTGMM_ITERS = (2, 12)
SKLEARN_ITERS = (1, 4)
# Best of this many runs of each scikit-learn count on the large cases, after
# one untimed warm-up fit: its first fit in a process pays page faults for
# its n x K temporaries, which made a single (1, 3) difference swing from
# 0.14 to 1.6 s per iteration between runs on the diag case.
SKLEARN_REPEATS = 2
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
* tied (overlap suite): n*(2*d^2 + 5*K*d + 5*K): x P once (d^2 + d)
  and per component (mu_k P subtracted, squared norm: 3d), one scatter
  (d^2 + d) and first moments (2Kd).
* spherical (overlap suite): n*K*(6*d + 5): centre and square-accumulate
  (3d), first moment (2d), squared norm for the variance (d), plus ~5.

GFLOP/s = model flops per iteration / seconds per iteration.  The
arithmetic floor is the time those flops take at a measured GEMM rate of the
same dtype and thread count (NumPy's BLAS, best of several timings); the
report gives fastgmm's time / floor = GEMM GFLOP/s / fastgmm GFLOP/s for two
rates:

* same-size GEMM: A (16384 x d) @ B (d x K*d), i.e. one 2-D GEMM doing all K
  per-component products of 64 chunks of 256 rows at once, counted as
  2*16384*d*K*d flops (what the kernels' block products can hope for at
  this d and K);
* peak GEMM: a square 2048 x 2048 product (1024 with --quick), the
  machine's practical DGEMM/SGEMM peak.

The model counts the same flops for dense and sparse responsibilities; with
sparse ones (many r_ik exactly 0) the kernels skip part of the M-step, so
those rows are reported in a separate table.
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


def make_overlapping(n, d, K, cov_type, seed):
    """K overlapping Gaussian clusters of ``cov_type`` (float64).

    Centres are drawn N(0, s^2 I) with s = SEPARATION / sqrt(2 d), so two
    centres are typically SEPARATION (4) standard deviations apart and each
    cluster's nearest neighbours much closer: neighbouring clusters overlap
    and the responsibilities stay soft (the report measures how soft).  The
    covariances have eigenvalues exp(U(-c, c)) with c = ln 2 * min(1,
    sqrt(16 / d)), i.e. in [0.5, 2] up to d = 16 and narrower above, so that
    in high dimension the clusters' differing shapes alone do not separate
    them.  'full': random orientation per cluster; 'tied': one such matrix for
    all; 'diag': axis-aligned; 'spherical': one variance per cluster.
    Cluster sizes are multinomial with weights half uniform, half
    Dirichlet(4); rows are shuffled.  Returns the data and each row's label.
    """
    rng = np.random.default_rng(seed)
    c = np.log(2.0) * min(1.0, np.sqrt(16.0 / d))
    centres = rng.normal(scale=SEPARATION / np.sqrt(2.0 * d), size=(K, d))
    weights = 0.5 / K + 0.5 * rng.dirichlet(np.full(K, 4.0))
    counts = rng.multinomial(n, weights / weights.sum())

    def factor():  # A with A A^T a random covariance
        Q, _ = np.linalg.qr(rng.standard_normal((d, d)))
        return Q * np.sqrt(np.exp(rng.uniform(-c, c, size=d)))

    tied = factor() if cov_type == "tied" else None
    X = np.empty((n, d))
    start = 0
    for k in range(K):
        Z = rng.standard_normal((counts[k], d))
        if cov_type == "full":
            block = Z @ factor().T
        elif cov_type == "tied":
            block = Z @ tied.T
        elif cov_type == "diag":
            block = Z * np.sqrt(np.exp(rng.uniform(-c, c, size=d)))
        else:
            block = Z * np.sqrt(np.exp(rng.uniform(-c, c)))
        X[start:start + counts[k]] = block + centres[k]
        start += counts[k]
    labels = np.repeat(np.arange(K), counts)
    perm = rng.permutation(n)
    return np.ascontiguousarray(X[perm]), labels[perm]


def load_real(kind, divisor=1):
    """Real data that ships with an installed package (float64).

    'hopper': the RGB colours of matplotlib's sample image grace_hopper.jpg
    (512 x 600 pixels), scaled to [0, 1]; 'digits': scikit-learn's digits
    (1,797 x 64).  ``divisor`` > 1 keeps every divisor-th row (every 4th at
    most for digits: a smoke test only).
    """
    if kind == "hopper":
        import matplotlib.cbook
        import matplotlib.image

        with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as f:
            img = matplotlib.image.imread(f, format="jpg")
        X = img.reshape(-1, img.shape[-1])[:, :3].astype(np.float64) / 255.0
    elif kind == "digits":
        from sklearn.datasets import load_digits

        X = load_digits().data.astype(np.float64)
        divisor = min(divisor, 4)
    else:
        raise ValueError(kind)
    return np.ascontiguousarray(X[::divisor])


def initial_parameters(X, labels, K, cov_type, seed):
    """Uniform weights, K random rows as means, the data's covariance.

    The K rows are drawn one from each blob: with rows drawn from the whole
    data set some blobs get two means and others none, and within a dozen
    iterations a component can collapse onto a handful of points (singular
    covariance; float32 fits then stop with an ill-defined covariance).
    Without labels (real data) they are K distinct random rows.
    """
    from numpy_reference import precisions_from_covariances

    rng = np.random.default_rng(seed + 1)
    n, d = X.shape
    weights = np.full(K, 1.0 / K)
    if labels is not None:
        rows = [rng.choice(np.flatnonzero(labels == k)) for k in range(K)]
    else:  # real data repeat rows (pixel colours): K distinct ones
        _, first = np.unique(X, axis=0, return_index=True)
        rows = rng.choice(first, size=K, replace=False)
    means = X[rows].copy()
    if cov_type in ("full", "tied"):
        cov = np.cov(X, rowvar=False).reshape(d, d)
        covariances = cov if cov_type == "tied" else np.repeat(cov[None], K, axis=0)
    elif cov_type == "diag":
        covariances = np.repeat(X.var(axis=0)[None], K, axis=0)
    elif cov_type == "spherical":
        covariances = np.full(K, X.var(axis=0).mean())
    else:
        raise ValueError(cov_type)
    if labels is None:  # real data may have constant features (digits' corners)
        if cov_type in ("full", "tied"):
            covariances = covariances + REG_COVAR * np.eye(d)
        else:
            covariances = covariances + REG_COVAR
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
                means=np.asarray(hi_est.means_), model=hi_est)


def bench_sklearn(X, K, cov_type, init, iters=SKLEARN_ITERS, repeats=1):
    """scikit-learn's seconds per iteration (best of ``repeats``)."""
    times, lbs = {it: inf for it in iters}, None
    timed_fit(make_sklearn(K, cov_type, init, iters[0]), X)   # warm-up, untimed
    t0 = perf_counter()
    done = 0
    for _ in range(repeats):
        for it in iters:
            est = make_sklearn(K, cov_type, init, it)
            times[it] = min(times[it], timed_fit(est, X))
            if it == max(iters):
                lbs = list(getattr(est, "lower_bounds_", [est.lower_bound_]))
                if len(lbs) != it:  # older scikit-learn: only the last one
                    lbs = [np.nan] * (it - 1) + [est.lower_bound_]
            del est
        done += 1
        if perf_counter() - t0 > FASTGMM_REPEAT_BUDGET:
            break
    per_it, one_off = per_iteration(times, iters)
    return dict(per_it=per_it, one_off=one_off, repeats=done, lower_bounds=lbs)


def responsibility_density(est, X, rows=DENSITY_ROWS, seed=SEED):
    """How dense a fitted model's responsibilities are, on <= ``rows`` rows.

    ``nonzero``: fraction of the r_ik that are not exactly 0 (what the
    kernels could skip: exp underflows below about -708 in float64, -87 in
    float32); ``above``: mean number of components per row with
    r_ik > DENSITY_THRESHOLD; ``max_r``: mean of each row's largest r_ik.
    """
    rng = np.random.default_rng(seed + 7)
    sub = X if X.shape[0] <= rows else X[np.sort(rng.choice(X.shape[0], rows,
                                                            replace=False))]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        R = np.asarray(est.predict_proba(sub), dtype=np.float64)
    return dict(nonzero=float(np.mean(R != 0.0)),
                above=float(np.mean((R > DENSITY_THRESHOLD).sum(axis=1))),
                max_r=float(R.max(axis=1).mean()), K=R.shape[1])


def density_label(dens):
    """'dense' when most r_ik are nonzero (nothing for the kernels to skip)."""
    return "dense" if dens["nonzero"] >= 0.5 else "sparse"


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


def peak_gemm_gflops(dtype, n_threads=None, size=PEAK_GEMM_SIZE):
    """GFLOP/s of a square ``size`` GEMM in ``dtype`` (best of several): the
    machine's practical peak with NumPy's BLAS at that thread count."""
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(2)
    A = rng.standard_normal((size, size)).astype(dtype)
    B = rng.standard_normal((size, size)).astype(dtype)
    C = np.empty((size, size), dtype=dtype)
    limits = threadpool_limits(limits=n_threads, user_api="blas") \
        if n_threads is not None else contextlib.nullcontext()
    best = inf
    with limits:
        np.matmul(A, B, out=C)
        for _ in range(5):
            t0 = perf_counter()
            np.matmul(A, B, out=C)
            best = min(best, perf_counter() - t0)
    return 2.0 * size ** 3 / best / 1e9


# --------------------------------------------------------------------------
# End-to-end default fits (overlap suite)
# --------------------------------------------------------------------------
def e2e_library(lib, X, K, cov_type, seed):
    """One default fit (init + EM to convergence) and predict_proba."""
    if lib == "fastgmm":
        from fastgmm import GaussianMixture
    else:
        from sklearn.mixture import GaussianMixture
    est = GaussianMixture(n_components=K, covariance_type=cov_type, random_state=seed)
    fit_s = timed_fit(est, X)
    gc.collect()
    t0 = perf_counter()
    est.predict_proba(X)
    proba_s = perf_counter() - t0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        score = float(est.score(X))
    return dict(fit_s=fit_s, proba_s=proba_s, n_iter=int(est.n_iter_),
                converged=bool(est.converged_), lower_bound=float(est.lower_bound_),
                score=score, model=est)


def mlpack_version():
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("mlpack")
    except PackageNotFoundError:
        return None


def mlpack_applies(cov_type):
    return cov_type in ("full", "diag")


def mlpack_child(data_path, K, cov_type, seed):
    """Runs in a fresh interpreter (mlpack loads its own OpenBLAS and OpenMP
    runtime, kept away from the other timings); prints one JSON line."""
    import mlpack

    X = np.load(data_path)
    n = X.shape[0]
    gc.collect()
    t0 = perf_counter()
    out = mlpack.gmm_train(
        input_=X, gaussians=K, diagonal_covariance=cov_type == "diag",
        seed=seed + 1, tolerance=1e-3 * n, max_iterations=100,
        kmeans_max_iterations=300)
    fit_s = perf_counter() - t0
    p = mlpack.gmm_probability(input_=X, input_model=out["output_model"])["output"]
    with np.errstate(divide="ignore"):
        score = float(np.mean(np.log(np.ravel(p))))
    print("MLPACK:" + json.dumps(dict(fit_s=fit_s, score=score)), flush=True)


def e2e_mlpack(data_path, K, cov_type, seed):
    cmd = [sys.executable, str(Path(__file__).resolve()), "--_mlpack-child",
           str(data_path), str(K), cov_type, str(seed)]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=str(REPO))
    for line in out.stdout.splitlines():
        if line.startswith("MLPACK:"):
            return json.loads(line[len("MLPACK:"):])
    tail = (out.stderr.strip().splitlines() or ["no output"])[-1]
    return dict(error=f"exit {out.returncode}: {tail[:200]}")


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
        platform=platform.platform(), mlpack=mlpack_version())


# --------------------------------------------------------------------------
# One case
# --------------------------------------------------------------------------
def case_spec(name):
    """(n_samples or None, d, K, covariance_type, float32 run?, data kind)."""
    if name in CASES:
        return (*CASES[name], "blobs")
    return OVERLAP_CASES[name]


def case_data(name, divisor):
    """The case's data (float64) and true labels (None for real data).

    Synthetic cases keep at least 4 K d rows when divided (fewer leave too
    few rows per component for a d x d covariance: float32 fits collapse).
    """
    n, d, K, cov_type, _, kind = case_spec(name)
    if divisor > 1 and kind in ("blobs", "overlap"):
        n = max(n // divisor, min(n, 4 * K * d))
    if kind == "blobs":
        return make_blobs(n, d, K, cov_type, SEED)
    if kind == "overlap":
        return make_overlapping(n, d, K, cov_type, SEED)
    return load_real(kind, divisor), None


def _run_block(res, key, label, fn, wait_budget, optional=False):
    """Run one timed block after waiting (budget permitting) for idle CPUs.

    An ``optional`` block that raises is logged, noted in ``res['errors']``
    and returns None instead of ending the run.
    """
    if wait_budget[0] > 0:
        _, waited = wait_until_idle(min(30.0, wait_budget[0]))
        wait_budget[0] -= max(0.0, waited - 0.5)
    log(f"{res['name']}: {label}")
    with OtherLoad() as other:
        try:
            out = fn()
        except Exception as exc:
            if not optional:
                raise
            msg = f"{type(exc).__name__}: {str(exc)[:300]}"
            log(f"{res['name']}: '{label}' failed ({msg})")
            res.setdefault("errors", []).append(f"{label}: {msg}")
            out = None
    res["load"][key] = max(res["load"].get(key, 0.0), other.cores)
    if other.cores > 0.1:
        log(f"{res['name']}: WARNING other processes used {other.cores:.2f} cores "
            f"during '{label}'")
    return out


def run_case(name, opts):
    """Per-iteration blocks (if ``name in opts['cases']``), end-to-end fits (if
    ``name in opts['e2e']``) and peak memory of one case."""
    _, d, K, cov_type, with_f32, kind = case_spec(name)
    per_iter = name in opts["cases"]
    wait_budget = opts["wait_budget"]
    X, labels = case_data(name, opts["divisor"])
    n = X.shape[0]
    res = dict(name=name, n=n, d=d, K=K, cov_type=cov_type, kind=kind, load={})
    log(f"{name}: {n} x {d}, K={K} {cov_type} ({kind} data)")
    res["nbytes"] = X.nbytes
    res["flops"] = flops_per_iteration(n, d, K, cov_type)
    init = initial_parameters(X, labels, K, cov_type, SEED)
    del labels

    if per_iter:
        # warm-up (thread pools, threadpoolctl controller) outside the timings
        timed_fit(make_fastgmm(K, cov_type, init, 1), X[:4096])
        X32 = X.astype(np.float32) if with_f32 else None
        # scikit-learn takes seconds per iteration on the large cases (best
        # of SKLEARN_REPEATS runs of 1 and 4 iterations); on small ones, as
        # many as fastgmm.
        sk_iters, sk_repeats = (SKLEARN_ITERS, SKLEARN_REPEATS) if res["flops"] >= 2e8 \
            else (FASTGMM_ITERS, FASTGMM_REPEATS)
        blocks = [
            ("fg", "fastgmm default threads",
             lambda: bench_fastgmm(X, K, cov_type, init, None, FASTGMM_REPEATS)),
            ("fg1", "fastgmm n_threads=1",
             lambda: bench_fastgmm(X, K, cov_type, init, 1, FASTGMM_REPEATS)),
            ("fg32", "fastgmm float32",
             lambda: bench_fastgmm(X32, K, cov_type, init, None, FASTGMM_REPEATS)),
            ("sk", "scikit-learn",
             lambda: bench_sklearn(X, K, cov_type, init, sk_iters, sk_repeats)),
            ("np", "numpy EM", lambda: bench_numpy(X, cov_type, init)),
            ("mm", "matmul reference", lambda: matmul_gflops(d, K, np.float64)),
            ("mm1", "matmul reference, 1 thread",
             lambda: matmul_gflops(d, K, np.float64, n_threads=1)),
            ("mm32", "matmul reference, float32",
             lambda: matmul_gflops(d, K, np.float32)),
        ]
        for key, label, fn in blocks:
            if key.endswith("32") and not with_f32:
                continue
            if key == "np" and not opts["with_numpy"]:
                continue
            out = _run_block(res, key, label, fn, wait_budget,
                             optional=key == "fg32")
            if out is not None:
                res[key] = out
        # How dense the responsibilities are, measured with the fitted models.
        res["dens"] = responsibility_density(res["fg"].pop("model"), X)
        res["fg1"].pop("model")
        if "fg32" in res:
            res["dens32"] = responsibility_density(res["fg32"].pop("model"), X32)
        del X32
        npy = f", numpy {res['np']['per_it']:.4g}" if "np" in res else ""
        log(f"{name}: sec/it fastgmm {res['fg']['per_it']:.4g} (1 thr "
            f"{res['fg1']['per_it']:.4g}), sklearn {res['sk']['per_it']:.4g}{npy}; "
            f"responsibilities nonzero {100 * res['dens']['nonzero']:.1f}%, "
            f"{res['dens']['above']:.2f} of {K} per row > {DENSITY_THRESHOLD:g}")

    data_path = Path(opts["tmpdir"]) / f"{name}.npy"
    if name in opts["e2e"]:
        res["e2e"] = run_e2e(res, X, data_path, opts)

    if per_iter and not opts["skip_memory"]:
        init_path = Path(opts["tmpdir"]) / f"{name}_init.npz"
        if not data_path.exists():
            np.save(data_path, X)
        np.savez(init_path, **init)
        del X
        gc.collect()
        path32 = None
        if "fg32" in res:
            path32 = Path(opts["tmpdir"]) / f"{name}_f32.npy"
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
        init_path.unlink()
    if data_path.exists():
        data_path.unlink()
    return res


def run_e2e(res, X, data_path, opts):
    """End-to-end default fits of fastgmm, scikit-learn (and mlpack) for every
    seed, and predict_proba on the fitted models."""
    name, K, cov_type = res["name"], res["K"], res["cov_type"]
    out = {"fastgmm": [], "sklearn": [], "mlpack": [], "mlpack_note": None}
    use_mlpack = opts["mlpack"] and mlpack_applies(cov_type)
    if not opts["mlpack"]:
        out["mlpack_note"] = opts["mlpack_missing"]
    elif not use_mlpack:
        out["mlpack_note"] = f"n/a: gmm_train has no '{cov_type}' covariance"
    if use_mlpack:
        np.save(data_path, X)
    for seed in opts["seeds"]:
        for lib in ("fastgmm", "sklearn"):
            r = _run_block(res, f"e2e_{lib}", f"{lib} default fit, random_state={seed}",
                           lambda lib=lib: e2e_library(lib, X, K, cov_type, seed),
                           opts["wait_budget"])
            model = r.pop("model")
            if lib == "fastgmm" and seed == opts["seeds"][0]:
                out["dens"] = responsibility_density(model, X)
            del model
            log(f"{name}: {lib} seed {seed}: {r['fit_s']:.3f} s, {r['n_iter']} "
                f"iterations, lower bound {r['lower_bound']:.6f}")
            out[lib].append(r)
        if use_mlpack and seed in opts["mlpack_seeds"]:
            r = _run_block(res, "e2e_mlpack", f"mlpack gmm_train, seed {seed + 1}",
                           lambda: e2e_mlpack(data_path, K, cov_type, seed),
                           opts["wait_budget"])
            log(f"{name}: mlpack seed {seed}: {r}")
            out["mlpack"].append(r)
    return out


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


def _x(v):
    return "n/a" if np.isnan(v) else f"{v:.2f}x"


def _met(ok):
    return "yes" if ok else "**no**"


def density_cell(dens):
    return (f"{density_label(dens)} ({100 * dens['nonzero']:.0f}% nonzero, "
            f"{dens['above']:.1f}/{dens['K']} > {DENSITY_THRESHOLD:g})")


def tables(results, peaks):
    """The per-iteration tables; ``peaks``: peak GEMM GFLOP/s by key
    ('float64', 'float64_1thr', 'float32')."""
    time_rows, lb_rows, mem_rows, dens_rows, f32_rows = [], [], [], [], []
    flop_rows = {"dense": [], "sparse": []}
    for r in results:
        if "fg" not in r:  # end-to-end only
            continue
        fg, fg1, sk, npy = r["fg"], r["fg1"], r["sk"], r.get("np")
        time_rows.append([
            case_label(r), _s(fg["per_it"]), _s(fg1["per_it"]),
            f"{fg1['per_it'] / fg['per_it']:.2f}", _s(sk["per_it"]),
            _s(npy["per_it"]) if npy else "n/a",
            f"**{sk['per_it'] / fg['per_it']:.1f}**",
            f"**{npy['per_it'] / fg['per_it']:.1f}**" if npy else "n/a",
            f"{fg['one_off']:.3f}", f"{fg['repeats']}/{fg1['repeats']}",
            _load(r, ("fg", "fg1", "sk", "np"))])
        gf = r["flops"] / fg["per_it"] / 1e9
        gf1 = r["flops"] / fg1["per_it"] / 1e9
        pk, pk1 = peaks.get("float64", np.nan), peaks.get("float64_1thr", np.nan)
        label = density_label(r["dens"])
        flop_rows[label].append([
            case_label(r), f"{100 * r['dens']['nonzero']:.0f}%",
            f"{r['flops'] / 1e9:.3g}", f"{gf:.1f}", f"{r['mm']:.1f}",
            _x(r["mm"] / gf), f"{pk:.1f}", _x(pk / gf), f"{gf1:.1f}",
            f"{_x(r['mm1'] / gf1)} / {_x(pk1 / gf1)}"])
        dens_rows.append([case_label(r), *_density_cells(r["dens"])])
        i = COMPARE_ITER - 1
        lb_fg, lb_sk = fg["lower_bounds"][i], sk["lower_bounds"][i]
        lb_np = npy["lower_bounds"][i] if npy else np.nan
        same_threads = fg["lower_bounds"] == fg1["lower_bounds"]
        lb_rows.append([
            case_label(r), COMPARE_ITER, f"{lb_fg:.12f}", f"{abs(lb_fg - lb_sk):.1e}",
            f"{abs(lb_fg - lb_np):.1e}" if npy else "n/a",
            f"{abs(lb_sk - lb_np):.1e}" if npy else "n/a",
            "yes" if same_threads else "**no**"])
        if "fg32" in r:
            f32 = r["fg32"]
            speedup = fg["per_it"] / f32["per_it"]
            time_rows.append([
                case_label(r, "float32"), _s(f32["per_it"]), "", "", "", "",
                "", "", f"{f32['one_off']:.3f}", f"{f32['repeats']}",
                _load(r, ("fg32",))])
            time_rows[-1][3] = f"f32 speed-up {speedup:.2f}x"
            gf32 = r["flops"] / f32["per_it"] / 1e9
            pk32 = peaks.get("float32", np.nan)
            flop_rows[density_label(r["dens32"])].append([
                case_label(r, "float32"), f"{100 * r['dens32']['nonzero']:.0f}%",
                f"{r['flops'] / 1e9:.3g}", f"{gf32:.1f}", f"{r['mm32']:.1f}",
                _x(r["mm32"] / gf32), f"{pk32:.1f}", _x(pk32 / gf32), "", ""])
            dens_rows.append([case_label(r, "float32"), *_density_cells(r["dens32"])])
            lb32 = f32["lower_bounds"][i]
            lb_rows.append([case_label(r, "float32"), COMPARE_ITER, f"{lb32:.12f}",
                            f"vs fastgmm f64: {abs(lb32 - lb_fg):.1e}", "", "", ""])
            applies = r["d"] >= 16
            f32_rows.append([
                case_label(r, "float32 vs float64"), _s(fg["per_it"]),
                _s(f32["per_it"]), f"**{speedup:.2f}x**",
                f">= {TARGET_F32}x" if applies else "(d < 16)",
                _met(speedup >= TARGET_F32) if applies else ""])
        if "mem" in r:
            mem_rows += _memory_rows(r)
    header_flop = [
        "case", "nonzero r_ik", "GFLOP/iter (model)", "fastgmm GFLOP/s",
        "same-size GEMM GFLOP/s", "time / floor (same-size GEMM)",
        "peak GEMM GFLOP/s", "time / floor (peak GEMM)", "fastgmm 1-thr GFLOP/s",
        "1-thr time / floor (same-size / peak)"]
    out = dict(
        time=_table(
            ["case", "fastgmm s/it", "fastgmm 1-thread s/it", "thread speed-up",
             "sklearn s/it", "numpy s/it", "sklearn / fastgmm", "numpy / fastgmm",
             "fastgmm one-off s", "fastgmm repeats (default/1-thr)",
             "other processes' load (cores, max)"], time_rows),
        flop_dense=_table(header_flop, flop_rows["dense"]) if flop_rows["dense"]
        else None,
        flop_sparse=_table(header_flop, flop_rows["sparse"]) if flop_rows["sparse"]
        else None,
        dens=_table(
            ["case", "r_ik != 0", f"components per row with r_ik > {DENSITY_THRESHOLD:g}",
             "mean max_k r_ik", "responsibilities"], dens_rows),
        lb=_table(
            ["case", "iteration", "lower bound (fastgmm)", "abs(fastgmm - sklearn)",
             "abs(fastgmm - numpy)", "abs(sklearn - numpy)",
             "fastgmm 1-thr == default (bitwise, all iterations)"], lb_rows),
        f32=_table(["case", "float64 s/it", "float32 s/it", "float32 speed-up",
                    "target", "met?"], f32_rows) if f32_rows else None,
        mem=_table(
            ["case", "input MB", "fastgmm extra peak MB", "% of input",
             "of which library pages MB", "% of input without them",
             "warm fastgmm MB", "% of input", "sklearn extra peak MB", "% of input",
             "fastgmm <= 10%: all / allocations"], mem_rows) if mem_rows else None,
    )
    return out


def _density_cells(dens):
    return [f"{100 * dens['nonzero']:.1f}%", f"{dens['above']:.2f} of {dens['K']}",
            f"{dens['max_r']:.3f}", density_label(dens)]


def _memory_verdicts(r):
    """(all counted, allocations only) of fastgmm's first fit, <= 10% of input."""
    m, nb = r["mem"], r["nbytes"]
    fgm, fgw = m["fastgmm"]["cold"], m["fastgmm"]["warm"]
    # first fit, everything counted / its allocations (without the library
    # pages; the warm fit is judged too)
    allocs = max(fgm["extra_kb"] - fgm.get("file_kb", 0), fgw["extra_kb"])
    return (fgm["extra_kb"] * 1024 <= TARGET_MEMORY * nb,
            allocs * 1024 <= TARGET_MEMORY * nb, allocs * 1024 / nb)


def _memory_rows(r):
    m = r["mem"]
    nb = r["nbytes"]

    def pct(kb, nbytes=nb):
        return f"{100 * kb * 1024 / nbytes:.1f}%"

    fgm, fgw, skm = m["fastgmm"]["cold"], m["fastgmm"]["warm"], m["sklearn"]
    all_ok, alloc_ok, _ = _memory_verdicts(r)
    rows = [[
        case_label(r), f"{nb / 2**20:.1f}", _mb(fgm["extra_kb"]),
        pct(fgm["extra_kb"]), _mb(fgm.get("file_kb", 0)),
        pct(fgm["extra_kb"] - fgm.get("file_kb", 0)),
        _mb(fgw["extra_kb"]), pct(fgw["extra_kb"]),
        _mb(skm["extra_kb"]), pct(skm["extra_kb"]),
        f"{_met(all_ok)} / {_met(alloc_ok)}"]]
    if "f32" in m["fastgmm"]:
        m32 = m["fastgmm"]["f32"]
        nb32 = m32["nbytes"]
        rows.append([
            case_label(r, "float32"), f"{nb32 / 2**20:.1f}", "", "", "", "",
            _mb(m32["extra_kb"]), pct(m32["extra_kb"], nb32), "", "",
            "(warm) " + _met(m32["extra_kb"] * 1024 <= TARGET_MEMORY * nb32)])
    return rows


def _mean(values):
    values = [v for v in values if v is not None]
    return float(np.mean(values)) if values else np.nan


def e2e_summary(r):
    """Medians and means of one case's end-to-end fits."""
    e = r["e2e"]
    out = {}
    for lib in ("fastgmm", "sklearn"):
        runs = e[lib]
        out[lib] = dict(
            fit_s=float(np.median([x["fit_s"] for x in runs])),
            proba_s=float(np.median([x["proba_s"] for x in runs])),
            n_iter=_mean([x["n_iter"] for x in runs]),
            converged=sum(x["converged"] for x in runs),
            lower_bound=_mean([x["lower_bound"] for x in runs]),
            score=_mean([x["score"] for x in runs]), runs=len(runs))
    ok = [x for x in e["mlpack"] if "error" not in x]
    errors = [x["error"] for x in e["mlpack"] if "error" in x]
    out["mlpack"] = dict(
        fit_s=float(np.median([x["fit_s"] for x in ok])) if ok else np.nan,
        score=_mean([x["score"] for x in ok]), runs=len(ok), errors=errors,
        note=e["mlpack_note"])
    return out


def e2e_tables(results):
    rows, rows_q, notes = [], [], []
    for r in results:
        if "e2e" not in r:
            continue
        s = e2e_summary(r)
        fg, sk, ml = s["fastgmm"], s["sklearn"], s["mlpack"]
        ml_fit = _s(ml["fit_s"]) if ml["runs"] else "n/a"
        rows.append([
            case_label(r), f"{fg['runs']}", _s(fg["fit_s"]), _s(sk["fit_s"]), ml_fit,
            f"**{sk['fit_s'] / fg['fit_s']:.1f}x**",
            f"{ml['fit_s'] / fg['fit_s']:.1f}x" if ml["runs"] else "n/a",
            f"{fg['n_iter']:.1f} / {sk['n_iter']:.1f}",
            f"{fg['converged']}/{fg['runs']} / {sk['converged']}/{sk['runs']}",
            _s(fg["proba_s"]), _s(sk["proba_s"]),
            f"**{sk['proba_s'] / fg['proba_s']:.1f}x**",
            _load(r, ("e2e_fastgmm", "e2e_sklearn", "e2e_mlpack"))])
        rows_q.append([
            case_label(r), f"{fg['lower_bound']:.6f}", f"{sk['lower_bound']:.6f}",
            f"{fg['lower_bound'] - sk['lower_bound']:+.2e}",
            f"{fg['score']:.6f}", f"{sk['score']:.6f}",
            f"{ml['score']:.6f} ({ml['runs']} run(s))" if ml["runs"] else "n/a",
            density_cell(r["e2e"]["dens"])])
        if ml["note"]:
            notes.append(f"{r['name']}: mlpack {ml['note']}")
        for err in ml["errors"]:
            notes.append(f"{r['name']}: mlpack failed ({err})")
    if not rows:
        return None, None, notes
    t = _table(
        ["case", "random_states", "fastgmm fit s (median)", "sklearn fit s (median)",
         "mlpack fit s (median)", "sklearn / fastgmm", "mlpack / fastgmm",
         "iterations, mean (fastgmm / sklearn)", "converged (fastgmm / sklearn)",
         "fastgmm predict_proba s", "sklearn predict_proba s",
         "predict_proba sklearn / fastgmm", "other processes' load (cores, max)"],
        rows)
    q = _table(
        ["case", "fastgmm mean lower_bound_", "sklearn mean lower_bound_",
         "fastgmm - sklearn", "fastgmm mean score(X)", "sklearn mean score(X)",
         "mlpack mean log-likelihood", "responsibilities (fastgmm, first seed)"],
        rows_q)
    return t, q, notes


def targets_table(results, peaks):
    """Issue 15's targets, each with the measured value and a verdict."""
    rows = []
    by = {r["name"]: r for r in results}
    for name, target in TARGET_SPEEDUP.items():
        r = by.get(name)
        if r is None or "fg" not in r:
            continue
        v = r["sk"]["per_it"] / r["fg"]["per_it"]
        rows.append(["per EM iteration, sklearn / fastgmm", case_label(r),
                     f">= {target:g}x", f"{v:.1f}x", _met(v >= target)])
    for name in TARGET_FLOOR_CASES:
        r = by.get(name)
        if r is None or "fg" not in r:
            continue
        gf = r["flops"] / r["fg"]["per_it"] / 1e9
        vp, vs = peaks.get("float64", np.nan) / gf, r["mm"] / gf
        rows.append(["time / arithmetic floor (peak GEMM; same-size GEMM)",
                     case_label(r), f"<= {TARGET_FLOOR}x",
                     f"{_x(vp)}; {_x(vs)}",
                     f"{_met(vp <= TARGET_FLOOR)}; {_met(vs <= TARGET_FLOOR)}"])
    for r in results:
        if "fg32" in r and r["d"] >= 16:
            v = r["fg"]["per_it"] / r["fg32"]["per_it"]
            rows.append(["float32 speed-up over float64", case_label(r, "float32"),
                         f">= {TARGET_F32}x", f"{v:.2f}x", _met(v >= TARGET_F32)])
    for name, target in TARGET_E2E.items():
        r = by.get(name)
        if r is None or "e2e" not in r:
            continue
        s = e2e_summary(r)
        v = s["sklearn"]["fit_s"] / s["fastgmm"]["fit_s"]
        rows.append(["default fit end to end, sklearn / fastgmm (median)",
                     case_label(r), f">= {target:g}x", f"{v:.1f}x", _met(v >= target)])
    for r in results:
        if "e2e" not in r:
            continue
        s = e2e_summary(r)
        d = s["fastgmm"]["lower_bound"] - s["sklearn"]["lower_bound"]
        # same model up to rounding (digits: ~1e-10) is "at least as good"
        rows.append([f"mean final lower_bound_ over {s['fastgmm']['runs']} "
                     "random_states, fastgmm - sklearn", case_label(r),
                     f">= 0 (-{LB_ROUNDING:g} for rounding)", f"{d:+.2e}",
                     _met(d >= -LB_ROUNDING)])
    for r in results:
        if "mem" in r and r["kind"] == "overlap":
            _, ok, frac = _memory_verdicts(r)
            rows.append(["fit's extra peak memory (allocations) / input",
                         case_label(r), f"<= {100 * TARGET_MEMORY:.0f}%",
                         f"{100 * frac:.1f}%", _met(ok)])
    if not rows:
        return None
    return _table(["target", "case", "required", "measured", "met?"], rows)


def machine_lines(env):
    """The report's "Machine and versions" bullets (also bench_bgmm's)."""
    return [
        f"* CPU: {env['cpu']}; cores: {env['cores']} (usable by this process: "
        f"{env['affinity']}); RAM: {env['ram_gib']:.1f} GiB",
        f"* OS: {env['platform']}",
        f"* Python {env['python']}, NumPy {env['numpy']}, SciPy {env['scipy']}, "
        f"scikit-learn {env['sklearn']}, threadpoolctl {env['threadpoolctl']}"
        + (f", mlpack {env['mlpack']}" if env.get("mlpack") else ""),
        "* BLAS (threadpoolctl): " + "; ".join(env["blas"]),
        f"* fastgmm {env['fastgmm']} (git {env['git']}): OpenMP "
        f"{'on' if env['openmp'] else 'off'}, default n_threads {env['default_threads']}, "
        f"kernel build {env.get('kernels')}",
    ]


def _method_common(env):
    return [
        "* \"other processes' load\" is the CPU time used by other processes "
        "during the timed blocks (from /proc/stat, in cores, the maximum over "
        "the blocks of the row); a bold value "
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
        "* Responsibilities: the fitted fastgmm model of the per-iteration run "
        f"(after {FASTGMM_ITERS[1]} iterations; float32 rows: the float32 model) "
        f"gives `predict_proba` on {DENSITY_ROWS:,} random rows (all, if fewer): "
        "the share of r_ik that are not exactly 0 (what the kernels cannot skip), "
        f"the mean number of components per row with r_ik > {DENSITY_THRESHOLD:g} "
        "and the mean largest r_ik of a row.  A case is \"dense\" when at least "
        "half the r_ik are nonzero, \"sparse\" otherwise.",
        f"* Peak GEMM ({env['peak_size']} x {env['peak_size']}, NumPy's BLAS): "
        + ", ".join(f"{k} {v:.1f} GFLOP/s" for k, v in env["peaks"].items()) + ".",
    ]


def _method_per_iteration(sk_text):
    return (
        "* Seconds per iteration = (t(hi) - t(lo)) / (hi - lo): fastgmm max_iter "
        f"{FASTGMM_ITERS[0]} and {FASTGMM_ITERS[1]} (best of up to {FASTGMM_REPEATS} "
        "repeats; no new repeat once a configuration's repeats took "
        f"{FASTGMM_REPEAT_BUDGET:.0f} s), " + sk_text + "  \"one-off\" is the "
        "intercept t(lo) - lo * (s/it): validation, set-up and anything outside "
        "the iterations.")


def _tables_lines(t, env):
    lines = ["## Flop model", "", FLOP_MODEL.rstrip(), "",
             "## Seconds per EM iteration", "", t["time"], ""]
    lines += ["## Achieved GFLOP/s and the arithmetic floor", "",
              "time / floor = GEMM GFLOP/s / fastgmm GFLOP/s (1.00x: as fast as the "
              "model's flops at the GEMM rate; below 1: faster).", ""]
    for key, title in (("flop_dense", "Dense responsibilities"),
                       ("flop_sparse", "Sparse responsibilities")):
        if t[key]:
            lines += [f"### {title}", "", t[key], ""]
    lines += ["## Responsibilities (measured)", "", t["dens"], ""]
    if t["f32"]:
        lines += ["## float32 against float64", "", t["f32"], ""]
    lines += [
        "## Lower bounds after the same number of iterations (sanity check)", "",
        "Mean log-likelihood of the E-step of iteration "
        f"{COMPARE_ITER} (scikit-learn's `lower_bounds_` convention).  fastgmm float32 "
        "is compared with fastgmm float64.", "", t["lb"], ""]
    if t["mem"]:
        lines += ["## Peak memory of a fit", "", t["mem"], ""]
    return lines


def _header(env, title, runtime, argv):
    return [
        title,
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
    ]


def report(env, results, opts, runtime, argv):
    if opts["suite"] == "overlap":
        return report_overlap(env, results, opts, runtime, argv)
    quick = opts["divisor"] > 1
    t = tables(results, env["peaks"])
    lines = _header(env, "# fastgmm EM benchmark" + (
        f" (--quick: sizes / {opts['divisor']}, smoke test only)" if quick else ""),
        runtime, argv)
    lines += [
        "## Method",
        "",
        "* Data: K well-separated Gaussian blobs with random covariances "
        f"(seed {SEED}), float64; float32 runs use the same data cast to float32.",
        "* One set of initial parameters per case (uniform weights, K random rows "
        "as means, drawn one from each blob, the data's covariance for every component) "
        "is given to all "
        "three implementations (`weights_init`, `means_init`, `precisions_init`; "
        "covariances for the NumPy EM), `tol=0`, `reg_covar=1e-6`.",
        _method_per_iteration(
            f"scikit-learn max_iter {SKLEARN_ITERS[0]} and "
            f"{SKLEARN_ITERS[1]} (after an untimed warm-up fit, best of "
            f"{SKLEARN_REPEATS}; `init_params='random_from_data'` to keep "
            "its unavoidable initial M-step cheap), NumPy EM n_iter "
            f"{NUMPY_ITERS[0]} and {NUMPY_ITERS[1]} (once each)."),
        *_method_common(env),
        "",
    ]
    lines += _tables_lines(t, env)
    lines += _error_lines(results)
    return "\n".join(lines)


def report_overlap(env, results, opts, runtime, argv):
    quick = opts["divisor"] > 1
    t = tables(results, env["peaks"])
    e2e_t, e2e_q, notes = e2e_tables(results)
    targets = targets_table(results, env["peaks"])
    mlpack_line = (
        f"mlpack {env['mlpack']} (pip `mlpack`): `gmm_train` is the third "
        "column of the end-to-end fits ('full', and 'diag' with "
        "`diagonal_covariance=True`; it has no 'tied' or 'spherical')."
        if env.get("mlpack") else
        f"mlpack: not run ({opts['mlpack_missing']}).")
    lines = _header(env, "# fastgmm EM benchmark: overlapping clusters, all "
                    "covariance types, real data, default fits" + (
                        f" (sizes / {opts['divisor']}: smoke test only, not results)"
                        if quick else ""), runtime, argv)
    lines += [
        "## Method",
        "",
        "* Synthetic data (`lowd-o` ... `sph-o`): K overlapping Gaussian clusters "
        f"of the case's covariance type (seed {SEED}): centres N(0, s^2 I) with "
        f"s = {SEPARATION:g} / sqrt(2d), i.e. two centres typically {SEPARATION:g} "
        "standard deviations apart, covariance eigenvalues exp(U(-c, c)), "
        "c = ln 2 * min(1, sqrt(16/d)); how dense the responsibilities are is "
        "measured, not assumed (\"Responsibilities\" below).  Real data: "
        "`hopper`, the RGB colours of matplotlib's sample image "
        "`grace_hopper.jpg` (`matplotlib.cbook.get_sample_data`, "
        "`matplotlib.image.imread`, reshape(-1, 3), float64 / 255); `digits`, "
        "`sklearn.datasets.load_digits().data` (float64).  float32 runs use "
        "the same data cast to float32.",
        "* Per iteration: one set of initial parameters per case (uniform "
        "weights, K random rows as means (one from each true cluster; for "
        "real data K distinct rows), the data's covariance in the case's "
        "layout) is given to fastgmm and scikit-learn (`weights_init`, "
        "`means_init`, `precisions_init`), `tol=0`, `reg_covar=1e-6`."
        + (" The NumPy EM runs too (--with-numpy)." if opts["with_numpy"] else
           " (The plain NumPy EM of the blobs suite is left out; --with-numpy "
           "adds it.)"),
        _method_per_iteration(
            f"scikit-learn max_iter {SKLEARN_ITERS[0]} and {SKLEARN_ITERS[1]} "
            f"(after an untimed warm-up fit, best of {SKLEARN_REPEATS}) when the "
            "case's model flops per iteration are >= 2e8, "
            f"else {FASTGMM_ITERS[0]} and {FASTGMM_ITERS[1]} like fastgmm (best of "
            f"up to {FASTGMM_REPEATS}); `init_params='random_from_data'` keeps its "
            "unavoidable initial M-step cheap."),
        "* End to end (default fits): `GaussianMixture(n_components=K, "
        "covariance_type=...)` with every other parameter at its default "
        "(`init_params='kmeans'`, `tol=1e-3`, `max_iter=100`, `n_init=1`), "
        f"`random_state` in {tuple(opts['seeds'])}, fastgmm and scikit-learn "
        "alternating in one run; whole `fit` wall time (median), `n_iter_` and "
        "`lower_bound_` (mean), `score(X)` of the final model (mean), and one "
        "`predict_proba(X)` on all rows of each fitted model (median).",
        "* " + mlpack_line + (
            " Each fit runs in a fresh subprocess (mlpack loads its own OpenBLAS "
            "and OpenMP runtime) that loads the data from a `.npy` and times "
            "`gmm_train(input_=X, gaussians=K, diagonal_covariance=..., "
            "seed=random_state + 1, tolerance=1e-3 * n, max_iterations=100, "
            "kmeans_max_iterations=300)`: mlpack's tolerance is on the total "
            "log-likelihood, so 1e-3 * n is scikit-learn's default tol of 1e-3 "
            "on the per-sample mean, and the iteration caps are scikit-learn's "
            "defaults (mlpack's own are 1e-10, 250 and 1000; its seed 0 means "
            "the clock).  Its quality is the mean of log p(x) from "
            "`gmm_probability` on all rows (comparable with `score(X)`); mlpack "
            "reports no iteration count, and has no `predict_proba`; it has no "
            "`reg_covar` either (it only fixes covariances that are not positive "
            "definite), so on data with constant features (digits' corner "
            "pixels) its log-likelihood differs for that reason alone.  "
            f"random_states for mlpack: {tuple(opts['mlpack_seeds'])} (--mlpack-seeds)."
            if env.get("mlpack") else ""),
        *_method_common(env),
        "",
    ]
    if targets:
        lines += ["## Targets (issue 15)", "",
                  "float64, the default thread count, overlapping data; the "
                  "floor and memory rows are explained below.", "", targets, ""]
    if e2e_t:
        lines += ["## End to end: default fits and predict_proba", "", e2e_t, "",
                  "### Model quality", "",
                  "`lower_bound_`: the mean log-likelihood per sample of the last "
                  "E-step; `score(X)`: of the final parameters.  Higher is better.",
                  "", e2e_q, ""]
        if notes:
            lines += [*(f"* {n}" for n in notes), ""]
    if any("fg" in r for r in results):
        lines += _tables_lines(t, env)
    lines += _error_lines(results)
    return "\n".join(lines)


def _error_lines(results):
    errors = [f"* {r['name']}: {e}" for r in results for e in r.get("errors", [])]
    return ["## Blocks that failed", "", *errors, ""] if errors else []


# --------------------------------------------------------------------------
def _names(parser, text, suite, what):
    if text.strip().lower() in ("", "none"):
        return []
    names = [c.strip() for c in text.split(",") if c.strip()]
    unknown = [c for c in names if c not in SUITES[suite]]
    if unknown:
        parser.error(f"unknown {what} {unknown} for --suite {suite}; choose from "
                     f"{list(SUITES[suite])}")
    return names


def _ints(parser, text, what):
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        parser.error(f"{what}: comma-separated integers expected, got {text!r}")


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--_memory-child":
        impl, data, init, K, cov_type, it, path32 = argv[1:8]
        memory_child(impl, data, init, int(K), cov_type, int(it), path32)
        return 0
    if argv and argv[0] == "--_mlpack-child":
        data, K, cov_type, seed = argv[1:5]
        mlpack_child(data, int(K), cov_type, int(seed))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--suite", choices=list(SUITES), default="blobs",
                        help="blobs: well-separated blobs (the original cases, "
                             "RESULTS.md); overlap: overlapping clusters, tied and "
                             "spherical, real data and end-to-end default fits "
                             "(RESULTS_overlap.md)")
    parser.add_argument("--cases", default=None,
                        help="comma-separated per-iteration cases of the suite "
                             f"(blobs: {','.join(CASES)}; overlap: "
                             f"{','.join(OVERLAP_CASES)}; default all; 'none')")
    parser.add_argument("--e2e", default=None,
                        help="comma-separated cases with end-to-end default fits "
                             f"(default: overlap {','.join(E2E_CASES)}, blobs none; "
                             "'none')")
    parser.add_argument("--seeds", default=",".join(map(str, E2E_SEEDS)),
                        help="random_states of the end-to-end fits (default 0,1,2)")
    parser.add_argument("--mlpack-seeds", default=None,
                        help="random_states of mlpack's end-to-end fits (default: "
                             "the first of --seeds; mlpack's fits take minutes and "
                             "gave the same model for every seed in our tests)")
    parser.add_argument("--no-mlpack", action="store_true",
                        help="leave mlpack's gmm_train out of the end-to-end fits")
    parser.add_argument("--with-numpy", action="store_true",
                        help="overlap suite: also time the plain NumPy EM (the "
                             "blobs suite always does)")
    parser.add_argument("--quick", action="store_true",
                        help=f"sizes divided by {QUICK_DIVISOR} (smoke test)")
    parser.add_argument("--divisor", type=int, default=None,
                        help="divide the sizes by this (smoke test; implies --quick; "
                             "synthetic cases keep at least 4*K*d rows, real data "
                             "every N-th row, digits every 4th at most)")
    parser.add_argument("--output", default=None,
                        help="markdown report (default benchmarks/RESULTS.md, "
                             "overlap suite benchmarks/RESULTS_overlap.md)")
    parser.add_argument("--skip-memory", action="store_true",
                        help="do not measure peak memory")
    parser.add_argument("--max-wait", type=float, default=None,
                        help="seconds the whole run may spend waiting, before timed "
                             "blocks (30 s at most each), for other processes to "
                             "leave the CPUs idle (default 120, --quick 10; 0: never)")
    args = parser.parse_args(argv)
    divisor = args.divisor or (QUICK_DIVISOR if args.quick else 1)
    if divisor < 1:
        parser.error("--divisor must be >= 1")
    quick = divisor > 1
    if args.max_wait is None:
        args.max_wait = 10.0 if quick else 120.0
    suite = args.suite
    output = args.output or str(
        HERE / ("RESULTS.md" if suite == "blobs" else f"RESULTS_{suite}.md"))
    cases = _names(parser, ",".join(SUITES[suite]) if args.cases is None
                   else args.cases, suite, "case(s)")
    e2e = _names(parser, (",".join(E2E_CASES) if suite == "overlap" else "")
                 if args.e2e is None else args.e2e, suite, "--e2e case(s)")
    seeds = _ints(parser, args.seeds, "--seeds")
    mlpack_seeds = seeds[:1] if args.mlpack_seeds is None else \
        _ints(parser, args.mlpack_seeds, "--mlpack-seeds")
    if e2e and not seeds:
        parser.error("--seeds: at least one random_state for the end-to-end fits")
    if not cases and not e2e:
        parser.error("nothing to run (--cases none and --e2e none)")
    mlpack_ok = mlpack_version() is not None and not args.no_mlpack
    opts = dict(
        suite=suite, divisor=divisor, cases=cases, e2e=e2e, seeds=seeds,
        mlpack_seeds=mlpack_seeds, mlpack=mlpack_ok,
        mlpack_missing="--no-mlpack" if args.no_mlpack else
        "pip `mlpack` is not installed here (`pip install mlpack`)",
        with_numpy=suite == "blobs" or args.with_numpy,
        skip_memory=args.skip_memory, wait_budget=[args.max_wait])

    t_start = perf_counter()
    run_load = OtherLoad().__enter__()
    env = environment()
    if not mlpack_ok:
        env["mlpack"] = None
    log(f"fastgmm {env['fastgmm']} (git {env['git']}), {env['cpu']}")
    env["peak_size"] = PEAK_GEMM_SIZE // 2 if quick else PEAK_GEMM_SIZE
    env["peaks"] = {}
    if cases:
        log(f"peak GEMM rates ({env['peak_size']}^2)")
        f32 = any(case_spec(c)[4] for c in cases)
        for key, dtype, thr in (("float64", np.float64, None),
                                ("float64_1thr", np.float64, 1),
                                ("float32", np.float32, None)):
            if key == "float32" and not f32:
                continue
            env["peaks"][key] = peak_gemm_gflops(dtype, thr, env["peak_size"])
    order = [c for c in SUITES[suite] if c in cases or c in e2e]
    opts["tmpdir"] = tempfile.mkdtemp(prefix="fastgmm-bench-", dir="/tmp")
    try:
        results = [run_case(name, opts) for name in order]
    finally:
        shutil.rmtree(opts["tmpdir"], ignore_errors=True)
    runtime = perf_counter() - t_start
    run_load.__exit__(None, None, None)
    env["run_load"] = run_load.cores
    env["waited"] = args.max_wait - opts["wait_budget"][0]
    text = report(env, results, opts, runtime, argv)
    Path(output).write_text(text)
    print(text)
    log(f"wrote {output}; total {runtime / 60:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
