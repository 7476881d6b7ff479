#!/usr/bin/env python
"""Benchmark of fastgmm's BayesianGaussianMixture against scikit-learn's.

Cases (side by side in one run, each library on the same data):

* ``full16``: 300,000 x 16, K=16, 'full', overlapping clusters;
* ``diag32``: 1,000,000 x 32, K=32, 'diag', overlapping clusters;
* ``hopper``: the RGB pixel colours of matplotlib's ``grace_hopper.jpg``
  (real data, 307,200 x 3), K=16, 'full';
* ``digits``: scikit-learn's digits (1,797 x 64), K=10, 'full'.

Overlapping data: K Gaussian clusters with random covariances (eigenvalues
uniform in [0.5, 2]) whose centres are only about 5 standard deviations
apart (``SEPARATION``), so responsibilities stay soft and the fit needs many
iterations.

Three measurements per case and library:

* **seconds per iteration**: from the same start (``init_params=
  'random_from_data'``, the same integer ``random_state``: both libraries
  pick the same rows), ``tol=0``, timed at two ``max_iter`` values; the
  time difference divided by the difference in iterations (fastgmm best of
  a few repeats);
* **end to end, same start**: the default ``tol`` and ``max_iter`` from the
  'k-means++' start (the same initial responsibilities in both libraries),
  whole ``fit`` wall time, iterations and lower bound: the iteration counts
  should agree;
* **end to end, defaults**: every parameter at its default
  (``init_params='kmeans'``: each library's own k-means, so the starts and
  the iteration counts differ), ``random_state=0``.

The machine, the versions and the other processes' load during every timed
block are reported as in ``bench_em.py`` (whose helpers this script uses).

Usage::

    python benchmarks/bench_bgmm.py [--cases full16,diag32,hopper,digits]
                                    [--quick] [--output benchmarks/RESULTS_bgmm.md]

``--quick`` divides the sizes by 100 (a smoke test of the script only).
"""

import argparse
import gc
import sys
import time
import warnings
from math import inf
from pathlib import Path
from time import perf_counter

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_em as common  # noqa: E402

# name: (n_samples, n_features, n_components, covariance_type, data)
CASES = {
    "full16": (300_000, 16, 16, "full", "overlapping"),
    "diag32": (1_000_000, 32, 32, "diag", "overlapping"),
    "hopper": (None, 3, 16, "full", "hopper"),
    "digits": (None, 64, 10, "full", "digits"),
}
QUICK_DIVISOR = 100
FASTGMM_ITERS = (2, 12)
SKLEARN_ITERS = (1, 3)
FASTGMM_REPEATS = 3
FASTGMM_REPEAT_BUDGET = 30.0
SEED = 0
# The lower bounds of both libraries are compared after this iteration
# (<= both larger iteration counts).
COMPARE_ITER = 3
# Typical distance between two cluster centres, in units of the clusters'
# standard deviations (about 1): overlapping, but not one blob.
SEPARATION = 5.0


def make_overlapping(n, d, K, seed):
    """K clusters with random covariances, centres ~SEPARATION sigma apart."""
    rng = np.random.default_rng(seed)
    # |c_j - c_k| ~ scale * sqrt(2 d) = SEPARATION
    centres = rng.normal(scale=SEPARATION / np.sqrt(2.0 * d), size=(K, d))
    weights = 0.5 / K + 0.5 * rng.dirichlet(np.full(K, 4.0))
    counts = rng.multinomial(n, weights / weights.sum())
    X = np.empty((n, d))
    start = 0
    for k in range(K):
        Q, _ = np.linalg.qr(rng.standard_normal((d, d)))
        A = Q * np.sqrt(rng.uniform(0.5, 2.0, size=d))
        X[start:start + counts[k]] = rng.standard_normal((counts[k], d)) @ A.T \
            + centres[k]
        start += counts[k]
    return np.ascontiguousarray(X[rng.permutation(n)])


