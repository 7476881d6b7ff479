"""``GaussianMixture`` on dask arrays (``fastgmm.dask``).

The in-memory fit is the oracle: from the same initial parameters the Dask
fit equals it to rounding, on the threaded scheduler and on a real
``dask.distributed.LocalCluster`` of two worker processes, also when a
worker is killed in the middle of the fit.

Cost: about 30-40 s on a busy 2-core machine (most of it starting the
cluster's worker processes).
"""

import os
import signal
import warnings

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

import dask  # noqa: E402

import fastgmm.dask as fdask  # noqa: E402
from fastgmm import ConvergenceWarning, GaussianMixture  # noqa: E402

TYPES = ("full", "tied", "diag", "spherical")


def quietly(fn, *args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return fn(*args, **kw)


def assert_fitted_close(a, b, rtol=1e-9):
    for attr in ("weights_", "means_", "covariances_", "precisions_",
                 "precisions_cholesky_", "lower_bounds_"):
        x = np.asarray(getattr(a, attr), dtype=np.float64)
        y = np.asarray(getattr(b, attr), dtype=np.float64)
        np.testing.assert_allclose(x, y, rtol=rtol, atol=rtol * np.abs(y).max(),
                                   err_msg=attr)
        if attr != "lower_bounds_":
            assert getattr(a, attr).dtype == getattr(b, attr).dtype, attr
    assert a.n_iter_ == b.n_iter_
    assert a.converged_ == b.converged_


def starting_point(X, K, covariance_type):
    gm = quietly(GaussianMixture(K, covariance_type=covariance_type, max_iter=1,
                                 init_params="random_from_data", random_state=3).fit, X)
    return dict(weights_init=gm.weights_, means_init=gm.means_,
                precisions_init=gm.precisions_)


@pytest.fixture(scope="module")
def data(make_blobs_fn):
    X, labels, _ = make_blobs_fn(n=12000, d=10, K=3, seed=21)
    w = np.random.default_rng(0).uniform(0.2, 2.0, size=X.shape[0])
    return X, labels, w


# --------------------------------------------------------------------------
# default (threaded) scheduler
# --------------------------------------------------------------------------
@pytest.mark.parametrize("covariance_type", TYPES)
@pytest.mark.parametrize("weighted", [False, True])
def test_dask_fit_equals_in_memory_fit(data, covariance_type, weighted):
    X, _, w = data
    w = w if weighted else None
    kw = dict(n_components=3, covariance_type=covariance_type, max_iter=12,
              tol=0.0, **starting_point(X, 3, covariance_type))
    dX = da.from_array(X, chunks=(2500, 5))          # column chunks get merged
    dw = None if w is None else da.from_array(w, chunks=1000)   # rechunked to X's
    whole = quietly(GaussianMixture(**kw).fit, X, sample_weight=w)
    dist = quietly(GaussianMixture(**kw).fit, dX, sample_weight=dw)
    assert_fitted_close(dist, whole, rtol=1e-10)
    assert type(dist) is GaussianMixture and isinstance(dist.means_, np.ndarray)


def test_dask_kmeans_init_is_the_in_memory_init(data):
    X, _, w = data
    kw = dict(n_components=3, max_iter=4, tol=0.0, random_state=0)
    whole = quietly(GaussianMixture(**kw).fit, X, sample_weight=w)
    dist = quietly(GaussianMixture(**kw).fit, da.from_array(X, chunks=(3000, 10)),
                   sample_weight=w)
    assert_fitted_close(dist, whole, rtol=1e-9)


def test_dask_random_init_draws_per_block(data):
    """'random' draws each block's responsibilities on its worker: other
    numbers than in memory, the same distribution (both start every
    component at the data mean and stop at the same one-blob solution)."""
    X, _, _ = data
    dX = da.from_array(X, chunks=(3000, 10))
    kw = dict(n_components=3, init_params="random", random_state=0)
    first = quietly(GaussianMixture(max_iter=0, **kw).fit, dX)
    np.testing.assert_allclose(first.means_, np.broadcast_to(X.mean(axis=0),
                                                             (3, 10)), atol=0.2)
    assert np.ptp(first.weights_) < 0.01
    dist = quietly(GaussianMixture(**kw).fit, dX)
    whole = quietly(GaussianMixture(**kw).fit, X)
    assert not np.array_equal(dist.means_, whole.means_)
    np.testing.assert_allclose(dist.lower_bound_, whole.lower_bound_, rtol=1e-4)
    again = quietly(GaussianMixture(**kw).fit, dX)
    np.testing.assert_array_equal(again.means_, dist.means_)   # deterministic


@pytest.mark.parametrize("init_params", ["k-means++", "random_from_data"])
def test_dask_sampled_inits_find_the_clusters(data, init_params):
    X, labels, _ = data
    # n_init: a draw of rows may put two seeds in one cluster
    gm = quietly(GaussianMixture(3, init_params=init_params, n_init=4,
                                 random_state=0).fit,
                 da.from_array(X, chunks=(3000, 10)))
    ref = GaussianMixture(3, random_state=0).fit(X)
    assert gm.converged_
    np.testing.assert_allclose(gm.lower_bound_, ref.lower_bound_, rtol=1e-6)
    found = gm.predict(X)
    for k in range(3):    # every true cluster is one component
        assert np.unique(found[labels == k]).size == 1


def test_dask_float32_stays_float32(data):
    X, _, _ = data
    X32 = X.astype(np.float32)
    kw = dict(n_components=3, max_iter=5, tol=0.0, random_state=0)
    whole = quietly(GaussianMixture(**kw).fit, X32)
    dist = quietly(GaussianMixture(**kw).fit, da.from_array(X32, chunks=(4000, 10)))
    assert dist.means_.dtype == np.float32
    assert_fitted_close(dist, whole, rtol=1e-4)


def test_dask_predictions_are_lazy(data):
    X, _, _ = data
    gm = GaussianMixture(3, random_state=0).fit(X)
    dX = da.from_array(X, chunks=(2500, 10))
    out = {m: getattr(gm, m)(dX) for m in ("predict", "predict_proba",
                                           "score_samples")}
    for method, lazy in out.items():
        assert isinstance(lazy, da.Array), method
        assert lazy.chunks[0] == dX.chunks[0], method
        np.testing.assert_array_equal(lazy.compute(), getattr(gm, method)(X))
    assert out["predict_proba"].shape == (X.shape[0], 3)
    assert gm.score(dX) == pytest.approx(gm.score(X), rel=1e-12)
    # a scalar of the data's dtype, as scikit-learn's score (issue 14)
    for Xd in (X, X.astype(np.float32)):
        dXd = da.from_array(Xd, chunks=(2500, 10))
        assert type(gm.score(Xd)) is type(gm.score(dXd)) is Xd.dtype.type
    assert gm.bic(dX) == pytest.approx(gm.bic(X), rel=1e-12)
    labels = quietly(GaussianMixture(3, random_state=0).fit_predict, dX)
    assert isinstance(labels, da.Array)
    np.testing.assert_array_equal(labels.compute(), gm.predict(X))


def test_dask_unknown_chunks_and_no_persist(data):
    X, _, _ = data
    dX = da.from_array(X, chunks=(3000, 10))
    dX = dX[dX[:, 0] > -np.inf]          # same rows, unknown chunk sizes
    assert np.isnan(dX.shape[0])
    kw = dict(n_components=3, max_iter=3, tol=0.0, random_state=0)
    whole = quietly(GaussianMixture(**kw).fit, X)
    gm = quietly(fdask.fit, GaussianMixture(**kw), dX, persist=False)
    assert_fitted_close(gm, whole)


def test_dask_input_errors(data):
    X, _, _ = data
    bad = X.copy()
    bad[7000, 2] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        GaussianMixture(2).fit(da.from_array(bad, chunks=(3000, 10)))
    bad[7000, 2] = np.inf
    with pytest.raises(ValueError, match="Input X contains infinity"):
        GaussianMixture(2).fit(da.from_array(bad, chunks=(3000, 10)))
    dX = da.from_array(X, chunks=(3000, 10))
    with pytest.raises(ValueError, match="Negative values"):
        GaussianMixture(2).fit(dX, sample_weight=-np.ones(X.shape[0]))
    with pytest.raises(ValueError, match="sample_weight.shape"):
        GaussianMixture(2).fit(dX, sample_weight=np.ones(5))
    with pytest.raises(ValueError, match="Expected 2D array"):
        GaussianMixture(2).fit(dX[:, 0])
    with pytest.raises(ValueError, match="n_samples >= n_components"):
        GaussianMixture(5).fit(dX[:4])
    gm = GaussianMixture(2, random_state=0).fit(X[:500])
    with pytest.raises(ValueError, match="X has 3 features"):
        gm.predict(dX[:, :3])
    with pytest.raises(TypeError, match="dask.array"):
        fdask.fit(GaussianMixture(2), X)


# --------------------------------------------------------------------------
# a real cluster: two worker processes
# --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, processes=True,
                                       threads_per_worker=1, dashboard_address=None)
    c = distributed.Client(cluster)
    try:
        yield c
    finally:
        c.close()
        cluster.close()


