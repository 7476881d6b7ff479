"""Compiled kernels (``fastgmm._em``, ``fastgmm._kmeans``, ``fastgmm._utils``)
against independent NumPy computations.

The E-step statistics are checked against ``tests/numpy_reference.py`` (a
textbook EM working with covariance Cholesky factors, not with the
precision-Cholesky parametrisation the kernels use); the k-means helpers
against brute-force NumPy distances.  Every covariance type, both dtypes,
both per-chunk code paths (BLAS and plain loops), weighted and unweighted
data and sizes around the 256-row chunk boundary are covered.
"""

import itertools
import sys

import numpy as np
import pytest
from scipy.special import logsumexp
from threadpoolctl import threadpool_limits

import numpy_reference as ref
from fastgmm import _dispatch, _em, _kmeans, _utils
from fastgmm._mstep import precision_cholesky


def _kernel_builds():
    """Every kernel build this machine can run: the portable baseline and
    the SIMD builds (AVX2, AVX-512) the CPU supports, whichever the
    dispatcher would pick."""
    return {name: _dispatch.load(name) for name in _dispatch.available_builds()}


KERNEL_BUILDS = _kernel_builds()


@pytest.fixture(autouse=True, params=sorted(KERNEL_BUILDS))
def kernel_build(request, monkeypatch):
    """Run every test of this module against every kernel build.

    The module-level names ``_em`` and ``_kmeans`` (used by the tests and
    the helpers below) are pointed at the build under test.
    """
    em, km = KERNEL_BUILDS[request.param]
    module = sys.modules[__name__]
    monkeypatch.setattr(module, "_em", em)
    monkeypatch.setattr(module, "_kmeans", km)
    return request.param

TYPES = ref.COVARIANCE_TYPES
DTYPES = (np.float64, np.float32)
CHUNK = _em.CHUNK
SIZES = (1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 5)
RTOL = {np.float64: 1e-10, np.float32: 1e-4}
LOG_2PI = np.log(2 * np.pi)


def rtol_for(dtype):
    return RTOL[np.dtype(dtype).type]


def assert_close(actual, expected, rtol, err_msg=""):
    """Relative agreement, with an absolute floor scaled to the array's size.

    Sums over many rows with cancellation (off-diagonal second moments, for
    instance) cannot be relatively exact entry by entry; ``rtol * max|expected|``
    is the meaningful absolute accuracy.
    """
    expected = np.asarray(expected, dtype=np.float64)
    actual = np.asarray(actual)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    scale = np.abs(expected).max() if expected.size else 0.0
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * scale,
                               err_msg=err_msg)