def load_case(name, quick):
    n, d, K, cov_type, kind = CASES[name]
    if kind == "overlapping":
        n = n // QUICK_DIVISOR if quick else n
        X = make_overlapping(n, d, K, SEED)
    elif kind == "hopper":
        import matplotlib.cbook
        import matplotlib.image

        with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as f:
            img = matplotlib.image.imread(f, format="jpg")
        X = np.ascontiguousarray(img.reshape(-1, img.shape[-1])[:, :3],
                                 dtype=np.float64) / 255.0
        if quick:
            X = np.ascontiguousarray(X[::QUICK_DIVISOR])
    else:
        from sklearn.datasets import load_digits

        X = np.ascontiguousarray(load_digits().data, dtype=np.float64)
        if quick:
            X = np.ascontiguousarray(X[::4])
    return X, K, cov_type


def estimator(lib, K, cov_type, **kw):
    if lib == "fastgmm":
        from fastgmm import BayesianGaussianMixture
    else:
        from sklearn.mixture import BayesianGaussianMixture
    return BayesianGaussianMixture(n_components=K, covariance_type=cov_type, **kw)


def timed_fit(est, X):
    gc.collect()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = perf_counter()
        est.fit(X)
        return perf_counter() - t0


def per_iteration(lib, X, K, cov_type):
    iters = FASTGMM_ITERS if lib == "fastgmm" else SKLEARN_ITERS
    repeats = FASTGMM_REPEATS if lib == "fastgmm" else 1
    best = {it: inf for it in iters}
    t0 = perf_counter()
    lbs = None
    with common.OtherLoad() as load:
        for _ in range(repeats):
            for it in iters:
                est = estimator(lib, K, cov_type, init_params="random_from_data",
                                random_state=SEED, max_iter=it, tol=0.0)
                best[it] = min(best[it], timed_fit(est, X))
                if it == iters[1]:
                    lbs = est.lower_bounds_
            if perf_counter() - t0 > FASTGMM_REPEAT_BUDGET:
                break
    lo, hi = iters
    per_it = (best[hi] - best[lo]) / (hi - lo)
    return dict(per_it=per_it, one_off=best[lo] - lo * per_it, load=load.cores,
                lower_bound=float(np.squeeze(lbs[COMPARE_ITER - 1])))


def end_to_end(lib, X, K, cov_type, **kw):
    est = estimator(lib, K, cov_type, random_state=SEED, **kw)
    with common.OtherLoad() as load:
        seconds = timed_fit(est, X)
    return dict(seconds=seconds, n_iter=int(est.n_iter_), converged=bool(est.converged_),
                lower_bound=float(np.squeeze(est.lower_bound_)), load=load.cores,
                effective=int(np.sum(np.asarray(est.weights_) >= 0.01)))


_WAIT_LEFT = [300.0]


def wait_for_idle():
    """Up to 30 s for an idle machine, within the run's --max-wait budget."""
    _, waited = common.wait_until_idle(min(30.0, _WAIT_LEFT[0]))
    _WAIT_LEFT[0] = max(0.0, _WAIT_LEFT[0] - waited)


def run_case(name, quick):
    X, K, cov_type = load_case(name, quick)
    n, d = X.shape
    common.log(f"case {name}: {n} x {d}, K={K} {cov_type}")
    out = {"name": name, "n": n, "d": d, "K": K, "cov_type": cov_type}
    for lib in ("fastgmm", "sklearn"):
        wait_for_idle()
        common.log(f"  {lib}: per iteration")
        out[lib, "iter"] = per_iteration(lib, X, K, cov_type)
        wait_for_idle()
        common.log(f"  {lib}: end to end from the k-means++ start")
        out[lib, "same"] = end_to_end(lib, X, K, cov_type, init_params="k-means++")
        wait_for_idle()
        common.log(f"  {lib}: end to end with the defaults")
        out[lib, "default"] = end_to_end(lib, X, K, cov_type)
    return out


def _table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _load(*values):
    m = max(values)
    return f"**{m:.2f}**" if m > 0.1 else f"{m:.2f}"


