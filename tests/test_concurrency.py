"""Threads, Ctrl-C, worker processes and resources.

* predict/score_samples/predict_proba from 4 Python threads at once give the
  serial results bitwise; the kernels release the GIL; BLAS thread limits
  come back afterwards;
* a KeyboardInterrupt (SIGINT from a timer) stops a long fit within about
  one EM iteration, leaves the estimator as it was (fitted or not) and the
  BLAS limits restored, and the next fit/predict works;
* fitting inside multiprocessing workers works with 'fork' and 'spawn'
  (a hang fails on a timeout instead of blocking the run), and a model
  pickled to a worker predicts identically;
* 200 fit/predict cycles do not grow the process's memory.
"""

import gc
import multiprocessing
import os
import signal
import sys
import threading
import time
import warnings

import numpy as np
import pytest

from fastgmm import ConvergenceWarning, GaussianMixture
from fastgmm import _config

TYPES = ("full", "tied", "diag", "spherical")
FITTED = ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_",
          "converged_", "n_iter_", "lower_bound_", "lower_bounds_", "n_features_in_")


def _blas_threads():
    from threadpoolctl import threadpool_info

    return [(lib["filepath"], lib["num_threads"]) for lib in threadpool_info()
            if lib["user_api"] == "blas"]


def _state(est):
    return {k: (v.copy() if isinstance(v, np.ndarray) else
                list(v) if isinstance(v, list) else v)
            for k, v in vars(est).items() if k.endswith("_")}


def _assert_same_state(a, b):
    assert a.keys() == b.keys()
    for k in a:
        if isinstance(a[k], np.ndarray):
            assert a[k].dtype == b[k].dtype, k
            np.testing.assert_array_equal(a[k], b[k], err_msg=k)
        else:
            assert a[k] == b[k], k


# --------------------------------------------------------------------------
# threads
# --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def thread_data(make_blobs_fn):
    # d=3 runs the component-major small-d kernels, d=20 the BLAS ones
    return {d: make_blobs_fn(n=40000, d=d, K=4, seed=d)[0] for d in (3, 20)}


def test_blas_limit_holds_in_any_thread():
    """The one-BLAS-thread limit takes effect whichever Python thread enters
    it first or last, and the original limits come back each time.
    (threadpoolctl lets only one 'controlling' thread set a pthreads
    OpenBLAS's limit; the limit once stayed at the default in a second
    worker thread after the main thread had used it.)"""
    before = _blas_threads()
    seen = []

    def enter():
        with _config.single_threaded_blas():
            seen.append(_blas_threads())

    for where in ("thread", "main", "thread", "thread", "main"):
        if where == "main":
            enter()
        else:
            t = threading.Thread(target=enter)
            t.start()
            t.join()
        assert _blas_threads() == before, where
    assert seen and all(all(num == 1 for _, num in counts) for counts in seen), seen


@pytest.mark.parametrize("covariance_type", TYPES)
@pytest.mark.parametrize("d", [3, 20])
def test_predict_from_four_threads(thread_data, covariance_type, d):
    X = thread_data[d]
    gm = GaussianMixture(4, covariance_type=covariance_type, random_state=0,
                         max_iter=20)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gm.fit(X[:5000])
    before_state = _state(gm)
    blas_before = _blas_threads()
    # every thread works on its own slices; some slices are shared
    slices = [slice(i * 3000, i * 3000 + 5000) for i in range(4)]
    methods = ("predict", "predict_proba", "score_samples")
    serial = {(i, m): getattr(gm, m)(X[s]) for i, s in enumerate(slices) for m in methods}
    results, errors = {}, []
    start = threading.Barrier(4)

    def work(i):
        try:
            start.wait()
            for rep in range(3):
                for m in methods:
                    results[(i, m, rep)] = getattr(gm, m)(X[slices[i]])
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors
    for (i, m, rep), out in results.items():
        np.testing.assert_array_equal(out, serial[(i, m)], err_msg=f"{m} thread {i}")
    assert len(results) == 4 * 3 * len(methods)
    _assert_same_state(before_state, _state(gm))
    # overlapping calls restore BLAS's thread limits (threadpoolctl
    # limiters nested across threads used to leave BLAS at 1 thread)
    assert _blas_threads() == blas_before
    assert _config._blas_users == 0