# --------------------------------------------------------------------------
# problem construction and the NumPy oracle
# --------------------------------------------------------------------------
def mixture_data(n, d, K, seed, dtype, offset=0.0):
    """Overlapping blobs (responsibilities are genuinely soft)."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=2.0, size=(K, d)) + offset
    lab = rng.integers(0, K, size=n)
    X = centers[lab] + rng.normal(size=(n, d)) * rng.uniform(0.6, 1.4, size=d)
    return np.ascontiguousarray(X, dtype=dtype)


def weights_with_zeros(n, dtype, seed=3):
    """Positive random weights with every 4th one (and a whole run) set to 0."""
    rng = np.random.default_rng(seed)
    s = rng.uniform(0.1, 3.0, size=n)
    s[1::4] = 0.0
    s[CHUNK // 2:CHUNK // 2 + 40] = 0.0  # a run of zeros inside a chunk
    return np.ascontiguousarray(s, dtype=dtype)


class Problem:
    """Kernel inputs in ``dtype`` and the float64 parameters they represent.

    The precision Cholesky factors are rounded to ``dtype`` first and the
    reference covariances are recomputed from the rounded factors, so the
    kernel and the reference see exactly the same model.
    """

    def __init__(self, K, d, covariance_type, dtype, seed=0, means_offset=0.0,
                 weights=None):
        rng = np.random.default_rng(seed + 100)
        self.K, self.d, self.type, self.dtype = K, d, covariance_type, dtype
        self.code = _em.COVARIANCE_TYPES[covariance_type]
        w = rng.uniform(0.5, 1.5, size=K) if weights is None else np.asarray(
            weights, dtype=np.float64)
        self.weights = w / w.sum()
        means = rng.normal(scale=2.0, size=(K, d)) + means_offset
        self.means = np.ascontiguousarray(means, dtype=dtype)
        self.means64 = self.means.astype(np.float64)
        cov = _random_covariances(rng, K, d, covariance_type)
        pc = ref.precisions_cholesky_from_covariances(cov, covariance_type)
        self.prec_chol = np.ascontiguousarray(pc, dtype=dtype)
        self.prec_flat = self.prec_chol.ravel()
        self.cov = _covariances_from_prec_chol(self.prec_chol.astype(np.float64),
                                               covariance_type)
        # log w_k - 1/2 log|Sigma_k| - d/2 log(2 pi), from the covariances
        full = ref.expand_covariances(self.cov, covariance_type, K, d)
        logdet = np.array([np.linalg.slogdet(c)[1] for c in full])
        with np.errstate(divide="ignore"):
            self.log_norm = np.log(self.weights) - 0.5 * logdet - 0.5 * d * LOG_2PI
        # tied centre: deliberately not the weighted mean of the means
        self.center = np.ascontiguousarray(
            self.weights @ self.means64 + rng.normal(scale=0.5, size=d), dtype=dtype)
        self.center64 = self.center.astype(np.float64)

    # reference ------------------------------------------------------------
    def log_weighted(self, X):
        """a_ik = log w_k + log N(x_i | mu_k, Sigma_k), float64."""
        with np.errstate(divide="ignore"):
            return np.log(self.weights)[None, :] + ref.log_gaussian_prob(
                np.asarray(X, dtype=np.float64), self.means64, self.cov, self.type)

    def reference_e_step(self, X, sample_weight=None):
        a = self.log_weighted(X)
        log_p = logsumexp(a, axis=1)
        resp = np.exp(a - log_p[:, None])
        s = np.ones(len(X)) if sample_weight is None else np.asarray(
            sample_weight, dtype=np.float64)
        return float(s @ log_p), log_p, resp, a

    def reference_statistics(self, X, resp, sample_weight=None):
        centers = self.center64 if self.type == "tied" else self.means64
        sw = None if sample_weight is None else np.asarray(sample_weight, np.float64)
        return ref.sufficient_statistics(np.asarray(X, np.float64), resp, self.type,
                                         centers, sample_weight=sw)

    # kernel ---------------------------------------------------------------
    def outputs(self):
        K, d = self.K, self.d
        s2 = {"full": K * d * d, "tied": d * d}.get(self.type, K * d)
        return np.full(K, np.nan), np.full((K, d), np.nan), np.full(s2, np.nan)

    def em_statistics(self, X, sample_weight=None, use_blas=True, n_threads=1,
                      **mode):
        sw = np.empty(0, dtype=X.dtype) if sample_weight is None else sample_weight
        N, S1, S2 = self.outputs()
        ll = _em.em_statistics(X, sw, self.means, self.prec_flat, self.log_norm,
                               self.center, self.code, use_blas, n_threads,
                               N, S1, S2, **mode)
        return ll, N, S1, S2

    def predict(self, X, use_blas=True, n_threads=1, log_prob=True, resp=True,
                labels=True):
        n = X.shape[0]
        out = dict(
            log_prob_norm=np.full(n, np.nan) if log_prob else None,
            resp=np.full((n, self.K), np.nan, dtype=X.dtype) if resp else None,
            labels=np.full(n, -1, dtype=np.intp) if labels else None,
        )
        _em.predict(X, self.means, self.prec_flat, self.log_norm, self.center,
                    self.code, use_blas, n_threads, **out)
        return out


def _random_covariances(rng, K, d, covariance_type):
    def spd():
        B = rng.normal(size=(d, d))
        return 1.5 * (B @ B.T / d + 0.5 * np.eye(d))

    if covariance_type == "full":
        return np.stack([spd() for _ in range(K)])
    if covariance_type == "tied":
        return spd()
    if covariance_type == "diag":
        return rng.uniform(0.5, 2.5, size=(K, d))
    return rng.uniform(0.5, 2.5, size=K)


def _covariances_from_prec_chol(P, covariance_type):
    """Sigma = (P P^T)^-1 computed with plain inverses (not fastgmm's code)."""
    if covariance_type == "full":
        return np.stack([np.linalg.inv(p @ p.T) for p in P])
    if covariance_type == "tied":
        return np.linalg.inv(P @ P.T)
    return 1.0 / P ** 2


def check_statistics(problem, got, X, resp, sample_weight, rtol, ll_expected=None):
    ll, N, S1, S2 = got
    eN, eS1, eS2 = problem.reference_statistics(X, resp, sample_weight)
    assert_close(N, eN, rtol, "N")
    assert_close(S1, eS1, rtol, "S1")
    assert_close(S2, eS2.ravel(), rtol, "S2")
    if problem.type in ("full", "tied"):
        mats = S2.reshape(-1, problem.d, problem.d)
        np.testing.assert_array_equal(mats, np.swapaxes(mats, 1, 2))
    if ll_expected is not None:
        assert ll == pytest.approx(ll_expected, rel=rtol, abs=rtol)


# --------------------------------------------------------------------------
# constants
# --------------------------------------------------------------------------
def test_module_constants():
    assert _em.CHUNK >= 1
    assert _em.COVARIANCE_TYPES == {"full": 0, "tied": 1, "diag": 2, "spherical": 3}


@pytest.mark.parametrize("covariance_type", TYPES)
@pytest.mark.parametrize("itemsize", [4, 8])
@pytest.mark.parametrize("n", [1, 255, 256, 257, 600, 773, 2560, 20000, 10**6])
@pytest.mark.parametrize("d,K", [(1, 1), (5, 3), (50, 8), (200, 20)])
def test_n_blocks_for(n, d, K, covariance_type, itemsize):
    code = _em.COVARIANCE_TYPES[covariance_type]
    nb = _em.n_blocks_for(n, d, K, code, itemsize)
    n_chunks = -(-n // CHUNK)
    assert 1 <= nb <= min(64, n_chunks)
    assert nb & (nb - 1) == 0, "number of blocks must be a power of two"
    # per-block double accumulators: loglik, N, S1, S2 (packed triangles)
    tri = d * (d + 1) // 2
    s2 = {"full": K * tri, "tied": tri}.get(covariance_type, K * d)
    acc_bytes = nb * 8 * (1 + K + K * d + s2)
    budget = max(1024 * 1024, n * d * itemsize // 32, 2 * acc_bytes // nb)
    assert nb == 1 or acc_bytes <= budget
    # two threads must always share the work (blocks are powers of two)
    assert nb >= min(2, 1 << (n_chunks.bit_length() - 1))
    # and the budget is used: one more doubling would exceed it
    assert nb == min(64, 1 << (n_chunks.bit_length() - 1)) or 2 * acc_bytes > budget


def test_n_blocks_several_for_large_inputs():
    for code in range(4):
        for itemsize in (4, 8):
            assert _em.n_blocks_for(20000, 5, 3, code, itemsize) > 1


# --------------------------------------------------------------------------
# em_statistics: E-step mode vs the reference
# --------------------------------------------------------------------------
@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("use_blas", [True, False], ids=["blas", "loops"])
@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("covariance_type", TYPES)
def test_em_statistics_estep(covariance_type, dtype, use_blas, weighted, n):
    K, d = 3, 4
    X = mixture_data(n, d, K, seed=n, dtype=dtype)
    p = Problem(K, d, covariance_type, dtype, seed=n)
    sw = weights_with_zeros(n, dtype) if weighted else None
    ll_ref, _, resp, _ = p.reference_e_step(X, sw)
    got = p.em_statistics(X, sw, use_blas=use_blas)
    assert isinstance(got[0], float)
    check_statistics(p, got, X, resp, sw, rtol_for(dtype), ll_expected=ll_ref)


@pytest.mark.parametrize("use_blas", [True, False], ids=["blas", "loops"])
@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("covariance_type", TYPES)
# (64, 3) and (65, 6): the last d of the component-major diag/spherical
# kernels and the first of their row-major loops
@pytest.mark.parametrize("d,K", [(1, 1), (1, 4), (7, 1), (17, 5), (64, 3), (65, 6)])
def test_em_statistics_shapes(covariance_type, dtype, use_blas, d, K):
    n = 2 * CHUNK + 17
    X = mixture_data(n, d, max(K, 2), seed=d * 10 + K, dtype=dtype)
    p = Problem(K, d, covariance_type, dtype, seed=d + K)
    sw = weights_with_zeros(n, dtype)
    ll_ref, _, resp, _ = p.reference_e_step(X, sw)
    got = p.em_statistics(X, sw, use_blas=use_blas)
    check_statistics(p, got, X, resp, sw, rtol_for(dtype), ll_expected=ll_ref)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("d", [*range(1, 11), 12, 15, 16, 17])
def test_em_statistics_full_small_d(d, dtype):
    """'full' without BLAS has a component-major kernel per literal d <= 16
    (d <= 8: features in registers; 9..16: blocked)."""
    n, K = 2 * CHUNK + 13, 4
    X = mixture_data(n, d, K, seed=40 + d, dtype=dtype)
    p = Problem(K, d, "full", dtype, seed=40 + d)
    sw = weights_with_zeros(n, dtype)
    ll_ref, _, resp, _ = p.reference_e_step(X, sw)
    got = p.em_statistics(X, sw, use_blas=False)
    check_statistics(p, got, X, resp, sw, rtol_for(dtype), ll_expected=ll_ref)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("d", [9, 12, 16])
@pytest.mark.parametrize("covariance_type", TYPES)
def test_em_statistics_and_predict_small_d_wide(covariance_type, d, dtype):
    """9..16 features without BLAS: the blocked component-major kernels, for
    every covariance type, against the NumPy reference."""
    n, K = 2 * CHUNK + 13, 3
    X = mixture_data(n, d, K, seed=60 + d, dtype=dtype)
    p = Problem(K, d, covariance_type, dtype, seed=60 + d)
    sw = weights_with_zeros(n, dtype)
    ll_ref, log_prob_ref, resp, _ = p.reference_e_step(X, sw)
    got = p.em_statistics(X, sw, use_blas=False, n_threads=2)
    check_statistics(p, got, X, resp, sw, rtol_for(dtype), ll_expected=ll_ref)
    blas = p.em_statistics(X, sw, use_blas=True, n_threads=2)
    check_statistics(p, blas, X, resp, sw, rtol_for(dtype), ll_expected=ll_ref)
    out = p.predict(X, use_blas=False, n_threads=2)
    rtol = rtol_for(dtype)
    np.testing.assert_allclose(out["log_prob_norm"], log_prob_ref, rtol=rtol)
    np.testing.assert_allclose(out["resp"], resp, rtol=rtol, atol=rtol)
    a = p.log_weighted(X)
    clear = np.sort(a, axis=1)[:, -1] - np.sort(a, axis=1)[:, -2] > 1e-3
    np.testing.assert_array_equal(out["labels"][clear], a[clear].argmax(axis=1))


@pytest.mark.parametrize("covariance_type", TYPES)
def test_small_d_padding_rows_take_no_part(covariance_type):
    # The component-major kernel pads a chunk to a multiple of 8 rows with
    # x = 0.  Data far from the origin (and a unit precision) make every
    # density of such a row zero: its log-sum-exp is NaN, which must not
    # leak into the statistics (it did, with libm's exp, in the portable
    # build).
    n, d, K = 5, 2, 2
    X = 1e160 + np.arange(n * d, dtype=np.float64).reshape(n, d)
    means = np.ascontiguousarray(X[[0, 3]])
    cov = {"full": np.tile(np.eye(d), (K, 1, 1)), "tied": np.eye(d),
           "diag": np.ones((K, d)), "spherical": np.ones(K)}[covariance_type]
    prec = precision_cholesky(cov, covariance_type, np.float64)
    log_norm = np.full(K, np.log(0.5) - d / 2 * np.log(2 * np.pi))
    code = _em.COVARIANCE_TYPES[covariance_type]
    N, S1 = np.empty(K), np.empty((K, d))
    S2 = np.empty(K * d * d if covariance_type == "full" else
                  d * d if covariance_type == "tied" else K * d)
    ll = _em.em_statistics(X, np.empty(0), means, prec.ravel(), log_norm,
                           means.mean(axis=0), code, False, 1, N, S1, S2)
    assert np.isfinite(ll)
    assert np.all(np.isfinite(S2)) and np.all(np.isfinite(S1))
    np.testing.assert_allclose(N.sum(), n)


def test_vector_exp_matches_numpy():
    """The kernels' exp (for the log-sum-exp terms, x <= 0) is within 2 ulp
    of numpy's down to exp's normal range, and 0 below it and at -inf."""
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.uniform(-708.3, 0.0, 200_000),
                        rng.uniform(-40.0, 0.0, 200_000),
                        [0.0, -0.0, -1e-300, -0.3466, -0.3465, -708.3]])
    out = np.empty_like(x)
    _em.vector_exp(x, out)
    expected = np.exp(x)
    assert np.max(np.abs(out - expected) / np.spacing(expected)) <= 2.0
    assert np.all(out[-6:-3] == 1.0)
    special = np.array([-800.0, -709.0, -np.inf])
    out = np.empty_like(special)
    _em.vector_exp(special, out)
    assert np.all(out >= 0.0) and np.all(out <= np.exp(-708.3)) and out[2] == 0.0


def test_vector_expf_matches_exact():
    """The float kernels' exp (float32 data's log-sum-exp terms, x <= 0) is
    within 2 float32 ulp of the exact value down to float's normal range,
    and at most FLT_MIN below it (0 at -inf)."""
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.uniform(-87.3, 0.0, 200_000),
                        rng.uniform(-10.0, 0.0, 200_000),
                        [0.0, -0.0, -1e-30, -0.34657, -0.34658, -87.3]]).astype(np.float32)
    out = np.empty_like(x)
    _em.vector_exp(x, out)
    assert out.dtype == np.float32
    exact = np.exp(x.astype(np.float64))
    ulp = np.spacing(exact.astype(np.float32)).astype(np.float64)
    assert np.max(np.abs(out - exact) / ulp) <= 2.0
    assert np.all(out[-6:-3] == 1.0)
    special = np.array([-87.4, -100.0, -np.inf], dtype=np.float32)
    out = np.empty_like(special)
    _em.vector_exp(special, out)
    tiny = np.finfo(np.float32).tiny
    assert np.all(out >= 0.0) and np.all(out <= tiny) and out[2] == 0.0


