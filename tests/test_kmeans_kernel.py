"""Lloyd's assignment kernel (``_kmeans.lloyd_iteration``, the register tiles
of ``_kernels/kmeans_tiles.h``) against NumPy, in every kernel build.

Every d takes the same path: direct squared distances in the data's
precision, so the labels are the argmin of sum_j (x_j - c_j)^2 (first
centre on ties) and the sums and weights are exact up to double rounding.
"""

import numpy as np
import pytest

from fastgmm import _dispatch

BUILDS = {name: _dispatch.load(name)[1] for name in _dispatch.available_builds()}
CHUNK = 256
DTYPES = (np.float64, np.float32)


@pytest.fixture(params=sorted(BUILDS))
def km(request):
    return BUILDS[request.param]


def _problem(n, d, K, dtype, seed):
    """Overlapping blobs and centres near them, with the rows whose two
    nearest centres are nearly tied (relative gap < 1e-4) dropped, so the
    argmin does not depend on the rounding of the distances."""
    rng = np.random.default_rng(seed)
    means = rng.normal(scale=1.5, size=(K, d))
    m = 2 * n + 50
    X = (means[rng.integers(0, K, size=m)] + rng.normal(size=(m, d))).astype(dtype)
    C = (means + rng.normal(scale=0.3, size=means.shape)).astype(dtype)
    D = ((X.astype(np.float64)[:, None, :] - C.astype(np.float64)[None]) ** 2).sum(-1)
    if K > 1:
        part = np.sort(D, axis=1)
        keep = (part[:, 1] - part[:, 0]) > 1e-4 * (1.0 + part[:, 1])
        X, D = X[keep], D[keep]
    return np.ascontiguousarray(X[:n]), np.ascontiguousarray(C), D[:n]


def _weights(n, dtype):
    rng = np.random.default_rng(n)
    s = rng.uniform(0.1, 3.0, size=n)
    s[1::4] = 0.0
    return s.astype(dtype)


def _run(km, X, sw, C, n_threads=1):
    K, d = C.shape
    sums, wsum = np.full((K, d), np.nan), np.full(K, np.nan)
    labels = np.full(X.shape[0], -1, dtype=np.int32)
    inertia = km.lloyd_iteration(X, sw, C, sums, wsum, labels, n_threads)
    return inertia, sums, wsum, labels


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("d", [1, 5, 16, 17, 32, 40, 64, 100])
def test_lloyd_matches_numpy(km, d, dtype, weighted):
    n = 3 * CHUNK + 37   # a partial last chunk and a partial last tile
    for K in (1, 3, 9, 13):   # below, at and past the centre groups
        X, C, D = _problem(n, d, K, dtype, seed=100 * d + K)
        sw = _weights(n, dtype) if weighted else np.empty(0, dtype=dtype)
        s = sw.astype(np.float64) if weighted else np.ones(n)
        inertia, sums, wsum, labels = _run(km, X, sw, C)
        ref = D.argmin(axis=1)
        np.testing.assert_array_equal(labels, ref)
        onehot = np.eye(K)[ref] * s[:, None]
        np.testing.assert_allclose(wsum, onehot.sum(axis=0), rtol=1e-13)
        np.testing.assert_allclose(sums, onehot.T @ X.astype(np.float64),
                                   rtol=1e-12, atol=1e-9)
        expected = float(s @ D[np.arange(n), ref])
        rtol = 1e-12 if dtype == np.float64 else 1e-5
        assert inertia == pytest.approx(expected, rel=rtol)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("d", [2, 5, 17, 40])