def test_kernels_release_the_gil(thread_data):
    """While one thread predicts, Python code in another keeps running: the
    longest pause of a Python loop is a small fraction of a predict call
    (it would be the whole call with the GIL held)."""
    gm = GaussianMixture(48, covariance_type="full", random_state=0, max_iter=2,
                         n_threads=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gm.fit(thread_data[20][:5000])
    # enough rows for a call long enough to tell a GIL pause from noise
    for copies in (8, 16, 32, 64):
        X = np.tile(thread_data[20], (copies, 1))  # copies x 40,000 x 20
        t0 = time.perf_counter()
        gm.score_samples(X)
        call = time.perf_counter() - t0
        if call > 0.3:
            break
    done = threading.Event()

    def predict_repeatedly():
        for _ in range(3):
            gm.score_samples(X)
        done.set()

    worker = threading.Thread(target=predict_repeatedly)
    gaps, last = [], time.perf_counter()
    worker.start()
    while not done.is_set():
        sum(range(200))  # pure Python work, needs the GIL
        now = time.perf_counter()
        gaps.append(now - last)
        last = now
    worker.join()
    assert len(gaps) > 10
    # (a loaded machine can pause a thread for ~0.1 s on its own)
    assert call > 0.25, call
    assert max(gaps) < max(0.5 * call, 0.15), (max(gaps), call)


# --------------------------------------------------------------------------
# Ctrl-C
# --------------------------------------------------------------------------
needs_sigint = pytest.mark.skipif(
    sys.platform == "win32" or signal.getsignal(signal.SIGINT) is not signal.default_int_handler,
    reason="needs POSIX signals and Python's default SIGINT handler")


@pytest.fixture(scope="module")
def long_fit_data(make_blobs_fn):
    X, labels, _ = make_blobs_fn(n=300000, d=6, K=6, separation=4.0, seed=11)
    K, d = 6, X.shape[1]
    init = dict(weights_init=np.full(K, 1 / K),
                means_init=np.stack([X[labels == k].mean(axis=0) for k in range(K)]) + 0.5,
                precisions_init=np.stack([np.eye(d)] * K))
    return X, init


def _interrupt_fit(gm, X, delay):
    """Fit (which would run for ever) and SIGINT ourselves after ``delay`` s;
    returns seconds from the signal to the KeyboardInterrupt."""
    sent = []

    def fire():
        sent.append(time.perf_counter())
        os.kill(os.getpid(), signal.SIGINT)

    timer = threading.Timer(delay, fire)
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            gm.fit(X)
        caught = time.perf_counter()
    finally:
        timer.cancel()
    assert sent, "the timer did not fire"
    return caught - sent[0]


def _iteration_seconds(X, init, **kw):
    gm = GaussianMixture(6, tol=0, max_iter=4, **init, **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        t0 = time.perf_counter()
        gm.fit(X)
    return (time.perf_counter() - t0) / 4


@needs_sigint
@pytest.mark.parametrize("covariance_type", ["full", "diag"])
def test_ctrl_c_stops_a_fit_and_loses_nothing(long_fit_data, covariance_type):
    X, init = long_fit_data
    if covariance_type == "diag":
        init = dict(init, precisions_init=np.ones((6, X.shape[1])))
    kw = dict(covariance_type=covariance_type)
    t_iter = _iteration_seconds(X, init, **kw)
    blas_before = _blas_threads()

    # a fitted estimator: interrupted, it is exactly as it was
    gm = GaussianMixture(6, tol=0, max_iter=3, **init, **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gm.fit(X[:20000])
    before = _state(gm)
    labels_before = gm.predict(X[:1000])
    gm.set_params(max_iter=10**9)  # runs until interrupted
    latency = _interrupt_fit(gm, X, delay=max(0.5, 3 * t_iter))
    # it stops within about one EM iteration (plus scheduling noise)
    assert latency < 2 * t_iter + 0.5, (latency, t_iter)
    _assert_same_state(before, _state(gm))
    np.testing.assert_array_equal(gm.predict(X[:1000]), labels_before)
    assert _blas_threads() == blas_before and _config._blas_users == 0

    # an unfitted estimator stays unfitted
    fresh = GaussianMixture(6, tol=0, max_iter=10**9, **init, **kw)
    _interrupt_fit(fresh, X, delay=max(0.3, 2 * t_iter))
    assert not [k for k in vars(fresh) if k.endswith("_")]
    assert _blas_threads() == blas_before

    # interrupted during fastgmm's own initialisation or the first iterations
    own = GaussianMixture(6, tol=0, max_iter=10**9, random_state=0, **kw)
    _interrupt_fit(own, X, delay=0.2)
    assert not [k for k in vars(own) if k.endswith("_")]

    # and everything still works afterwards
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gm.set_params(max_iter=2).fit(X[:20000])
        fresh.set_params(max_iter=2).fit(X[:20000])
    assert gm.n_iter_ == 2 and fresh.n_iter_ == 2
    _assert_same_state(_state(gm), _state(fresh))
    assert _blas_threads() == blas_before and _config._blas_users == 0


# --------------------------------------------------------------------------
# worker processes
# --------------------------------------------------------------------------
def _fit_in_worker(args):
    """Top-level so that 'spawn' workers can import it."""
    seed, covariance_type, model, X_query = args
    import fastgmm
    from fastgmm._config import effective_n_threads

    rng = np.random.default_rng(seed)
    X = np.vstack([rng.normal(size=(3000, 4)) + 6 * k for k in range(3)])
    # two threads asked for explicitly: the case that hangs a forked child
    # with GNU libgomp unless fastgmm keeps it to one thread
    gm = fastgmm.GaussianMixture(3, covariance_type=covariance_type,
                                 random_state=seed, n_threads=2).fit(X)
    return (gm.means_, gm.lower_bound_, model.predict_proba(X_query),
            effective_n_threads(2))


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_fit_in_worker_processes(method, blobs_small):
    if method not in multiprocessing.get_all_start_methods():
        pytest.skip(f"no '{method}' start method on this platform")
    X = blobs_small[0]
    model = GaussianMixture(3, random_state=0).fit(X)  # OpenMP used in the parent
    jobs = [(seed, t, model, np.asarray(X[:500])) for seed, t in
            zip(range(4), TYPES)]
    ctx = multiprocessing.get_context(method)
    with ctx.Pool(2) as pool:
        # a hang fails here (TimeoutError) instead of blocking the run
        results = pool.map_async(_fit_in_worker, jobs).get(timeout=240)
    for job, (means, lower_bound, proba, threads) in zip(jobs, results):
        ref_means, ref_lb, ref_proba, here = _fit_in_worker(job)
        # forked children of this (multi-threaded) process run one thread;
        # spawned ones are fresh processes (results are thread-independent)
        assert threads == (1 if method == "fork" else here)
        np.testing.assert_array_equal(means, ref_means)
        assert lower_bound == ref_lb
        # the model pickled to the worker predicts exactly as here
        np.testing.assert_array_equal(proba, ref_proba)
        np.testing.assert_array_equal(proba, model.predict_proba(X[:500]))


# --------------------------------------------------------------------------
# memory
# --------------------------------------------------------------------------
def test_no_memory_growth_over_200_cycles(make_blobs_fn):
    """200 fit/predict cycles (every covariance type, float32/float64, a
    failing fit and bad input among them): the process's resident memory
    grows by less than a few MB (a leaked kernel scratch buffer would add
    tens of KB per EM iteration, i.e. tens of MB here)."""
    psutil = pytest.importorskip("psutil")
    X64, _, _ = make_blobs_fn(n=1500, d=10, K=3, seed=2)
    X32 = X64.astype(np.float32)
    # two spread clusters and 30 identical rows: with reg_covar=0 and the
    # third mean on them, fit raises the ill-defined error
    rng = np.random.default_rng(0)
    collapse = np.vstack([rng.normal(size=(200, 2)) + [60.0, 60.0],
                          rng.normal(size=(200, 2)) + [-60.0, 60.0], np.zeros((30, 2))])
    bad = GaussianMixture(3, reg_covar=0.0, weights_init=np.full(3, 1 / 3),
                          means_init=[[60.0, 60.0], [-60.0, 60.0], [0.0, 0.0]],
                          precisions_init=np.stack([np.eye(2)] * 3))
    process = psutil.Process()

    def cycle(i):
        t = TYPES[i % 4]
        X = X32 if i % 2 else X64
        # (two threads in every eighth cycle: enough to cover the threaded
        # scratch buffers, without paying for a loaded machine's barriers)
        gm = GaussianMixture(3, covariance_type=t, random_state=i, max_iter=5,
                             n_init=1 + (i % 3 == 0), n_threads=2 if i % 8 == 0 else 1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            gm.fit(X, sample_weight=np.ones(len(X)) if i % 5 == 0 else None)
        gm.predict(X)
        gm.predict_proba(X)
        gm.score_samples(X)
        if i % 10 == 0:
            with pytest.raises(ValueError, match="ill-defined"):
                bad.fit(collapse)
            with pytest.raises(ValueError):
                gm.predict(X[:, :3])

    for i in range(20):  # warm up: caches, thread pools, allocator arenas
        cycle(i)
    gc.collect()
    rss0 = process.memory_info().rss
    for i in range(200):
        cycle(i)
    gc.collect()
    growth = process.memory_info().rss - rss0
    print(f"RSS growth {growth / 2**20:.2f} MB")
    assert growth < 8 * 2**20, f"RSS grew by {growth / 2**20:.1f} MB"