@pytest.mark.parametrize("use_blas", [True, False], ids=["blas", "loops"])
@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("covariance_type", TYPES)
def test_em_statistics_many_blocks(single_threaded_blas, covariance_type, dtype,
                                   use_blas):
    """Several accumulation blocks with uneven numbers of chunks each."""
    n, d, K = 79 * CHUNK - 100, 5, 3
    nb = _em.n_blocks_for(n, d, K, _em.COVARIANCE_TYPES[covariance_type],
                          np.dtype(dtype).itemsize)
    assert 1 < nb < 79  # some blocks get more chunks than others
    X = mixture_data(n, d, K, seed=11, dtype=dtype)
    p = Problem(K, d, covariance_type, dtype, seed=11)
    sw = weights_with_zeros(n, dtype)
    ll_ref, _, resp, _ = p.reference_e_step(X, sw)
    got = p.em_statistics(X, sw, use_blas=use_blas, n_threads=2)
    check_statistics(p, got, X, resp, sw, rtol_for(dtype), ll_expected=ll_ref)


@pytest.mark.parametrize("use_blas", [True, False], ids=["blas", "loops"])
@pytest.mark.parametrize("covariance_type", TYPES)
def test_em_statistics_far_from_origin(covariance_type, use_blas):
    """Data and means far from 0 relative to their spread (float64)."""
    n, d, K = CHUNK + 31, 3, 3
    X = mixture_data(n, d, K, seed=5, dtype=np.float64, offset=1e4)
    p = Problem(K, d, covariance_type, np.float64, seed=5, means_offset=1e4)
    # the tied centre, too, is near the data
    ll_ref, _, resp, _ = p.reference_e_step(X)
    got = p.em_statistics(X, None, use_blas=use_blas)
    check_statistics(p, got, X, resp, None, 1e-7, ll_expected=ll_ref)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("covariance_type", ["diag", "spherical"])
