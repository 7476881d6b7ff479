"""``init_params='hierarchical'``: Ward on a sample, nearest-centroid rest.

Oracles: scipy's own ``linkage``/``fcluster`` on the sampled rows, a NumPy
argmin for the assignment kernel, and a NumPy M-step on the partition for
the initial parameters.
"""

import tracemalloc
import warnings

import numpy as np
import pytest
from scipy.cluster.hierarchy import fcluster, linkage
from sklearn.metrics import adjusted_rand_score

import fastgmm
from fastgmm import GaussianMixture, GaussianMixtureSelector
from fastgmm._initialization.hierarchical import (
    HIERARCHICAL_SAMPLE,
    WardTree,
    cut_labels,
    nearest_centers,
    sample_rows,
)

TYPES = ("full", "tied", "diag", "spherical")


def same_partition(a, b):
    """True when labelings a and b define the same partition."""
    a, b = np.asarray(a), np.asarray(b)
    pairs = np.unique(np.stack([a, b]), axis=1)
    return pairs.shape[1] == np.unique(a).size == np.unique(b).size


# --------------------------------------------------------------------------
# the dendrogram cut
# --------------------------------------------------------------------------
@pytest.mark.parametrize("K", [1, 2, 5, 17, 60])
def test_cut_equals_fcluster(K):
    X = np.random.default_rng(K).normal(size=(300, 3))
    Z = linkage(X, method="ward")
    labels = cut_labels(Z, 300, K)
    assert labels.dtype == np.int32
    assert np.unique(labels).tolist() == list(range(K))
    assert same_partition(labels, fcluster(Z, K, criterion="maxclust"))


def test_cut_has_exactly_k_clusters_with_tied_heights():
    # duplicated rows tie merge heights at 0: fcluster's maxclust can give
    # fewer clusters, the cut still gives exactly K
    X = np.repeat(np.arange(6.0), 5)[:, None]
    Z = linkage(X, method="ward")
    for K in range(1, 31):
        assert np.unique(cut_labels(Z, 30, K)).size == K


@pytest.mark.parametrize("K", [2, 4, 9])
def test_tree_partition_on_sample_equals_scipy_ward(make_blobs_fn, K):
    X, _, _ = make_blobs_fn(n=5000, d=3, K=4, seed=2)
    tree = WardTree(X, np.empty(0), np.random.RandomState(0))
    centers, labels = tree.partition(X, np.empty(0), K, 2)
    expected = fcluster(linkage(X[tree.rows], method="ward"), K, criterion="maxclust")
    assert same_partition(labels[tree.rows], expected)
    # every other row: nearest sample-cluster centroid (NumPy argmin)
    sample_means = np.array([X[tree.rows][labels[tree.rows] == k].mean(axis=0)
                             for k in range(K)])
    np.testing.assert_allclose(centers, sample_means, rtol=1e-12)
    rest = np.setdiff1d(np.arange(X.shape[0]), tree.rows)
    d2 = ((X[rest, None, :] - centers[None]) ** 2).sum(-1)
    np.testing.assert_array_equal(labels[rest], d2.argmin(axis=1))


def test_sample_is_bounded_and_uses_positive_weights():
    rs = np.random.RandomState(0)
    n = 50_000
    rows = sample_rows(n, np.empty(0), HIERARCHICAL_SAMPLE, rs)
    assert 0.9 * HIERARCHICAL_SAMPLE < rows.size <= HIERARCHICAL_SAMPLE
    assert np.all(np.diff(rows) > 0)
    w = np.zeros(n)
    w[::3] = 1.0
    rows = sample_rows(n, w, HIERARCHICAL_SAMPLE, rs)
    assert rows.size > 0.25 * HIERARCHICAL_SAMPLE and np.all(w[rows] > 0)
    # few rows: all of them (zero-weight rows dropped)
    np.testing.assert_array_equal(sample_rows(500, np.empty(0), 2000, rs),
                                  np.arange(500))
    w = np.ones(500)
    w[:100] = 0
    np.testing.assert_array_equal(sample_rows(500, w, 2000, rs), np.arange(100, 500))


# --------------------------------------------------------------------------
# the assignment kernel
# --------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("d", [3, 20])  # loop and GEMM distance paths
def test_nearest_centers_equals_numpy_argmin(dtype, d):
    rng = np.random.default_rng(d)
    X = rng.normal(size=(3001, d)).astype(dtype)
    C = rng.normal(size=(7, d)).astype(dtype)
    labels = nearest_centers(X, np.empty(0, dtype=dtype), C, 2)
    assert labels.dtype == np.int32 and labels.shape == (3001,)
    d2 = ((X.astype(np.float64)[:, None] - C.astype(np.float64)[None]) ** 2).sum(-1)
    expected = d2.argmin(axis=1)
    if dtype == np.float64:
        np.testing.assert_array_equal(labels, expected)
    else:
        # float32 distances: only near-ties may differ
        chosen = d2[np.arange(3001), labels]
        np.testing.assert_allclose(chosen, d2.min(axis=1), rtol=1e-4)
        assert np.mean(labels == expected) > 0.999
    # thread-count invariant
    np.testing.assert_array_equal(
        nearest_centers(X, np.empty(0, dtype=dtype), C, 1), labels)


