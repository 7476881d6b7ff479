"""``fastgmm.GaussianMixtureSelector``: model choice, results, sharing, API.

Oracles: single ``fastgmm.GaussianMixture`` fits with the same parameters
(every candidate must be exactly that fit), scikit-learn's loop over
``sklearn.mixture.GaussianMixture`` (same choice; same BIC where the result
does not depend on the initialisation), and data generated from a known
number of components and covariance type.
"""

import sys
import tracemalloc
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.mixture import GaussianMixture as SKGaussianMixture

import fastgmm
from fastgmm import GaussianMixture, GaussianMixtureSelector, NotFittedError

TYPES = ("full", "tied", "diag", "spherical")
KEYS = ("n_components", "covariance_type", "bic", "aic", "lower_bound", "n_iter",
        "converged", "fit_time")


@pytest.fixture(autouse=True)
def _quiet_convergence():
    # large-K candidates on small data may stop at max_iter; irrelevant here
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fastgmm.ConvergenceWarning)
        yield


def diag_clusters(n=1500, seed=0):
    """Three axis-aligned clusters with unequal per-axis spreads: 'diag'."""
    rng = np.random.default_rng(seed)
    centers = np.array([[0.0, 0.0, 0.0], [12.0, 0.0, 0.0], [0.0, 12.0, 0.0]])
    sds = np.array([[1.0, 3.0, 0.5], [2.0, 0.5, 1.0], [0.5, 1.0, 2.5]])
    lab = np.arange(n) % 3
    return np.ascontiguousarray(centers[lab] + rng.normal(size=(n, 3)) * sds[lab])


def spherical_clusters(n=1200, seed=0):
    rng = np.random.default_rng(seed)
    centers = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [10.0, 10.0]])
    sds = np.array([0.5, 1.0, 1.5, 0.8])
    lab = np.arange(n) % 4
    return np.ascontiguousarray(centers[lab] + rng.normal(size=(n, 2)) * sds[lab, None])


def results_without_time(sel):
    return {k: v for k, v in sel.results_.items() if k != "fit_time"}


# --------------------------------------------------------------------------
# the model it picks
# --------------------------------------------------------------------------
@pytest.mark.parametrize("init_params", ["kmeans", "hierarchical"])
def test_picks_true_k_and_full_type(make_blobs_fn, init_params):
    # rotated clusters with different shapes: only 'full' fits them
    X, _, _ = make_blobs_fn(n=1500, d=3, K=3, seed=4)
    sel = GaussianMixtureSelector(range(1, 7), random_state=0,
                                  init_params=init_params).fit(X)
    assert sel.best_params_ == {"n_components": 3, "covariance_type": "full"}


@pytest.mark.parametrize("X, expected", [
    (diag_clusters(), {"n_components": 3, "covariance_type": "diag"}),
    (spherical_clusters(), {"n_components": 4, "covariance_type": "spherical"}),
], ids=["diag", "spherical"])
def test_picks_true_k_and_type(X, expected):
    sel = GaussianMixtureSelector(range(1, 7), random_state=0).fit(X)
    assert sel.best_params_ == expected
    assert sel.best_index_ == int(np.argmin(sel.results_["bic"]))
    # the model behind it is the grid's row
    row = sel.best_index_
    assert sel.results_["n_components"][row] == expected["n_components"]
    assert sel.results_["covariance_type"][row] == expected["covariance_type"]
    assert sel.best_estimator_.n_components == expected["n_components"]


def test_criterion_aic_picks_lowest_aic():
    X = diag_clusters(n=600, seed=3)
    sel = GaussianMixtureSelector([2, 3, 4], criterion="aic", random_state=1).fit(X)
    assert sel.best_index_ == int(np.argmin(sel.results_["aic"]))
    bic_sel = GaussianMixtureSelector([2, 3, 4], random_state=1).fit(X)
    # same candidates, only the criterion differs
    np.testing.assert_array_equal(sel.results_["aic"], bic_sel.results_["aic"])
    assert bic_sel.best_index_ == int(np.argmin(bic_sel.results_["bic"]))


def test_agrees_with_sklearn_loop(make_blobs_fn):
    X, _, _ = make_blobs_fn(n=300, d=2, K=3, seed=2)
    ks = range(1, 7)
    sk = [(SKGaussianMixture(k, covariance_type=t, random_state=0).fit(X).bic(X), k, t)
          for k in ks for t in TYPES]
    sel = GaussianMixtureSelector(ks, random_state=0).fit(X)
    best = min(sk)
    assert (sel.best_params_["n_components"], sel.best_params_["covariance_type"]) \
        == (best[1], best[2])
    # one component: no initialisation involved, so the BIC values are equal
    np.testing.assert_allclose(sel.results_["bic"][:4], [b for b, k, _ in sk if k == 1],
                               rtol=1e-10)