def test_dense_moments_beside_a_far_component(covariance_type, dtype):
    """Dense 'diag'/'spherical' components take the moments about the centre
    c (shifted to m_k per chunk); one component far from c in its own
    standard deviations is summed exactly about m_k instead: both in the
    same chunks, six components (tiles of four and two), 34 features (a
    feature block's tail), several chunks, weights, any thread count."""
    K, d, n = 6, 34, 3 * CHUNK + 77
    # the far component has a tiny weight, so c stays near the others
    # (their shift about 100 sd: the tiles), but most rows: its own
    # responsibilities are dense and ~1e6 sd from c (the shifted moments
    # would lose ~1e-4 of its variances)
    p = Problem(K, d, covariance_type, dtype, seed=7, weights=[1, 1, 1, 1, 1, 5e-4])
    means = p.means64.copy()
    means[5] += 1e6 if dtype == np.float64 else 1e3
    p.means = np.ascontiguousarray(means, dtype=dtype)
    p.means64 = p.means.astype(np.float64)
    p.center = np.ascontiguousarray(p.weights @ p.means64, dtype=dtype)
    p.center64 = p.center.astype(np.float64)
    rng = np.random.default_rng(8)
    lab = np.where(rng.random(n) < 0.6, 5, rng.integers(0, 5, n))
    X = np.ascontiguousarray(p.means64[lab] + rng.normal(size=(n, d)), dtype=dtype)
    sw = weights_with_zeros(n, dtype)
    ll_ref, _, resp, _ = p.reference_e_step(X, sw)
    one = p.em_statistics(X, sw, use_blas=False, n_threads=1)
    check_statistics(p, one, X, resp, sw, rtol_for(dtype), ll_expected=ll_ref)
    two = p.em_statistics(X, sw, use_blas=False, n_threads=2)
    for a, b in zip(one, two):
        np.testing.assert_array_equal(a, b)


def separated_problem(covariance_type, dtype, d, n, K=4):
    """Far-apart clusters, rows sorted by cluster, every 10th row on a
    segment between two means: most responsibilities underflow to exactly
    0, the others take every size between 0 and 1, and whole chunks have
    none for some components (the scatter skips those rows)."""
    p = Problem(K, d, covariance_type, dtype, seed=11 + d)
    rng = np.random.default_rng(d)
    lab = np.sort(rng.integers(0, K, size=n))
    p.means = np.ascontiguousarray(p.means64 * 40.0 / np.sqrt(d), dtype=dtype)
    p.means64 = p.means.astype(np.float64)
    X = p.means64[lab] + rng.normal(size=(n, d))
    t = rng.uniform(size=(len(X[::10]), 1))
    other = (lab[::10] + 1) % K
    X[::10] = (1 - t) * p.means64[lab[::10]] + t * p.means64[other]
    return p, np.ascontiguousarray(X, dtype=dtype)


@pytest.mark.parametrize("use_blas", [True, False], ids=["blas", "loops"])
@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("covariance_type", TYPES)
@pytest.mark.parametrize("d", [5, 12, 20, 40])
def test_em_statistics_separated_clusters(covariance_type, dtype, use_blas, d):
    p, X = separated_problem(covariance_type, dtype, d, 3 * CHUNK + 41)
    sw = weights_with_zeros(len(X), dtype)
    ll_ref, _, resp, _ = p.reference_e_step(X, sw)
    assert (resp == 0.0).mean() > 0.5
    got = p.em_statistics(X, sw, use_blas=use_blas)
    check_statistics(p, got, X, resp, sw, rtol_for(dtype), ll_expected=ll_ref)


@pytest.mark.parametrize("use_blas", [True, False], ids=["blas", "loops"])
@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("covariance_type", TYPES)
def test_em_statistics_zero_weight_component_and_outliers(covariance_type, dtype,
                                                          use_blas):
    """A component with w_k = 0 (log_norm = -inf) and rows far in the tails."""
    n, d, K = CHUNK + 9, 3, 3
    X = mixture_data(n, d, K, seed=8, dtype=dtype)
    X[::50] *= 15.0  # outliers: every density underflows without log-sum-exp
    p = Problem(K, d, covariance_type, dtype, seed=8, weights=[0.6, 0.0, 0.4])
    assert p.log_norm[1] == -np.inf
    sw = weights_with_zeros(n, dtype)
    ll_ref, _, resp, _ = p.reference_e_step(X, sw)
    assert np.isfinite(ll_ref)
    got = p.em_statistics(X, sw, use_blas=use_blas)
    assert np.isfinite(got[0])
    assert got[1][1] == 0.0 and np.all(got[2][1] == 0.0)
    check_statistics(p, got, X, resp, sw, rtol_for(dtype), ll_expected=ll_ref)


def test_em_statistics_all_weights_zero():
    n, d, K = 300, 3, 2
    for t in TYPES:
        X = mixture_data(n, d, K, seed=1, dtype=np.float64)
        p = Problem(K, d, t, np.float64, seed=1)
        ll, N, S1, S2 = p.em_statistics(X, np.zeros(n))
        assert ll == 0.0
        assert np.all(N == 0) and np.all(S1 == 0) and np.all(S2 == 0)


# --------------------------------------------------------------------------
# em_statistics: labels= and resp= modes
# --------------------------------------------------------------------------
def _dummy_parameters(problem):
    """What the initialisation passes: parameters are not used in these modes."""
    problem.prec_flat = np.zeros_like(problem.prec_flat)
    problem.log_norm = np.zeros(problem.K)
    return problem


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("use_blas", [True, False], ids=["blas", "loops"])
@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("covariance_type", TYPES)
def test_em_statistics_labels_mode(covariance_type, dtype, use_blas, weighted, n):
    K, d = 4, 3
    rng = np.random.default_rng(n + 1)
    X = mixture_data(n, d, K, seed=n + 1, dtype=dtype)
    p = _dummy_parameters(Problem(K, d, covariance_type, dtype, seed=n + 1))
    labels = rng.integers(0, K - 1, size=n).astype(np.int32)  # component 3 empty
    sw = weights_with_zeros(n, dtype) if weighted else None
    resp = np.eye(K)[labels]
    labels_copy = labels.copy()
    got = p.em_statistics(X, sw, use_blas=use_blas, labels=labels)
    np.testing.assert_array_equal(labels, labels_copy)
    check_statistics(p, got, X, resp, sw, rtol_for(dtype))
    assert got[1][K - 1] == 0.0 and np.all(got[2][K - 1] == 0.0)


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("use_blas", [True, False], ids=["blas", "loops"])
@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("covariance_type", TYPES)
def test_em_statistics_resp_mode(covariance_type, dtype, use_blas, weighted, n):
    K, d = 3, 4
    rng = np.random.default_rng(n + 2)
    X = mixture_data(n, d, K, seed=n + 2, dtype=dtype)
    p = _dummy_parameters(Problem(K, d, covariance_type, dtype, seed=n + 2))
    resp = rng.dirichlet(np.ones(K), size=n).astype(dtype)
    resp[::7] = np.eye(K, dtype=dtype)[0]  # some hard rows
    sw = weights_with_zeros(n, dtype) if weighted else None
    resp_copy = resp.copy()
    got = p.em_statistics(X, sw, use_blas=use_blas, resp=resp)
    np.testing.assert_array_equal(resp, resp_copy)
    check_statistics(p, got, X, resp.astype(np.float64), sw, rtol_for(dtype))