def report(env, results, quick, runtime, argv):
    it_rows, same_rows, def_rows = [], [], []
    for r in results:
        label = f"{r['name']}: {r['n']:,} x {r['d']}, K={r['K']} {r['cov_type']}"
        f, s = r["fastgmm", "iter"], r["sklearn", "iter"]
        it_rows.append([label, f"{f['per_it']:.4f}", f"{s['per_it']:.4f}",
                        f"{s['per_it'] / f['per_it']:.1f}x",
                        f"{f['one_off']:.3f} / {s['one_off']:.3f}",
                        f"{f['lower_bound']:.10g} / {s['lower_bound']:.10g}",
                        _load(f["load"], s["load"])])
        for key, rows in (("same", same_rows), ("default", def_rows)):
            f, s = r["fastgmm", key], r["sklearn", key]
            rows.append([label, f"{f['seconds']:.2f}", f"{s['seconds']:.2f}",
                         f"{s['seconds'] / f['seconds']:.1f}x",
                         f"{f['n_iter']} / {s['n_iter']}",
                         f"{f['converged']} / {s['converged']}",
                         f"{f['lower_bound']:.8g} / {s['lower_bound']:.8g}",
                         f"{f['effective']} / {s['effective']}",
                         _load(f["load"], s["load"])])
    e2e_header = ["case", "fastgmm s", "sklearn s", "speed-up",
                  "iterations (fastgmm / sklearn)", "converged", "lower bound",
                  "components with weight >= 0.01", "other processes' load"]
    lines = [
        "# fastgmm BayesianGaussianMixture benchmark"
        + (f" (--quick: sizes / {QUICK_DIVISOR}, smoke test only)" if quick else ""),
        "",
        f"Generated by `python benchmarks/{Path(__file__).name}"
        f"{' ' + ' '.join(argv) if argv else ''}` on {env['date']}; total run time "
        f"{runtime / 60:.1f} min.",
        "",
        "## Machine and versions",
        "",
        *common.machine_lines(env),
        "",
        "## Method",
        "",
        "* Overlapping data: K clusters with random covariances (eigenvalues in "
        f"[0.5, 2]) and centres about {SEPARATION:g} standard deviations apart (seed 0); "
        "hopper: the RGB pixels of matplotlib's grace_hopper.jpg scaled to [0, 1]; "
        "digits: scikit-learn's digits.  float64 throughout.",
        f"* Seconds per iteration: both libraries from the same start "
        f"(`init_params='random_from_data'`, `random_state={SEED}`), `tol=0`; "
        f"(t(hi) - t(lo)) / (hi - lo) with fastgmm max_iter {FASTGMM_ITERS} (best "
        f"of up to {FASTGMM_REPEATS} repeats) and scikit-learn max_iter "
        f"{SKLEARN_ITERS} (once each).  \"one-off\" is the intercept (validation, "
        "priors, initialisation, scikit-learn's final E-step).  The lower bounds "
        f"after iteration {COMPARE_ITER} must agree.",
        "* End to end: the whole `fit` (default `tol=1e-3`, `max_iter=100`), "
        "from the same 'k-means++' start (the same initial responsibilities in "
        "both libraries, so the iteration counts should agree), and with every "
        "parameter at its default ('kmeans': each library's own k-means, so the "
        "starts differ).",
        "* \"other processes' load\": CPU used by other processes during the "
        "timed block (cores, the larger of the two libraries'); bold (> 0.1) "
        "means disturbed timings.",
        "",
        "## Seconds per iteration",
        "",
        _table(["case", "fastgmm s/it", "sklearn s/it", "speed-up",
                "one-off s (fastgmm / sklearn)",
                f"lower bound after iteration {COMPARE_ITER} (fastgmm / sklearn)",
                "other processes' load"], it_rows),
        "",
        "## End to end from the same start ('k-means++')",
        "",
        _table(e2e_header, same_rows),
        "",
        "## End to end with the default parameters",
        "",
        _table(e2e_header, def_rows),
        "",
    ]
    return "\n".join(lines)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--output", default=str(HERE / "RESULTS_bgmm.md"))
    parser.add_argument("--max-wait", type=float, default=300.0,
                        help="seconds the whole run may wait for an idle machine")
    args = parser.parse_args(argv)
    names = [c.strip() for c in args.cases.split(",") if c.strip()]
    unknown = [c for c in names if c not in CASES]
    if unknown:
        parser.error(f"unknown case(s) {unknown}; choose from {list(CASES)}")
    _WAIT_LEFT[0] = args.max_wait
    t0 = perf_counter()
    env = common.environment()
    results = [run_case(name, args.quick) for name in names]
    text = report(env, results, args.quick, perf_counter() - t0, argv)
    print(text)
    if args.output != "-":
        Path(args.output).write_text(text)
        common.log(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    time.tzset()
    sys.exit(main())