# --------------------------------------------------------------------------
# every candidate is the single fit with the same parameters
# --------------------------------------------------------------------------
@pytest.mark.parametrize("init_params, n_init", [("kmeans", 1), ("kmeans", 2),
                                                 ("hierarchical", 2), ("random", 1),
                                                 ("k-means++", 1)])
def test_results_equal_single_fits(make_blobs_fn, init_params, n_init):
    X, _, _ = make_blobs_fn(n=800, d=3, K=3, seed=5)
    ks = [1, 2, 4]
    sel = GaussianMixtureSelector(ks, random_state=7, init_params=init_params,
                                  n_init=n_init, max_iter=30).fit(X)
    row = 0
    for k in ks:
        for t in TYPES:
            gm = GaussianMixture(k, covariance_type=t, random_state=7,
                                 init_params=init_params, n_init=n_init,
                                 max_iter=30).fit(X)
            r = {key: sel.results_[key][row] for key in KEYS}
            assert (r["n_components"], r["covariance_type"]) == (k, t)
            # bitwise: the shared partition and validation change nothing
            assert r["bic"] == gm.bic(X), (k, t)
            assert r["aic"] == gm.aic(X), (k, t)
            assert r["lower_bound"] == gm.lower_bound_
            assert r["n_iter"] == gm.n_iter_
            assert r["converged"] == gm.converged_
            if row == sel.best_index_:
                for attr in ("weights_", "means_", "covariances_",
                             "precisions_cholesky_"):
                    np.testing.assert_array_equal(
                        getattr(sel.best_estimator_, attr), getattr(gm, attr))
            row += 1


def test_results_equal_single_fits_wide_data(blobs_wide):
    # 20 features: the k-means distances and EM statistics go through BLAS
    X = blobs_wide[0]
    sel = GaussianMixtureSelector([2, 3], ["full", "diag"], random_state=2,
                                  max_iter=20).fit(X)
    for row, (k, t) in enumerate([(2, "full"), (2, "diag"), (3, "full"), (3, "diag")]):
        gm = GaussianMixture(k, covariance_type=t, random_state=2, max_iter=20).fit(X)
        assert sel.results_["bic"][row] == gm.bic(X), (k, t)
        assert sel.results_["lower_bound"][row] == gm.lower_bound_, (k, t)


def test_kmeans_computed_once_per_n_components(make_blobs_fn, monkeypatch):
    import fastgmm._initialization as init

    calls = []
    original = init.kmeans

    def counting(X, n_clusters, *args, **kwargs):
        calls.append(n_clusters)
        return original(X, n_clusters, *args, **kwargs)

    monkeypatch.setattr(init, "kmeans", counting)
    X, _, _ = make_blobs_fn(n=500, d=2, K=3, seed=1)
    GaussianMixtureSelector([1, 2, 3], random_state=0, n_init=2).fit(X)
    assert sorted(calls) == [1, 1, 2, 2, 3, 3]   # not x 4 covariance types