def test_em_statistics_mode_shape_errors():
    n, d, K = 40, 3, 2
    X = mixture_data(n, d, K, seed=0, dtype=np.float64)
    p = Problem(K, d, "full", np.float64)
    with pytest.raises(ValueError, match="labels"):
        p.em_statistics(X, labels=np.zeros(n - 1, dtype=np.int32))
    with pytest.raises(ValueError, match="resp"):
        p.em_statistics(X, resp=np.full((n, K + 1), 1.0 / (K + 1)))
    with pytest.raises(ValueError, match="sample_weight"):
        p.em_statistics(X, np.ones(n + 1))
    N, S1, S2 = p.outputs()
    with pytest.raises(ValueError):
        _em.em_statistics(X, np.empty(0), p.means, p.prec_flat[:-1], p.log_norm,
                          p.center, p.code, True, 1, N, S1, S2)
    with pytest.raises(ValueError):
        _em.em_statistics(X, np.empty(0), p.means, p.prec_flat, p.log_norm,
                          p.center, p.code, True, 1, N, S1, S2[:-1])
    with pytest.raises(ValueError):
        _em.em_statistics(X, np.empty(0), p.means, p.prec_flat, p.log_norm,
                          p.center, 7, True, 1, N, S1, S2)


# --------------------------------------------------------------------------
# predict
# --------------------------------------------------------------------------
def check_predict(problem, X, out, rtol):
    _, log_p, resp, a = problem.reference_e_step(X)
    n = X.shape[0]
    if out["log_prob_norm"] is not None:
        assert out["log_prob_norm"].dtype == np.float64
        assert_close(out["log_prob_norm"], log_p, rtol, "log_prob_norm")
        np.testing.assert_allclose(out["log_prob_norm"], log_p, rtol=rtol,
                                   atol=rtol)
    if out["resp"] is not None:
        r = out["resp"]
        assert r.dtype == X.dtype
        np.testing.assert_allclose(r, resp, rtol=0, atol=10 * rtol)
        np.testing.assert_allclose(r.astype(np.float64).sum(axis=1), 1.0,
                                   rtol=0, atol=10 * rtol)
    if out["labels"] is not None:
        lab = out["labels"]
        assert lab.dtype == np.intp
        assert np.all((lab >= 0) & (lab < problem.K))
        best = a.max(axis=1)
        # the chosen component is (within rounding) a maximiser of a_ik ...
        assert np.all(a[np.arange(n), lab] >= best - rtol * (1 + np.abs(best)))
        # ... and is the argmax wherever the argmax is clear
        second = np.sort(a, axis=1)[:, -2] if problem.K > 1 else -np.inf
        clear = best - second > 1e3 * rtol * (1 + np.abs(best))
        np.testing.assert_array_equal(lab[clear], a.argmax(axis=1)[clear])


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("use_blas", [True, False], ids=["blas", "loops"])
@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("covariance_type", TYPES)
def test_predict(covariance_type, dtype, use_blas, n):
    K, d = 3, 4
    X = mixture_data(n, d, K, seed=n + 3, dtype=dtype)
    X[::37] *= 10.0  # some rows far in the tails
    p = Problem(K, d, covariance_type, dtype, seed=n + 3)
    out = p.predict(X, use_blas=use_blas)
    check_predict(p, X, out, rtol_for(dtype))


@pytest.mark.parametrize("use_blas", [True, False], ids=["blas", "loops"])
@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("covariance_type", TYPES)
@pytest.mark.parametrize("d,K", [(17, 5), (40, 4), (64, 3), (65, 6)])
def test_predict_wide(covariance_type, dtype, use_blas, d, K):
    """Past the small-d kernels: BLAS or row loops for full/tied, the
    component-major diag/spherical kernels up to 64 features and their
    row-major loops from 65."""
    n = 2 * CHUNK + 13
    X = mixture_data(n, d, K, seed=d + K, dtype=dtype)
    p = Problem(K, d, covariance_type, dtype, seed=d + K)
    check_predict(p, X, p.predict(X, use_blas=use_blas), rtol_for(dtype))


@pytest.mark.parametrize("which", ["log_prob", "resp", "labels"])
@pytest.mark.parametrize("covariance_type", TYPES)
def test_predict_single_output(covariance_type, which):
    n, d, K = 2 * CHUNK + 3, 3, 3
    for dtype in DTYPES:
        X = mixture_data(n, d, K, seed=4, dtype=dtype)
        p = Problem(K, d, covariance_type, dtype, seed=4)
        flags = dict(log_prob=False, resp=False, labels=False)
        flags[which] = True
        out = p.predict(X, **flags)
        check_predict(p, X, out, rtol_for(dtype))


@pytest.mark.parametrize("covariance_type", TYPES)
def test_predict_zero_weight_component(covariance_type):
    n, d, K = CHUNK + 1, 3, 3
    X = mixture_data(n, d, K, seed=2, dtype=np.float64)
    p = Problem(K, d, covariance_type, np.float64, seed=2, weights=[0.0, 0.5, 0.5])
    out = p.predict(X)
    assert np.all(out["resp"][:, 0] == 0.0)
    assert np.all(out["labels"] != 0)
    check_predict(p, X, out, 1e-10)


def test_predict_shape_errors():
    n, d, K = 40, 3, 2
    X = mixture_data(n, d, K, seed=0, dtype=np.float64)
    p = Problem(K, d, "diag", np.float64)
    args = (X, p.means, p.prec_flat, p.log_norm, p.center, p.code, False, 1)
    with pytest.raises(ValueError):
        _em.predict(*args, log_prob_norm=np.empty(n + 1))
    with pytest.raises(ValueError):
        _em.predict(*args, resp=np.empty((n, K + 1)))
    with pytest.raises(ValueError):
        _em.predict(*args, labels=np.empty(n - 1, dtype=np.intp))


# --------------------------------------------------------------------------
# determinism across thread counts
# --------------------------------------------------------------------------
@pytest.fixture
def single_threaded_blas():
    """As the estimator does: one BLAS thread inside the OpenMP kernels.

    (Multi-threaded BLAS called from several OpenMP threads oversubscribes
    the cores and only makes these tests slow.)
    """
    with threadpool_limits(limits=1, user_api="blas"):
        yield


@pytest.fixture(scope="module")
def big_data():
    n, d = 20000, 5
    out = {}
    for dtype in DTYPES:
        X = mixture_data(n, d, 3, seed=21, dtype=dtype)
        out[np.dtype(dtype).name] = (X, weights_with_zeros(n, dtype, seed=22))
    return out


@pytest.mark.parametrize("use_blas", [True, False], ids=["blas", "loops"])
@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("covariance_type", TYPES)
def test_em_statistics_thread_invariance(big_data, single_threaded_blas,
                                         covariance_type, dtype, use_blas):
    X, sw = big_data[np.dtype(dtype).name]
    n, d = X.shape
    p = Problem(3, d, covariance_type, dtype, seed=23)
    assert _em.n_blocks_for(n, d, 3, p.code, X.itemsize) > 1
    for weights in (None, sw):
        runs = [p.em_statistics(X, weights, use_blas=use_blas, n_threads=t)
                for t in (1, 2, 3)]
        for other in runs[1:]:
            assert other[0] == runs[0][0]
            for a, b in zip(runs[0][1:], other[1:]):
                np.testing.assert_array_equal(a, b)
    # and the numbers are right
    ll_ref, _, resp, _ = p.reference_e_step(X, sw)
    check_statistics(p, runs[0], X, resp, sw, rtol_for(dtype), ll_expected=ll_ref)
    # n_threads < 1 means "all available threads": still the same bits
    again = p.em_statistics(X, sw, use_blas=use_blas, n_threads=0)
    assert again[0] == runs[0][0]
    np.testing.assert_array_equal(again[3], runs[0][3])


