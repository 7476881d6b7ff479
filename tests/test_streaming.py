"""Bounded-memory fitting: memory-mapped files and data given in blocks.

* The kernels' accumulate/reduce halves, run in any stripes, give bitwise
  the one-call kernels' numbers.
* ``fit`` on an ``np.memmap`` streams it (pages released as it goes) and is
  bitwise the fit of the same array in memory, for every covariance type and
  initialisation; prediction too.
* ``fit_blocks`` runs exact EM over blocks and equals the in-memory fit of
  the concatenation to rounding.
* A fresh subprocess fitting a 1 GB memmapped file stays within 300 MB of
  extra peak resident memory (4 GB and every covariance type with
  ``FASTGMM_TEST_BIG_MEMMAP=1``).

Cost: about 60-90 s on a busy 2-core machine, most of it the 1 GB test.
"""

import json
import os
import shutil
import subprocess
import sys
import warnings

import numpy as np
import pytest

import fastgmm
import fastgmm._paging as paging
from fastgmm import ConvergenceWarning, GaussianMixture
from fastgmm._dispatch import em as _em, kmeans as _kmeans
from fastgmm._paging import mapped_rows, stripe_plan, stripe_rows

TYPES = ("full", "tied", "diag", "spherical")
INITS = ("kmeans", "k-means++", "random", "random_from_data")
FITTED = ("weights_", "means_", "covariances_", "precisions_",
          "precisions_cholesky_", "lower_bounds_", "n_iter_", "converged_")
TESTS_DIR = os.path.dirname(os.path.abspath(__file__))


def fit_quietly(est, X, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, **kw)