@pytest.fixture(scope="module")
def cluster_data(make_blobs_fn):
    X, _, _ = make_blobs_fn(n=40000, d=6, K=4, seed=22)
    return X, da.from_array(X, chunks=(5000, 6))


def test_local_cluster_fit_equals_in_memory_fit(client, cluster_data):
    X, dX = cluster_data
    assert dask.base.get_scheduler() == client.get     # the cluster runs it
    for covariance_type in ("full", "diag"):
        kw = dict(n_components=4, covariance_type=covariance_type, max_iter=10,
                  tol=0.0, **starting_point(X, 4, covariance_type))
        whole = quietly(GaussianMixture(**kw).fit, X)
        dist = quietly(GaussianMixture(**kw).fit, dX)
        assert_fitted_close(dist, whole, rtol=1e-10)
    kw = dict(n_components=4, max_iter=3, tol=0.0, random_state=0)
    whole = quietly(GaussianMixture(**kw).fit, X)
    dist = quietly(GaussianMixture(**kw).fit, dX)      # distributed k-means init
    assert_fitted_close(dist, whole, rtol=1e-9)
    np.testing.assert_array_equal(dist.predict(dX).compute(), dist.predict(X))
    # the tasks ran on both workers
    assert len(client.run(os.getpid)) == 2