@pytest.mark.parametrize("use_blas", [True, False], ids=["blas", "loops"])
@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("covariance_type", TYPES)
def test_em_statistics_modes_thread_invariance(big_data, single_threaded_blas,
                                               covariance_type, dtype, use_blas):
    X, sw = big_data[np.dtype(dtype).name]
    n, d = X.shape
    rng = np.random.default_rng(0)
    p = _dummy_parameters(Problem(3, d, covariance_type, dtype, seed=24))
    labels = rng.integers(0, 3, size=n).astype(np.int32)
    resp = rng.dirichlet(np.ones(3), size=n).astype(dtype)
    for mode in (dict(labels=labels), dict(resp=resp)):
        a = p.em_statistics(X, sw, use_blas=use_blas, n_threads=1, **mode)
        b = p.em_statistics(X, sw, use_blas=use_blas, n_threads=2, **mode)
        for u, v in zip(a[1:], b[1:]):
            np.testing.assert_array_equal(u, v)


@pytest.mark.parametrize("use_blas", [True, False], ids=["blas", "loops"])
@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("covariance_type", TYPES)
@pytest.mark.parametrize("d", [12, 40, 64])
def test_separated_clusters_thread_invariance(single_threaded_blas, covariance_type,
                                              dtype, use_blas, d):
    """The paths that skip zero responsibilities (gathered rows, sparse
    diag sums) and the wide component-major diag kernels: same bits for
    any thread count."""
    p, X = separated_problem(covariance_type, dtype, d, 12 * CHUNK + 41)
    assert _em.n_blocks_for(len(X), d, p.K, p.code, X.itemsize) > 1
    sw = weights_with_zeros(len(X), dtype)
    runs = [p.em_statistics(X, sw, use_blas=use_blas, n_threads=t) for t in (1, 2, 3)]
    for other in runs[1:]:
        assert other[0] == runs[0][0]
        for a, b in zip(runs[0][1:], other[1:]):
            np.testing.assert_array_equal(a, b)
    one = p.predict(X, use_blas=use_blas, n_threads=1)
    other = p.predict(X, use_blas=use_blas, n_threads=2)
    for key in one:
        np.testing.assert_array_equal(one[key], other[key])


@pytest.mark.parametrize("use_blas", [True, False], ids=["blas", "loops"])
@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("covariance_type", TYPES)
def test_predict_thread_invariance(big_data, single_threaded_blas, covariance_type,
                                   dtype, use_blas):
    X, _ = big_data[np.dtype(dtype).name]
    p = Problem(3, X.shape[1], covariance_type, dtype, seed=25)
    one = p.predict(X, use_blas=use_blas, n_threads=1)
    for t in (2, 3):
        other = p.predict(X, use_blas=use_blas, n_threads=t)
        for key in one:
            np.testing.assert_array_equal(one[key], other[key])


# --------------------------------------------------------------------------
# inputs: never modified; read-only arrays and memmaps accepted
# --------------------------------------------------------------------------
@pytest.mark.parametrize("use_blas", [True, False], ids=["blas", "loops"])
@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("covariance_type", TYPES)
def test_inputs_not_modified_and_read_only(covariance_type, dtype, use_blas):
    n, d, K = 3 * CHUNK + 5, 4, 3
    X = mixture_data(n, d, K, seed=6, dtype=dtype)
    p = Problem(K, d, covariance_type, dtype, seed=6)
    sw = weights_with_zeros(n, dtype)
    labels = (np.arange(n) % K).astype(np.int32)
    resp = np.full((n, K), 1.0 / K, dtype=dtype)
    inputs = [X, sw, p.means, p.prec_flat, p.log_norm, p.center, labels, resp]
    copies = [a.copy() for a in inputs]
    for a in inputs:
        a.setflags(write=False)
    ll_ref, log_p, r, _ = p.reference_e_step(X, sw)
    got = p.em_statistics(X, sw, use_blas=use_blas)
    check_statistics(p, got, X, r, sw, rtol_for(dtype), ll_expected=ll_ref)
    p.em_statistics(X, sw, use_blas=use_blas, labels=labels)
    p.em_statistics(X, sw, use_blas=use_blas, resp=resp)
    out = p.predict(X, use_blas=use_blas)
    check_predict(p, X, out, rtol_for(dtype))
    for a, b in zip(inputs, copies):
        np.testing.assert_array_equal(a, b)
    # the k-means kernels, too
    centers = np.ascontiguousarray(X[:K])
    centers.setflags(write=False)
    _kmeans.lloyd_iteration(X, sw, centers, np.empty((K, d)), np.empty(K), None, 1)
    closest = np.full(n, np.inf)
    _kmeans.min_sq_distances(X, sw, centers, closest, np.empty(K), 1)
    assert _utils.finite_status(X, 1) == 0
    for a, b in zip(inputs, copies):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
def test_read_only_memmap(tmp_path, dtype):
    n, d, K = 2 * CHUNK + 11, 3, 3
    X = mixture_data(n, d, K, seed=7, dtype=dtype)
    path = tmp_path / "X.dat"
    mm = np.memmap(path, dtype=dtype, mode="w+", shape=X.shape)
    mm[:] = X
    mm.flush()
    del mm
    Xm = np.memmap(path, dtype=dtype, mode="r", shape=X.shape)
    assert not Xm.flags.writeable
    for t in TYPES:
        p = Problem(K, d, t, dtype, seed=7)
        ll_ref, _, resp, _ = p.reference_e_step(X)
        got = p.em_statistics(Xm)
        check_statistics(p, got, X, resp, None, rtol_for(dtype), ll_expected=ll_ref)
        check_predict(p, X, p.predict(Xm), rtol_for(dtype))
    assert _utils.finite_status(Xm, 2) == 0
    closest = np.full(n, np.inf)
    _kmeans.update_min_sq_distances(Xm, np.ascontiguousarray(X[0]), closest, 2)
    np.testing.assert_allclose(closest, ((X.astype(np.float64) - X[0]) ** 2).sum(1),
                               rtol=1e-14)
    del Xm


