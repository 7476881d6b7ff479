"""Child process of the memmap peak-memory tests (tests/test_streaming.py).

Usage: python memmap_rss_child.py PATH COVARIANCE_TYPE INIT_PARAMS MAX_ITER N_COMPONENTS

Warms up on a small in-memory fit (so libraries and thread pools are loaded),
then fits ``np.load(PATH, mmap_mode='r')`` and prints one JSON line: the
rise of the process's peak resident set size during that fit over its
resident set size just before, in bytes, and the fit's wall time.  The peak
is reset before the fit (``echo 5 > /proc/self/clear_refs``, then
``VmHWM``); where that is not possible it is ``ru_maxrss``, whose value may
still be the warm-up's peak (then the rise is overstated, never understated).
"""

import json
import resource
import sys
import time
import warnings

import numpy as np

import fastgmm


def _status(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise KeyError(field)


def reset_peak():
    """Reset the peak RSS to the current RSS; False if not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def current_rss_bytes():
    try:
        return _status("VmRSS")
    except (OSError, KeyError):
        return peak_rss_bytes()


def peak_rss_bytes():
    try:
        return _status("VmHWM")
    except (OSError, KeyError):
        # Linux reports kilobytes, macOS bytes.
        scale = 1 if sys.platform == "darwin" else 1024
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


def main():
    path, cov, init, max_iter, K = sys.argv[1:6]
    max_iter, K = int(max_iter), int(K)
    X = np.load(path, mmap_mode="r")
    warm = np.random.default_rng(0).standard_normal((20000, X.shape[1])).astype(X.dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for p in ("kmeans", "random"):
            gm = fastgmm.GaussianMixture(K, covariance_type=cov, init_params=p,
                                         max_iter=2, random_state=0).fit(warm)
            gm.predict(warm)
        del warm, gm
        reset = reset_peak()
        before = current_rss_bytes() if reset else peak_rss_bytes()
        t0 = time.perf_counter()
        gm = fastgmm.GaussianMixture(K, covariance_type=cov, init_params=init,
                                     max_iter=max_iter, tol=0.0, random_state=0)
        gm.fit(X)
        fit_time = time.perf_counter() - t0
        fit_peak = peak_rss_bytes()
        if reset_peak():
            before_predict = current_rss_bytes()
        else:
            before_predict = fit_peak
        labels = gm.predict(X)
        predict_peak = peak_rss_bytes()
    print(json.dumps({
        "fit_rss_increase": fit_peak - before,
        # the labels vector (8 bytes per row) is the output, not streaming
        "predict_rss_increase": predict_peak - before_predict - labels.nbytes,
        "peak_reset": reset,
        "fit_seconds": fit_time,
        "n_iter": gm.n_iter_,
        "lower_bound": gm.lower_bound_,
        "data_bytes": X.nbytes,
    }))


if __name__ == "__main__":
    main()