def fit_blocks_quietly(est, blocks, weights=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit_blocks(blocks, weights)


def assert_fitted_identical(a, b):
    for attr in FITTED:
        x, y = getattr(a, attr), getattr(b, attr)
        if isinstance(x, np.ndarray):
            assert x.dtype == y.dtype, attr
        np.testing.assert_array_equal(x, y, err_msg=attr)


def assert_fitted_close(a, b, rtol=1e-9):
    for attr in ("weights_", "means_", "covariances_", "precisions_",
                 "lower_bounds_"):
        x = np.asarray(getattr(a, attr), dtype=np.float64)
        y = np.asarray(getattr(b, attr), dtype=np.float64)
        np.testing.assert_allclose(x, y, rtol=rtol, atol=rtol * np.abs(y).max(),
                                   err_msg=attr)
    assert a.n_iter_ == b.n_iter_


def starting_point(X, K, covariance_type):
    """weights_init / means_init / precisions_init from a rough fit."""
    gm = fit_quietly(GaussianMixture(K, covariance_type=covariance_type, max_iter=1,
                                     init_params="random_from_data", random_state=3),
                     X)
    return dict(weights_init=gm.weights_, means_init=gm.means_,
                precisions_init=gm.precisions_)


@pytest.fixture
def small_stripes(monkeypatch):
    """Stripes of a few chunks, so that small data runs in many of them."""
    monkeypatch.setattr(paging, "STREAM_BYTES", 256 * 1024)
    monkeypatch.setattr(paging, "PIECE_BYTES", 32 * 1024)


@pytest.fixture
def count_releases(monkeypatch):
    """Counts page releases (so a test can tell a streamed pass happened)."""
    calls = []
    release = paging.MappedRows.release

    def counted(self, row0, row1):
        calls.append((row0, row1))
        release(self, row0, row1)

    monkeypatch.setattr(paging.MappedRows, "release", counted)
    return calls


def save_memmap(tmp_path, X, name="X.npy", mode="r"):
    path = tmp_path / name
    np.save(path, X)
    return np.load(path, mmap_mode=mode)


# --------------------------------------------------------------------------
# stripes
# --------------------------------------------------------------------------
@pytest.mark.parametrize("n_samples", [1, 255, 256, 257, 5000, 123457])
@pytest.mark.parametrize("n_blocks", [1, 2, 8, 64])
def test_stripe_plan_visits_every_chunk_once_in_order(n_samples, n_blocks):
    n_chunks = -(-n_samples // 256)
    n_blocks = min(n_blocks, n_chunks)
    for row_bytes, n_threads, budget, piece in [(8, 1, 4096, 2048),
                                                (128, 2, 64 * 1024, 16 * 1024),
                                                (4096, 3, 10**6, 10**9),
                                                (24, 1, None, None)]:
        seen = {b: [] for b in range(n_blocks)}
        for b0, b1, c0, c1 in stripe_plan(n_samples, n_blocks, row_bytes, n_threads,
                                          budget, piece):
            assert 0 <= b0 < b1 <= n_blocks and 0 <= c0 < c1
            for b in range(b0, b1):
                r0, r1 = stripe_rows(b, n_blocks, c0, c1, n_samples)
                seen[b].extend(range(r0, r1))
        rows = [r for b in range(n_blocks) for r in seen[b]]
        assert rows == list(range(n_samples))


def _random_stripes(rng, n, n_blocks, row_bytes):
    return stripe_plan(n, n_blocks, row_bytes, int(rng.integers(1, 4)),
                       int(rng.integers(1, 40)) * 256 * row_bytes,
                       int(rng.integers(1, 6)) * 256 * row_bytes)


@pytest.mark.parametrize("covariance_type", TYPES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("d, use_blas", [(3, False), (12, True)])
def test_em_accumulate_in_stripes_is_em_statistics(covariance_type, dtype, d,
                                                   use_blas):
    rng = np.random.default_rng(0)
    n, K = 40000, 4
    X = rng.normal(size=(n, d)).astype(dtype) * 2 + 5
    sw = rng.uniform(0, 2, size=n).astype(dtype)
    gm = GaussianMixture(K, covariance_type=covariance_type, max_iter=2,
                         random_state=0)
    fit_quietly(gm, X[:2000])
    means, prec, log_norm, center = gm._kernel_args(
        fastgmm._gaussian_mixture._Params(gm.weights_, gm.means_, gm.covariances_,
                                          gm.precisions_cholesky_), X.dtype)
    code = _em.COVARIANCE_TYPES[covariance_type]
    labels = rng.integers(0, K, size=n).astype(np.int32)
    resp = rng.uniform(size=(n, K)).astype(dtype)
    resp /= resp.sum(axis=1, keepdims=True)
    for extra in ({}, {"labels": labels}, {"resp": resp}):
        want = [np.empty(K), np.empty((K, d)), np.empty(
            {"full": K * d * d, "tied": d * d}.get(covariance_type, K * d))]
        ll_want = _em.em_statistics(X, sw, means, prec, log_norm, center, code,
                                    use_blas, 2, *want, **extra)
        n_blocks = _em.n_blocks_for(n, d, K, code, X.itemsize)
        assert n_blocks > 1
        acc = np.zeros((n_blocks, _em.em_stride(d, K, code)))
        for b0, b1, c0, c1 in _random_stripes(rng, n, n_blocks, X.strides[0]):
            _em.em_accumulate(X, sw, means, prec, log_norm, center, code, use_blas,
                              int(rng.integers(1, 3)), acc, b0, b1, c0, c1, **extra)
        got = [np.empty_like(a) for a in want]
        ll_got = _em.em_reduce(acc, code, *got)
        assert ll_got == ll_want
        for a, b in zip(got, want):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("d", [3, 20])
def test_kmeans_accumulate_in_stripes_is_one_call(dtype, d):
    rng = np.random.default_rng(1)
    n, K = 60000, 5
    X = rng.normal(size=(n, d)).astype(dtype)
    sw = rng.uniform(0, 2, size=n).astype(dtype)
    centers = np.ascontiguousarray(X[:K])
    sums, wsum = np.empty((K, d)), np.empty(K)
    labels = np.empty(n, dtype=np.int32)
    inertia = _kmeans.lloyd_iteration(X, sw, centers, sums, wsum, labels, 2)
    acc = np.zeros((_kmeans.lloyd_n_blocks(n, d, K), 1 + K + K * d))
    got_labels = np.full(n, -1, dtype=np.int32)
    for stripe in _random_stripes(rng, n, acc.shape[0], X.strides[0]):
        _kmeans.lloyd_accumulate(X, sw, centers, acc, *stripe, got_labels, 1)
    got_sums, got_w = np.empty_like(sums), np.empty_like(wsum)
    assert _kmeans.lloyd_reduce(acc, got_sums, got_w) == inertia
    np.testing.assert_array_equal(got_sums, sums)
    np.testing.assert_array_equal(got_w, wsum)
    np.testing.assert_array_equal(got_labels, labels)

    closest = rng.uniform(0, 10, size=n)
    cands = np.ascontiguousarray(X[rng.integers(0, n, size=3)])
    pot = np.empty(3)
    _kmeans.min_sq_distances(X, sw, cands, closest, pot, 2)
    acc = np.zeros((_kmeans.min_sq_n_blocks(n, 3), 3))
    for stripe in _random_stripes(rng, n, acc.shape[0], X.strides[0]):
        _kmeans.min_sq_accumulate(X, sw, cands, closest, acc, *stripe, 2)
    got = np.empty(3)
    _kmeans.min_sq_reduce(acc, got)
    np.testing.assert_array_equal(got, pot)


def test_accumulate_checks_its_arguments():
    X = np.zeros((1000, 2))
    means, prec = np.zeros((2, 2)), np.ones(4)
    log_norm, center = np.zeros(2), np.zeros(2)
    code = _em.COVARIANCE_TYPES["diag"]
    nb = _em.n_blocks_for(1000, 2, 2, code, 8)
    with pytest.raises(ValueError, match="acc must have shape"):
        _em.em_accumulate(X, X[:0, 0], means, prec, log_norm, center, code, False, 1,
                          np.zeros((nb + 1, _em.em_stride(2, 2, code))), 0, 1, 0, 1)
    with pytest.raises(ValueError, match="out of bounds"):
        _em.em_accumulate(X, X[:0, 0], means, prec, log_norm, center, code, False, 1,
                          np.zeros((nb, _em.em_stride(2, 2, code))), 0, nb + 1, 0, 1)
    with pytest.raises(ValueError, match="acc must have shape"):
        _kmeans.lloyd_accumulate(X, X[:0, 0], means, np.zeros((3, 7)), 0, 1, 0, 1,
                                 None, 1)


# --------------------------------------------------------------------------
# memory-mapped files
# --------------------------------------------------------------------------
def test_mapped_rows_only_for_shared_file_mappings(tmp_path):
    X = np.arange(4096 * 3, dtype=np.float64).reshape(-1, 3)
    assert mapped_rows(X) is None
    Xr = save_memmap(tmp_path, X)
    assert mapped_rows(Xr) is not None
    assert mapped_rows(np.asarray(Xr)) is not None     # what check_X returns
    assert mapped_rows(Xr[100:200]) is not None
    assert mapped_rows(Xr[:, :2]) is None               # not C-contiguous
    # copy-on-write: releasing a written page would lose the write
    assert mapped_rows(save_memmap(tmp_path, X, "c.npy", mode="c")) is None
    assert mapped_rows(save_memmap(tmp_path, X, "rw.npy", mode="r+")) is not None


@pytest.mark.parametrize("covariance_type", TYPES)
@pytest.mark.parametrize("init_params", INITS)
def test_memmap_fit_is_bitwise_the_in_memory_fit(tmp_path, small_stripes,
                                                 count_releases, make_blobs_fn,
                                                 covariance_type, init_params):
    d = 12 if covariance_type in ("full", "tied") else 3
    X, _, _ = make_blobs_fn(n=20000, d=d, K=3, seed=4, dtype=np.float32)
    Xm = save_memmap(tmp_path, X)
    kw = dict(n_components=3, covariance_type=covariance_type,
              init_params=init_params, max_iter=4, tol=0.0, random_state=0)
    in_memory = fit_quietly(GaussianMixture(**kw), X)
    assert not count_releases
    mapped = fit_quietly(GaussianMixture(**kw), Xm)
    # streamed: the validation scan, init passes and EM passes released pages
    assert len(count_releases) > 20
    assert_fitted_identical(mapped, in_memory)
    assert mapped.means_.dtype == np.float32


def test_memmap_weights_and_predictions_are_bitwise(tmp_path, small_stripes,
                                                    count_releases, make_blobs_fn):
    X, _, _ = make_blobs_fn(n=20000, d=4, K=3, seed=5)
    w = np.random.default_rng(0).uniform(0, 3, size=X.shape[0])
    Xm, wm = save_memmap(tmp_path, X), save_memmap(tmp_path, w, "w.npy")
    kw = dict(n_components=3, max_iter=5, tol=0.0, random_state=0)
    a = fit_quietly(GaussianMixture(**kw), X, sample_weight=w)
    b = fit_quietly(GaussianMixture(**kw), Xm, sample_weight=wm)
    assert_fitted_identical(b, a)
    del count_releases[:]
    for method in ("predict", "predict_proba", "score_samples"):
        np.testing.assert_array_equal(getattr(b, method)(Xm), getattr(a, method)(X))
    assert len(count_releases) >= 3
    assert b.score(Xm) == a.score(X)
    assert b.bic(Xm) == a.bic(X)


def test_memmap_fit_is_thread_invariant(tmp_path, small_stripes, make_blobs_fn):
    X, _, _ = make_blobs_fn(n=30000, d=10, K=3, seed=6)
    Xm = save_memmap(tmp_path, X)
    kw = dict(n_components=3, max_iter=4, tol=0.0, random_state=0)
    one = fit_quietly(GaussianMixture(n_threads=1, **kw), Xm)
    two = fit_quietly(GaussianMixture(n_threads=2, **kw), Xm)
    assert_fitted_identical(one, two)


def test_copy_on_write_memmap_fits_in_memory_way(tmp_path, count_releases,
                                                 make_blobs_fn):
    X, _, _ = make_blobs_fn(n=5000, d=3, K=3, seed=7)
    Xc = save_memmap(tmp_path, X, mode="c")
    a = fit_quietly(GaussianMixture(3, random_state=0), X)
    b = fit_quietly(GaussianMixture(3, random_state=0), Xc)
    assert not count_releases
    assert_fitted_identical(b, a)


def test_memmap_with_nan_is_rejected_by_the_streamed_scan(tmp_path, small_stripes):
    X = np.random.default_rng(0).normal(size=(20000, 3))
    X[17000, 1] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        GaussianMixture(2).fit(save_memmap(tmp_path, X))
    X[17000, 1] = np.inf
    with pytest.raises(ValueError, match="Input X contains infinity"):
        GaussianMixture(2).fit(save_memmap(tmp_path, X, "inf.npy"))


def _write_npy(path, n_rows, n_features, dtype, seed=0):
    """A clustered data file written block by block (never all in memory)."""
    rng = np.random.default_rng(seed)
    centers = rng.uniform(-20, 20, size=(4, n_features))
    base = rng.normal(size=(1 << 18, n_features))
    base += centers[rng.integers(0, 4, size=base.shape[0])]
    base = base.astype(dtype)
    header = {"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)),
              "fortran_order": False, "shape": (n_rows, n_features)}
    with open(path, "wb") as f:
        np.lib.format.write_array_header_1_0(f, header)
        for i0 in range(0, n_rows, base.shape[0]):
            base[: n_rows - i0].tofile(f)


def _child_peak_rss(path, cov, init, max_iter, K):
    out = subprocess.run(
        [sys.executable, os.path.join(TESTS_DIR, "memmap_rss_child.py"), str(path),
         cov, init, str(max_iter), str(K)],
        capture_output=True, text=True, timeout=900, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


BIG = os.environ.get("FASTGMM_TEST_BIG_MEMMAP", "") not in ("", "0")
MEMMAP_CASES = [(c, "kmeans") for c in TYPES] if BIG else [("full", "kmeans")]


@pytest.mark.skipif(not sys.platform.startswith("linux"),
                    reason="page release and ru_maxrss semantics are Linux's")
@pytest.mark.parametrize("covariance_type, init_params", MEMMAP_CASES)
def test_memmap_fit_peak_memory_is_bounded(tmp_path, covariance_type,
                                           init_params):
    """Fitting a memmapped file adds < 300 MB to the peak resident set.

    1 GB float32 (16.7M x 16) by default; 4 GB (67M x 16) and every
    covariance type with FASTGMM_TEST_BIG_MEMMAP=1.  Without streaming the
    rise would be the file's size.
    """
    size = (4 if BIG else 1) << 30
    if shutil.disk_usage(tmp_path).free < (10 << 30 if BIG else 3 << 30):
        pytest.skip("not enough free disk space for the memmap test file")
    path = tmp_path / "X.npy"
    try:
        _write_npy(path, size // 64, 16, np.float32)
        result = _child_peak_rss(path, covariance_type, init_params, 1, 4)
    finally:
        path.unlink(missing_ok=True)
    assert result["data_bytes"] == size
    assert np.isfinite(result["lower_bound"])
    assert result["fit_rss_increase"] < 300 * 2**20, result
    assert result["predict_rss_increase"] < 300 * 2**20, result


# --------------------------------------------------------------------------
# fit_blocks
# --------------------------------------------------------------------------
def _split(a, cuts):
    return [a[i:j] for i, j in zip([0] + cuts, cuts + [a.shape[0]])]


CUTS = [7001, 7001, 7002, 19000, 20000]   # an empty block and a 1-row block


@pytest.mark.parametrize("covariance_type", TYPES)
@pytest.mark.parametrize("weighted", [False, True])
def test_fit_blocks_equals_concatenated_fit(make_blobs_fn, covariance_type, weighted):
    X, _, _ = make_blobs_fn(n=26000, d=10, K=3, seed=8)
    w = np.random.default_rng(1).uniform(0, 2, size=X.shape[0]) if weighted else None
    kw = dict(n_components=3, covariance_type=covariance_type, max_iter=15, tol=0.0,
              **starting_point(X, 3, covariance_type))
    whole = fit_quietly(GaussianMixture(**kw), X, sample_weight=w)
    parts = fit_blocks_quietly(GaussianMixture(**kw), _split(X, CUTS),
                               _split(w, CUTS) if weighted else None)
    assert_fitted_close(parts, whole, rtol=1e-10)


@pytest.mark.parametrize("init_params", INITS)
def test_fit_blocks_initialisations_match_in_memory(make_blobs_fn, init_params):
    X, _, _ = make_blobs_fn(n=12000, d=4, K=3, seed=9)
    w = np.random.default_rng(2).uniform(0.5, 2, size=X.shape[0])
    kw = dict(n_components=3, init_params=init_params, max_iter=3, tol=0.0,
              random_state=0)
    whole = fit_quietly(GaussianMixture(**kw), X, sample_weight=w)
    parts = fit_blocks_quietly(GaussianMixture(**kw), _split(X, [3000, 8000]),
                               _split(w, [3000, 8000]))
    assert_fitted_close(parts, whole, rtol=1e-9)


def test_fit_blocks_kinds_of_blocks_agree(tmp_path, make_blobs_fn):
    X, _, _ = make_blobs_fn(n=9000, d=3, K=3, seed=10, dtype=np.float32)
    blocks = _split(X, [2000, 6500])
    paths = []
    for i, b in enumerate(blocks):
        paths.append(str(tmp_path / f"b{i}.npy"))
        np.save(paths[-1], b)
    calls = []

    def generate():
        calls.append(1)
        return (np.array(b) for b in blocks)

    kw = dict(n_components=3, max_iter=6, tol=0.0, random_state=0)
    from_list = fit_blocks_quietly(GaussianMixture(**kw), blocks)
    from_tuple = fit_blocks_quietly(GaussianMixture(**kw), tuple(blocks))
    from_paths = fit_blocks_quietly(GaussianMixture(**kw), paths)
    from_callable = fit_blocks_quietly(GaussianMixture(**kw), generate)
    for other in (from_tuple, from_paths, from_callable):
        assert_fitted_identical(other, from_list)
    assert from_list.means_.dtype == np.float32
    # validation, k-means (moments, Lloyd, labels), then one pass per iteration
    assert len(calls) > from_callable.n_iter_ + 1


def test_fit_blocks_passes_once_per_iteration(make_blobs_fn):
    X, _, _ = make_blobs_fn(n=6000, d=3, K=3, seed=11)
    calls = []

    def generate():
        calls.append(1)
        yield X[:2500]
        yield X[2500:]

    gm = fit_blocks_quietly(GaussianMixture(3, max_iter=7, tol=0.0,
                                            **starting_point(X, 3, "full")), generate)
    assert gm.n_iter_ == 7
    assert len(calls) == 1 + 7      # validation + one pass per EM iteration


def test_fit_blocks_dtype_and_threads(make_blobs_fn):
    X, _, _ = make_blobs_fn(n=8000, d=5, K=3, seed=12)
    mixed = [X[:3000].astype(np.float32), X[3000:]]
    assert fit_blocks_quietly(GaussianMixture(3, random_state=0),
                              mixed).means_.dtype == np.float64
    one = fit_blocks_quietly(GaussianMixture(3, random_state=0, n_threads=1),
                             _split(X, [4000]))
    two = fit_blocks_quietly(GaussianMixture(3, random_state=0, n_threads=2),
                             _split(X, [4000]))
    assert_fitted_identical(one, two)
    ints = [np.arange(60).reshape(20, 3) % 7, np.arange(30).reshape(10, 3) % 5]
    gm = fit_blocks_quietly(GaussianMixture(2, random_state=0), ints)
    assert gm.means_.dtype == np.float64


def test_fit_blocks_rejects_bad_blocks():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(100, 3)), rng.normal(size=(50, 3))
    gm = GaussianMixture(2)
    with pytest.raises(ValueError, match="Block 1 has 4 features"):
        gm.fit_blocks([a, rng.normal(size=(10, 4))])
    bad = b.copy()
    bad[3, 0] = np.nan
    with pytest.raises(ValueError, match="Block 1: Input X contains NaN"):
        gm.fit_blocks([a, bad])
    with pytest.raises(ValueError, match="fewer blocks"):
        gm.fit_blocks([a, b], [np.ones(100)])
    with pytest.raises(ValueError, match="more blocks"):
        gm.fit_blocks([a], [np.ones(100), np.ones(5)])
    with pytest.raises(ValueError, match=r"Block 1: sample_weight.shape"):
        gm.fit_blocks([a, b], [np.ones(100), np.ones(49)])
    with pytest.raises(ValueError, match="Negative values"):
        gm.fit_blocks([a, b], [np.ones(100), -np.ones(50)])
    with pytest.raises(ValueError, match="they all are zero"):
        gm.fit_blocks([a, b], [np.zeros(100), np.zeros(50)])
    with pytest.raises(ValueError, match="every block is empty"):
        gm.fit_blocks([np.empty((0, 3))])
    with pytest.raises(TypeError, match="list or tuple"):
        gm.fit_blocks(a)
    with pytest.raises(ValueError, match="n_samples >= n_components"):
        GaussianMixture(5).fit_blocks([a[:2], b[:2]])
    # one all-zero-weight block among others is fine
    GaussianMixture(2, random_state=0).fit_blocks([a, b], [np.ones(100), np.zeros(50)])

    sizes = iter([100, 60])

    def changing():
        n = next(sizes, 60)
        return iter([rng.normal(size=(n, 3))])

    with pytest.raises(ValueError, match="changed shape between passes"):
        GaussianMixture(2, random_state=0).fit_blocks(changing)