def test_validates_x_once(make_blobs_fn, monkeypatch):
    import fastgmm._mixture as mixture
    import fastgmm._selection as selection

    calls = []
    original = selection.check_X

    def counting(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(selection, "check_X", counting)
    monkeypatch.setattr(mixture, "check_X", counting)
    X, _, _ = make_blobs_fn(n=300, d=2, K=2, seed=1)
    GaussianMixtureSelector([1, 2], random_state=0).fit(X.tolist())
    assert len(calls) == 1


def test_thread_count_and_scheduling_do_not_change_results(make_blobs_fn, monkeypatch):
    import fastgmm._selection as selection

    X, _, _ = make_blobs_fn(n=23_000, d=3, K=3, seed=6)
    assert X.size >= selection.SMALL_DATA_SIZE      # threads are used
    ref = GaussianMixtureSelector(range(1, 5), random_state=3, n_threads=1).fit(X)
    par = GaussianMixtureSelector(range(1, 5), random_state=3, n_threads=2).fit(X)
    monkeypatch.setattr(GaussianMixtureSelector, "_side_by_side", False)
    seq = GaussianMixtureSelector(range(1, 5), random_state=3, n_threads=2).fit(X)
    monkeypatch.setattr(selection, "SMALL_DATA_SIZE", 10 ** 9)
    one = GaussianMixtureSelector(range(1, 5), random_state=3, n_threads=2).fit(X)
    for other in (par, seq, one):
        for key, value in results_without_time(ref).items():
            np.testing.assert_array_equal(other.results_[key], value, err_msg=key)
        np.testing.assert_array_equal(other.best_estimator_.means_,
                                      ref.best_estimator_.means_)


def test_random_state_instance_is_reproducible(make_blobs_fn):
    X, _, _ = make_blobs_fn(n=400, d=2, K=3, seed=8)
    a = GaussianMixtureSelector([2, 3], random_state=np.random.RandomState(4)).fit(X)
    b = GaussianMixtureSelector([2, 3], random_state=np.random.RandomState(4)).fit(X)
    np.testing.assert_array_equal(a.results_["bic"], b.results_["bic"])


# --------------------------------------------------------------------------
# weights, dtypes, inputs
# --------------------------------------------------------------------------
def test_integer_weights_equal_repeated_rows(make_blobs_fn):
    X, _, _ = make_blobs_fn(n=200, d=2, K=2, seed=9, separation=20.0)
    w = np.random.default_rng(0).integers(0, 4, size=X.shape[0])
    kw = dict(n_components=[1, 2], tol=1e-10, max_iter=500, random_state=0)
    weighted = GaussianMixtureSelector(**kw).fit(X, sample_weight=w)
    repeated = GaussianMixtureSelector(**kw).fit(np.repeat(X, w, axis=0))
    # criteria use the weighted log-likelihood and sum(w) observations
    np.testing.assert_allclose(weighted.results_["bic"], repeated.results_["bic"],
                               rtol=1e-7)
    np.testing.assert_allclose(weighted.results_["aic"], repeated.results_["aic"],
                               rtol=1e-7)
    assert weighted.best_params_ == repeated.best_params_


def test_float32_stays_float32(make_blobs_fn):
    X, _, _ = make_blobs_fn(n=500, d=3, K=2, seed=3, dtype=np.float32)
    sel = GaussianMixtureSelector([1, 2], random_state=0).fit(X)
    assert sel.best_estimator_.means_.dtype == np.float32
    ref = GaussianMixture(2, covariance_type=sel.best_params_["covariance_type"],
                          random_state=0).fit(X)
    assert sel.results_["bic"][sel.best_index_] == ref.bic(X)


def test_dataframe_feature_names(make_blobs_fn):
    pd = pytest.importorskip("pandas")
    X, _, _ = make_blobs_fn(n=300, d=2, K=2, seed=3)
    df = pd.DataFrame(X, columns=["a", "b"])
    sel = GaussianMixtureSelector([1, 2], random_state=0).fit(df)
    np.testing.assert_array_equal(sel.feature_names_in_, ["a", "b"])
    np.testing.assert_array_equal(sel.best_estimator_.feature_names_in_, ["a", "b"])
    assert sel.n_features_in_ == 2
    np.testing.assert_array_equal(sel.predict(df), sel.best_estimator_.predict(df))


def test_fit_does_not_copy_the_data(make_blobs_fn):
    X, _, _ = make_blobs_fn(n=60_000, d=8, K=3, seed=2)
    GaussianMixtureSelector([2], ["diag"], random_state=0, max_iter=2).fit(X[:500])
    tracemalloc.start()
    try:
        GaussianMixtureSelector([2, 3], ["full", "diag"], random_state=0,
                                max_iter=3).fit(X)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # n-vectors (labels, log-densities) only: far below one copy of X
    assert peak < 0.4 * X.nbytes, (peak, X.nbytes)


# --------------------------------------------------------------------------
# results, delegation, API
# --------------------------------------------------------------------------
def test_results_table_and_frame(make_blobs_fn):
    X, _, _ = make_blobs_fn(n=300, d=2, K=2, seed=3)
    sel = GaussianMixtureSelector([3, 1, 3], ["diag", "full"], random_state=0).fit(X)
    res = sel.results_
    assert set(res) == set(KEYS)
    assert all(len(v) == 4 for v in res.values())
    # grid order, duplicates dropped
    assert res["n_components"].tolist() == [3, 3, 1, 1]
    assert res["covariance_type"].tolist() == ["diag", "full", "diag", "full"]
    assert res["bic"].dtype == np.float64 and res["converged"].dtype == bool
    assert np.all(res["fit_time"] > 0) and np.all(res["n_iter"] >= 1)
    n = X.shape[0]
    # free parameters (d=2): means + variances/covariances + weights
    n_par = [3 * 2 + 3 * 2 + 2, 3 * 2 + 3 * 3 + 2, 2 + 2, 2 + 3]
    # bic - aic = p (log n - 2)
    np.testing.assert_allclose(res["bic"] - res["aic"], np.array(n_par) * (np.log(n) - 2))
    pd = pytest.importorskip("pandas")
    frame = sel.results_frame()
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns) == list(KEYS)
    np.testing.assert_array_equal(frame["bic"].to_numpy(), res["bic"])