def test_local_cluster_worker_killed_mid_fit(client, cluster_data, monkeypatch):
    """SIGKILL a worker after the first EM iteration: Dask recomputes its
    blocks (and the pass's lost tasks) and the fit ends as in memory."""
    X, dX = cluster_data
    kw = dict(n_components=4, max_iter=8, tol=0.0, **starting_point(X, 4, "full"))
    whole = quietly(GaussianMixture(**kw).fit, X)
    client.wait_for_workers(2)
    killed = []
    em_statistics = fdask.DaskSource.em_statistics

    def kill_then_run(self, *args, **kwargs):
        if self._passes == 1:
            holders = client.who_has(self.X)
            pids = client.run(os.getpid)
            victim = sorted({w for ws in holders.values() for w in ws})[0]
            os.kill(pids[victim], signal.SIGKILL)
            killed.append(pids[victim])
        self._passes += 1
        return em_statistics(self, *args, **kwargs)

    monkeypatch.setattr(fdask.DaskSource, "_passes", 0, raising=False)
    monkeypatch.setattr(fdask.DaskSource, "em_statistics", kill_then_run)
    dist = quietly(GaussianMixture(**kw).fit, dX)
    assert len(killed) == 1
    assert dist.n_iter_ == 8
    assert_fitted_close(dist, whole, rtol=1e-10)
    client.wait_for_workers(2, timeout=60)   # the nanny restarted it
    assert killed[0] not in client.run(os.getpid).values()