def test_exact_ties_go_to_the_first_centre(km, d, dtype):
    # small integers: every distance is exact in both precisions, and many
    # rows are exactly as far from several centres; the label must be the
    # first of them (np.argmin's rule)
    rng = np.random.default_rng(d)
    n, K = 2 * CHUNK + 19, 11
    X = rng.integers(-2, 3, size=(n, d)).astype(dtype)
    C = rng.integers(-2, 3, size=(K, d)).astype(dtype)
    C[7] = C[2]   # and a duplicated centre: never chosen
    D = ((X.astype(np.int64)[:, None, :] - C.astype(np.int64)[None]) ** 2).sum(-1)
    ref = D.argmin(axis=1)
    assert np.sum((D == D.min(axis=1, keepdims=True)).sum(axis=1) > 1) >= 20
    inertia, sums, wsum, labels = _run(km, X, np.empty(0, dtype), C, 2)
    np.testing.assert_array_equal(labels, ref)
    assert wsum[7] == 0.0 and np.all(sums[7] == 0.0)
    assert inertia == float(D.min(axis=1).sum())
    np.testing.assert_array_equal(sums, np.eye(K)[ref].T @ X.astype(np.float64))


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("d", [5, 17, 64])
def test_lloyd_thread_invariance(km, d, dtype):
    n, K = 40 * CHUNK + 3, 10
    X, C, _ = _problem(n, d, K, dtype, seed=d)
    sw = _weights(n, dtype)
    res = [_run(km, X, sw, C, t) for t in (1, 2, 3)]
    for other in res[1:]:
        assert other[0] == res[0][0]
        for a, b in zip(res[0][1:], other[1:]):
            np.testing.assert_array_equal(a, b)
    # stripes (as the streamed sources run them) give the same bits
    inertia, sums, wsum, _ = res[0]
    nb = km.lloyd_n_blocks(n, d, K)
    assert nb > 1
    acc = np.zeros((nb, 1 + K + K * d))
    n_chunks = (n + CHUNK - 1) // CHUNK
    for c0, c1 in ((0, 1), (1, 2), (2, n_chunks)):
        km.lloyd_accumulate(X, sw, C, acc, 0, nb, c0, c1, None, 2)
    sums2, wsum2 = np.empty((K, d)), np.empty(K)
    assert km.lloyd_reduce(acc, sums2, wsum2) == inertia
    np.testing.assert_array_equal(sums2, sums)
    np.testing.assert_array_equal(wsum2, wsum)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
def test_far_from_the_origin(km, dtype):
    # direct distances: an offset of 1e4 (float64) does not blur the
    # assignment of rows whose clusters are 1 apart
    d, K, n = 24, 5, CHUNK + 9
    offset = 1e4 if dtype == np.float64 else 1e2
    X, C, D = _problem(n, d, K, np.float64, seed=5)
    X = np.ascontiguousarray(X + offset, dtype=dtype)
    C = np.ascontiguousarray(C + offset, dtype=dtype)
    D = ((X.astype(np.float64)[:, None, :] - C.astype(np.float64)[None]) ** 2).sum(-1)
    part = np.sort(D, axis=1)
    clear = (part[:, 1] - part[:, 0]) > 1e-3 * (1.0 + part[:, 1])
    _, _, _, labels = _run(km, X, np.empty(0, dtype), C)
    np.testing.assert_array_equal(labels[clear], D[clear].argmin(axis=1))


@pytest.mark.parametrize("n_threads", [1, 2])
def test_lloyd_on_a_sample_then_all_rows(n_threads):
    """Large data: k-means++ seeds and Lloyd converges on a uniform sample
    (at most 1/32 of the rows), then one iteration runs on all rows.  The centres match the
    all-rows k-means from the same seeds to a small fraction of a standard
    deviation, the partitions agree, and the result is the same for any
    thread count."""
    import importlib

    kmod = importlib.import_module("fastgmm._initialization.kmeans")
    from fastgmm._sources import ArraySource

    rng = np.random.default_rng(0)
    K, d, n = 4, 6, 60_000
    centres = rng.normal(scale=3.0, size=(K, d))
    X = centres[rng.integers(0, K, n)] + rng.normal(size=(n, d))
    src = ArraySource(X, np.empty(0))
    n_lloyd = kmod._lloyd_sample_size(n, K)
    assert 0 < n_lloyd <= n // 32
    got = kmod.kmeans(src, K, np.random.RandomState(1), n_threads)
    # the same seeds, Lloyd on all rows to convergence
    rs = np.random.RandomState(1)
    sample, _ = kmod._sample_source(src, rs, n_lloyd)
    seeds, _ = kmod.kmeans_plusplus(sample, K, rs, n_threads)
    _, var = kmod.column_mean_var(src)
    full = kmod._lloyd(src, seeds, rs, n_threads, 300, float(np.mean(var)) * 1e-4)
    order = [int(np.argmin(((full - c) ** 2).sum(axis=1))) for c in got]
    assert sorted(order) == list(range(K))
    assert np.abs(got - full[order]).max() < 0.05
    a = kmod.nearest_centers(X, np.empty(0), got, n_threads)
    b = kmod.nearest_centers(X, np.empty(0), full[order], n_threads)
    assert np.mean(a == b) > 0.995
    other = kmod.kmeans(src, K, np.random.RandomState(1), 3 - n_threads)
    np.testing.assert_array_equal(got, other)