def test_nearest_centers_allocates_no_n_by_k_array():
    X = np.random.default_rng(0).normal(size=(40_000, 2))
    C = np.random.default_rng(1).normal(size=(64, 2))
    nearest_centers(X, np.empty(0), C, 2)
    tracemalloc.start()
    try:
        nearest_centers(X, np.empty(0), C, 2)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 40_000 * 64 * 8 / 10, peak      # labels (4 bytes/row) only
    assert peak >= 40_000 * 4


@pytest.mark.filterwarnings("ignore:Best performing initialization did not converge")
def test_hierarchical_fit_memory_is_bounded(make_blobs_fn):
    # beyond n-vectors, only Ward's sample-sized condensed distances
    X, _, _ = make_blobs_fn(n=60_000, d=8, K=3, seed=2)
    ward = HIERARCHICAL_SAMPLE * (HIERARCHICAL_SAMPLE - 1) // 2 * 8
    GaussianMixture(2, init_params="hierarchical", max_iter=1).fit(X[:300])
    tracemalloc.start()
    try:
        GaussianMixture(3, init_params="hierarchical", random_state=0,
                        max_iter=2).fit(X)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1.3 * ward + 0.2 * X.nbytes, (peak, ward, X.nbytes)


# --------------------------------------------------------------------------
# the estimator
# --------------------------------------------------------------------------
@pytest.mark.parametrize("covariance_type", TYPES)
def test_initial_parameters_are_one_m_step_on_the_partition(make_blobs_fn,
                                                          covariance_type):
    X, _, _ = make_blobs_fn(n=4000, d=2, K=3, seed=3)
    w = np.random.default_rng(0).uniform(0.5, 2.0, size=X.shape[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fastgmm.ConvergenceWarning)
        gm = GaussianMixture(3, covariance_type=covariance_type,
                             init_params="hierarchical", random_state=5,
                             max_iter=0).fit(X, sample_weight=w)
    tree = WardTree(X, w, np.random.RandomState(5))
    _, labels = tree.partition(X, w, 3, 1)
    nk = np.bincount(labels, weights=w, minlength=3)
    means = np.array([w[labels == k] @ X[labels == k] for k in range(3)]) / nk[:, None]
    np.testing.assert_allclose(gm.weights_, nk / w.sum(), rtol=1e-12)
    np.testing.assert_allclose(gm.means_, means, rtol=1e-10)
    covs = np.array([np.cov(X[labels == k].T, aweights=w[labels == k], bias=True)
                     for k in range(3)]) + 1e-6 * np.eye(2)
    expected = {"full": covs,
                "tied": (nk[:, None, None] * (covs - 1e-6 * np.eye(2))).sum(0) / nk.sum()
                + 1e-6 * np.eye(2),
                "diag": np.diagonal(covs, axis1=1, axis2=2),
                "spherical": np.diagonal(covs, axis1=1, axis2=2).mean(1)}[covariance_type]
    np.testing.assert_allclose(gm.covariances_, expected, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_hierarchical_recovers_blobs(make_blobs_fn, dtype):
    X, y, _ = make_blobs_fn(n=6000, d=4, K=5, seed=6, dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fastgmm.ConvergenceWarning)
        init = GaussianMixture(5, init_params="hierarchical", random_state=0,
                               max_iter=0).fit(X)
    assert adjusted_rand_score(y, init.predict(X)) > 0.99
    gm = GaussianMixture(5, init_params="hierarchical", random_state=0).fit(X)
    assert gm.means_.dtype == dtype
    assert adjusted_rand_score(y, gm.predict(X)) > 0.99
    assert gm.converged_


def test_hierarchical_is_deterministic_and_thread_invariant(make_blobs_fn):
    X, _, _ = make_blobs_fn(n=3000, d=3, K=3, seed=7)
    a = GaussianMixture(4, init_params="hierarchical", random_state=1, n_threads=1).fit(X)
    b = GaussianMixture(4, init_params="hierarchical", random_state=1, n_threads=2).fit(X)
    np.testing.assert_array_equal(a.means_, b.means_)
    assert a.lower_bound_ == b.lower_bound_


def test_too_few_weighted_rows_raises():
    X = np.random.default_rng(0).normal(size=(10, 2))
    w = np.zeros(10)
    w[:3] = 1.0
    # the estimator counts rows of non-zero weight before any initialisation
    with pytest.raises(ValueError, match="n_components = 5, n_samples = 3"):
        GaussianMixture(5, init_params="hierarchical").fit(X, sample_weight=w)


def test_selector_builds_one_dendrogram_per_init(make_blobs_fn, monkeypatch):
    import fastgmm._initialization.hierarchical as hier

    calls = []
    original = hier.linkage

    def counting(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(hier, "linkage", counting)
    X, _, _ = make_blobs_fn(n=1000, d=2, K=3, seed=1)
    GaussianMixtureSelector(range(1, 6), init_params="hierarchical",
                            random_state=0).fit(X)
    assert len(calls) == 1                       # not 5 x 4 candidates
    calls.clear()
    GaussianMixtureSelector(range(1, 6), init_params="hierarchical", n_init=2,
                            random_state=0).fit(X)
    assert len(calls) == 2