def test_results_frame_without_pandas(make_blobs_fn, monkeypatch):
    X, _, _ = make_blobs_fn(n=100, d=2, K=1, seed=3)
    sel = GaussianMixtureSelector(1, "full", random_state=0).fit(X)
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match="pip install pandas"):
        sel.results_frame()


def test_delegates_to_best_estimator(make_blobs_fn):
    X, _, _ = make_blobs_fn(n=400, d=2, K=3, seed=3)
    sel = GaussianMixtureSelector(range(2, 5), random_state=0).fit(X)
    best = sel.best_estimator_
    np.testing.assert_array_equal(sel.predict(X), best.predict(X))
    np.testing.assert_array_equal(sel.predict_proba(X), best.predict_proba(X))
    np.testing.assert_array_equal(sel.score_samples(X), best.score_samples(X))
    assert sel.score(X) == best.score(X)
    assert sel.bic(X) == best.bic(X) == sel.results_["bic"][sel.best_index_]
    assert sel.aic(X) == best.aic(X)
    Xs, ys = sel.sample(50)
    assert Xs.shape == (50, 2) and ys.shape == (50,)


def test_not_fitted():
    sel = GaussianMixtureSelector()
    for call in (lambda: sel.predict(np.zeros((2, 2))), lambda: sel.sample(2),
                 sel.results_frame):
        with pytest.raises(NotFittedError, match="not fitted yet"):
            call()


@pytest.mark.parametrize("params, match", [
    ({"criterion": "foo"}, "'criterion' parameter"),
    ({"n_components": 0}, "'n_components' parameter"),
    ({"n_components": []}, "'n_components' parameter"),
    ({"n_components": [1, 2.5]}, "'n_components' parameter"),
    ({"n_components": "3"}, "'n_components' parameter"),
    ({"covariance_type": "bogus"}, "'covariance_type' parameter"),
    ({"covariance_type": ["full", "bogus"]}, "'covariance_type' parameter"),
    ({"covariance_type": []}, "'covariance_type' parameter"),
    ({"init_params": "ward"}, "'init_params' parameter"),
    ({"tol": -1.0}, "'tol' parameter"),
    ({"n_threads": 0}, "'n_threads' parameter"),
    ({"n_components": [2, 50]}, "Expected n_samples >= n_components"),
])
def test_bad_parameters(params, match):
    X = np.random.default_rng(0).normal(size=(20, 2))
    with pytest.raises(ValueError, match=match):
        GaussianMixtureSelector(**params).fit(X)


def test_bad_input_raises_sklearn_messages():
    X = np.random.default_rng(0).normal(size=(20, 2))
    X[3, 1] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        GaussianMixtureSelector([1]).fit(X)
    with pytest.raises(ValueError, match="Expected 2D array"):
        GaussianMixtureSelector([1]).fit(np.zeros(5))
    with pytest.raises(ValueError, match="Negative values"):
        GaussianMixtureSelector([1]).fit(np.ones((5, 2)) + np.arange(5)[:, None],
                                         sample_weight=-np.ones(5))


def test_failed_candidates_are_skipped_with_a_warning():
    # six distinct rows repeated: with reg_covar=0, components on one of
    # them have a singular covariance
    rng = np.random.default_rng(0)
    X = (rng.normal(size=(6, 2)) * 5)[np.arange(120) % 6]
    X[:, 0] += rng.normal(size=120)
    with pytest.warns(UserWarning, match="failed and is skipped"):
        sel = GaussianMixtureSelector(range(1, 9), reg_covar=0.0,
                                      random_state=0).fit(X)
    failed = np.isnan(sel.results_["bic"])
    assert failed.any() and not failed.all()
    assert not failed[sel.best_index_]
    assert sel.best_index_ == int(np.nanargmin(sel.results_["bic"]))


def test_every_candidate_failing_raises():
    X = np.repeat(np.eye(2), 5, axis=0)
    with pytest.warns(UserWarning), pytest.raises(ValueError, match="ill-defined"):
        GaussianMixtureSelector([2], ["full"], reg_covar=0.0,
                                random_state=0).fit(X)


def test_clone_get_params_and_verbose(make_blobs_fn, capsys):
    sel = GaussianMixtureSelector(range(1, 3), ["full"], verbose=1, random_state=0)
    assert clone(sel).get_params() == sel.get_params()
    X, _, _ = make_blobs_fn(n=200, d=2, K=2, seed=0)
    sel.fit(X)
    out = capsys.readouterr().out
    assert "n_components=1" in out and "n_components=2" in out and "bic=" in out


def test_public_api():
    assert fastgmm.GaussianMixtureSelector is GaussianMixtureSelector
    assert "GaussianMixtureSelector" in fastgmm.__all__