# --------------------------------------------------------------------------
# k-means kernels vs brute-force NumPy
# --------------------------------------------------------------------------
def kmeans_problem(n, d, K, dtype, seed):
    """Data, centres and squared distances; rows with near-tied nearest
    centres are dropped so that the nearest centre is unambiguous."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=3.0, size=(K, d))
    m = n + n // 2 + 10
    X = centers[rng.integers(0, K, size=m)] + rng.normal(size=(m, d)) * 1.5
    X = X.astype(dtype)
    C = (centers + rng.normal(scale=0.5, size=centers.shape)).astype(dtype)
    D = ((X.astype(np.float64)[:, None, :] - C.astype(np.float64)[None]) ** 2).sum(-1)
    if K > 1:
        part = np.sort(D, axis=1)
        keep = (part[:, 1] - part[:, 0]) > 1e-3 * (1.0 + part[:, 1])
        X, D = X[keep][:n], D[keep][:n]
    else:
        X, D = X[:n], D[:n]
    assert X.shape[0] == n
    return np.ascontiguousarray(X), np.ascontiguousarray(C), D


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("d", [3, 20], ids=["d3-loops", "d20-gemm"])
@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
def test_lloyd_iteration(dtype, d, weighted, n):
    K = 4
    X, C, D = kmeans_problem(n, d, K, dtype, seed=n + d)
    sw = weights_with_zeros(n, dtype) if weighted else np.empty(0, dtype=dtype)
    s = sw.astype(np.float64) if weighted else np.ones(n)
    lab_ref = D.argmin(axis=1)
    sums, wsum = np.full((K, d), np.nan), np.full(K, np.nan)
    labels = np.full(n, -1, dtype=np.int32)
    inertia = _kmeans.lloyd_iteration(X, sw, C, sums, wsum, labels, 1)
    np.testing.assert_array_equal(labels, lab_ref)
    onehot = np.eye(K)[lab_ref] * s[:, None]
    np.testing.assert_allclose(wsum, onehot.sum(axis=0), rtol=1e-12)
    assert_close(sums, onehot.T @ X.astype(np.float64), 1e-12)
    expected = float(s @ D[np.arange(n), lab_ref])
    assert inertia == pytest.approx(expected, rel=10 * rtol_for(dtype))
    # labels=None gives the same sums
    sums2, wsum2 = np.empty((K, d)), np.empty(K)
    inertia2 = _kmeans.lloyd_iteration(X, sw, C, sums2, wsum2, None, 2)
    np.testing.assert_array_equal(sums2, sums)
    np.testing.assert_array_equal(wsum2, wsum)
    assert inertia2 == inertia


def test_lloyd_iteration_empty_cluster():
    X, C, D = kmeans_problem(500, 3, 3, np.float64, seed=1)
    C = np.vstack([C, [[1e6, 1e6, 1e6]]])  # nobody is closest to this one
    sums, wsum = np.empty((4, 3)), np.empty(4)
    labels = np.empty(500, dtype=np.int32)
    _kmeans.lloyd_iteration(X, np.empty(0), C, sums, wsum, labels, 2)
    assert wsum[3] == 0.0 and np.all(sums[3] == 0.0)
    np.testing.assert_array_equal(labels, D.argmin(axis=1))


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
def test_min_sq_distances(dtype, weighted, n):
    d, T = 5, 4
    rng = np.random.default_rng(n)
    X = mixture_data(n, d, 3, seed=n, dtype=dtype)
    cand = np.ascontiguousarray(X[rng.integers(0, n, size=T)] + 0.25, dtype=dtype)
    X64, c64 = X.astype(np.float64), cand.astype(np.float64)
    closest = rng.uniform(0.0, 40.0, size=n)
    closest[::5] = np.inf
    closest_copy = closest.copy()
    sw = weights_with_zeros(n, dtype) if weighted else np.empty(0, dtype=dtype)
    s = sw.astype(np.float64) if weighted else np.ones(n)
    pot = np.full(T, np.nan)
    _kmeans.min_sq_distances(X, sw, cand, closest, pot, 1)
    np.testing.assert_array_equal(closest, closest_copy)  # only read
    D = ((X64[:, None, :] - c64[None]) ** 2).sum(-1)
    expected = s @ np.minimum(D, closest[:, None])
    np.testing.assert_allclose(pot, expected, rtol=1e-12)


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
def test_update_min_sq_distances(dtype, n):
    d = 6
    rng = np.random.default_rng(n)
    X = mixture_data(n, d, 3, seed=n, dtype=dtype)
    center = np.ascontiguousarray(rng.normal(size=d), dtype=dtype)
    dist = ((X.astype(np.float64) - center.astype(np.float64)) ** 2).sum(1)
    closest = np.full(n, np.inf)
    _kmeans.update_min_sq_distances(X, center, closest, 2)
    np.testing.assert_allclose(closest, dist, rtol=1e-14)
    # folding in a second centre keeps the minimum
    center2 = np.ascontiguousarray(X[n // 2] + 0.1, dtype=dtype)
    dist2 = ((X.astype(np.float64) - center2.astype(np.float64)) ** 2).sum(1)
    _kmeans.update_min_sq_distances(X, center2, closest, 1)
    np.testing.assert_allclose(closest, np.minimum(dist, dist2), rtol=1e-14)


@pytest.mark.parametrize("d", [3, 20])
@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
def test_lloyd_ties_go_to_the_first_centre(dtype, d):
    # a duplicated centre: every row is exactly as near to both copies, and
    # (as scikit-learn) the first one wins
    n = 3 * CHUNK + 5
    X = mixture_data(n, d, 2, seed=4, dtype=dtype)
    C = np.ascontiguousarray(X[[0, 7, 0, 7]])
    sums, wsum = np.empty((4, d)), np.empty(4)
    labels = np.empty(n, dtype=np.int32)
    _kmeans.lloyd_iteration(X, np.empty(0, dtype), C, sums, wsum, labels, 2)
    assert set(np.unique(labels)) <= {0, 1}
    assert wsum[2] == wsum[3] == 0.0
    d2 = ((X[:, None, :].astype(np.float64) - C[None, :2]) ** 2).sum(-1)
    clear = np.abs(d2[:, 0] - d2[:, 1]) > 1e-3 * d2.max()
    np.testing.assert_array_equal(labels[clear], d2[clear].argmin(1))


@pytest.mark.parametrize("d", [5, 20])
@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
def test_kmeans_kernels_thread_invariance(single_threaded_blas, dtype, d):
    n, K = 20000, 5
    rng = np.random.default_rng(d)
    X = mixture_data(n, d, K, seed=d, dtype=dtype)
    sw = weights_with_zeros(n, dtype)
    C = np.ascontiguousarray(X[rng.choice(n, K, replace=False)])
    res = []
    for t in (1, 2, 3):
        sums, wsum = np.empty((K, d)), np.empty(K)
        labels = np.empty(n, dtype=np.int32)
        inertia = _kmeans.lloyd_iteration(X, sw, C, sums, wsum, labels, t)
        closest = np.full(n, np.inf)
        _kmeans.update_min_sq_distances(X, C[0], closest, t)
        pot = np.empty(K)
        _kmeans.min_sq_distances(X, sw, C, closest, pot, t)
        res.append((inertia, sums, wsum, labels, closest, pot))
    for other in res[1:]:
        assert other[0] == res[0][0]
        for a, b in zip(res[0][1:], other[1:]):
            np.testing.assert_array_equal(a, b)


def test_kmeans_kernel_shape_errors():
    X = np.zeros((10, 3))
    with pytest.raises(ValueError):
        _kmeans.lloyd_iteration(X, np.empty(0), np.zeros((2, 4)), np.empty((2, 3)),
                                np.empty(2), None, 1)
    with pytest.raises(ValueError):
        _kmeans.lloyd_iteration(X, np.ones(9), np.zeros((2, 3)), np.empty((2, 3)),
                                np.empty(2), None, 1)
    with pytest.raises(ValueError):
        _kmeans.min_sq_distances(X, np.empty(0), np.zeros((2, 3)), np.empty(9),
                                 np.empty(2), 1)
    with pytest.raises(ValueError):
        _kmeans.update_min_sq_distances(X, np.zeros(2), np.empty(10), 1)


# --------------------------------------------------------------------------
# finiteness scan
# --------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
def test_finite_status(dtype):
    n, d = 3 * 4096 + 7, 3
    rng = np.random.default_rng(0)
    base = rng.normal(size=(n, d)).astype(dtype)
    base[0, 0] = np.finfo(dtype).max
    base[1, 1] = -np.finfo(dtype).max
    base[2, 2] = np.finfo(dtype).tiny / 2  # subnormal
    for t in (1, 2):
        assert _utils.finite_status(base, t) == 0
    positions = [(0, 0), (4095, 2), (4096, 0), (n - 1, d - 1)]
    for (i, j), (value, expected) in itertools.product(
            positions, [(np.nan, 1), (np.inf, 2), (-np.inf, 2)]):
        X = base.copy()
        X[i, j] = value
        for t in (1, 2):
            assert _utils.finite_status(X, t) == expected, (i, j, value, t)
        assert _utils.finite_status_1d(np.ascontiguousarray(X[:, j])) == expected
    # NaN wins over inf, wherever they are
    X = base.copy()
    X[5, 0] = np.inf
    X[n - 1, 2] = np.nan
    assert _utils.finite_status(X, 2) == 1
    assert _utils.finite_status(np.empty((0, 3), dtype=dtype), 1) == 0
    assert _utils.finite_status_1d(np.ascontiguousarray(base[:, 0])) == 0
    assert _utils.finite_status_1d(np.array([np.inf, 1.0, np.nan], dtype=dtype)) == 1


# --------------------------------------------------------------------------
# the two builds agree (they may differ in the last bits: FMA rounding)
# --------------------------------------------------------------------------
@pytest.mark.skipif(len(KERNEL_BUILDS) < 2, reason="only one kernel build here")
class TestBuildsAgree:
    @pytest.fixture(autouse=True)
    def kernel_build(self):
        """Overrides the module's per-build parametrisation: all builds at once."""
        return None

    @pytest.mark.parametrize("use_blas", [True, False], ids=["blas", "loops"])
    @pytest.mark.parametrize("covariance_type", TYPES)
    def test_em_statistics(self, covariance_type, use_blas):
        n, d, K = 3 * CHUNK + 5, 4, 3
        X = mixture_data(n, d, K, seed=9, dtype=np.float64)
        sw = weights_with_zeros(n, np.float64)
        p = Problem(K, d, covariance_type, np.float64, seed=9)
        results = []
        for name in sorted(KERNEL_BUILDS):
            em, _ = KERNEL_BUILDS[name]
            N, S1, S2 = p.outputs()
            ll = em.em_statistics(X, sw, p.means, p.prec_flat, p.log_norm,
                                  p.center, p.code, use_blas, 2, N, S1, S2)
            out = dict(log_prob_norm=np.empty(n), resp=np.empty((n, K)),
                       labels=np.empty(n, dtype=np.intp))
            em.predict(X, p.means, p.prec_flat, p.log_norm, p.center, p.code,
                       use_blas, 2, **out)
            results.append((ll, N, S1, S2, out))
        for other in results[1:]:
            assert other[0] == pytest.approx(results[0][0], rel=1e-12)
            for a, b in zip(results[0][1:4], other[1:4]):
                assert_close(b, a, 1e-12)
            assert_close(other[4]["log_prob_norm"], results[0][4]["log_prob_norm"],
                         1e-12)
            np.testing.assert_allclose(other[4]["resp"], results[0][4]["resp"],
                                       rtol=0, atol=1e-12)
            np.testing.assert_array_equal(other[4]["labels"], results[0][4]["labels"])


# --------------------------------------------------------------------------
# What each build says it was compiled for, and the CPU detection choosing it
# --------------------------------------------------------------------------

def test_build_reports_what_it_was_compiled_for(kernel_build):
    """Each build's SIMD constant (from _kernels/simd.h, i.e. from the
    compiler's own macros) names the build the dispatcher loaded it as; the
    SIMD builds have FMA and the portable one does not."""
    assert _em.SIMD == kernel_build
    assert _kmeans.SIMD == kernel_build
    assert _em.FMA is (kernel_build != "baseline")


def test_blas_threshold_comes_from_the_build_in_use(kernel_build):
    """The estimator's BLAS_MIN_FEATURES is the dispatched build's own value
    (no copy in Python).  Each build's value is where its own loops stop
    beating BLAS: the SIMD builds' register tiles up to 16 features, the
    portable loops up to 8 (_kernels/tuning.h)."""
    from fastgmm import GaussianMixture, _mixture

    assert _mixture.BLAS_MIN_FEATURES == _dispatch.em.BLAS_MIN_FEATURES
    gm = GaussianMixture()
    assert gm._use_blas(_dispatch.em.BLAS_MIN_FEATURES)
    assert not gm._use_blas(_dispatch.em.BLAS_MIN_FEATURES - 1)
    assert _em.BLAS_MIN_FEATURES == (9 if kernel_build == "baseline" else 17)


def test_cpu_features_agree_with_numpy():
    """The compiled detection (no NumPy private module at run time) finds
    the same features as NumPy's own, where this NumPy exposes them."""
    from fastgmm._cpu import cpu_features

    ours = cpu_features()
    assert set(ours) == {"AVX2", "FMA3", "AVX512F", "AVX512CD", "AVX512BW",
                         "AVX512DQ", "AVX512VL"}
    try:
        from numpy._core._multiarray_umath import __cpu_features__
    except ImportError:
        pytest.skip("this NumPy does not expose its CPU features")
    assert ours == {k: bool(__cpu_features__.get(k)) for k in ours}


def test_dispatch_follows_the_detected_features(monkeypatch):
    """A CPU without AVX2 gets the baseline, one without AVX-512 at most
    AVX2, whatever the machine running the test has."""
    none = dict.fromkeys(("AVX2", "FMA3", "AVX512F", "AVX512CD", "AVX512BW",
                          "AVX512DQ", "AVX512VL"), False)
    monkeypatch.setattr(_dispatch, "cpu_features", lambda: dict(none))
    assert _dispatch.available_builds() == ["baseline"]
    real = _dispatch_features()
    no512 = dict(real, AVX512F=False)
    monkeypatch.setattr(_dispatch, "cpu_features", lambda: dict(no512))
    assert "avx512" not in _dispatch.available_builds()
    if real["AVX2"] and real["FMA3"]:
        assert _dispatch.available_builds()[0] == "avx2"


def _dispatch_features():
    from fastgmm._cpu import cpu_features
    return cpu_features()
