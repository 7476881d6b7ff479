"""missing='marginalize': EM over the observed coordinates, prediction and
imputation of rows with NaN entries (issue 17).

The oracle is ``tests/missing_reference.py``, a dense NumPy implementation of
the missing-data EM written from the formulas; scipy's multivariate normal
checks the observed-coordinate marginals.
"""

import csv
import os
import warnings

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment
from scipy.special import logsumexp
from scipy.stats import multivariate_normal

import fastgmm
import missing_reference as ref
from fastgmm import GaussianMixture, GaussianMixtureSelector
from fastgmm._base import ConvergenceWarning
from fastgmm._dispatch import em as _em

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
FITTED = ("weights_", "means_", "covariances_", "precisions_cholesky_")


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def blobs_with_gaps(n=600, d=5, K=3, frac=0.2, seed=0, dtype=np.float64):
    """Correlated blobs with a fraction ``frac`` of entries NaN (MCAR); every
    row keeps an observed value."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=4.0, size=(K, d))
    mix = rng.normal(size=(d, d)) / np.sqrt(d) + np.eye(d)
    X = rng.normal(size=(n, d)) @ mix + centers[rng.integers(0, K, n)]
    mask = rng.random((n, d)) < frac
    mask[mask.all(axis=1), 0] = False
    Xm = X.copy()
    Xm[mask] = np.nan
    return Xm.astype(dtype), X.astype(dtype), mask


def _same(a, b):
    for attr in FITTED:
        np.testing.assert_array_equal(getattr(a, attr), getattr(b, attr), attr)
    assert a.lower_bound_ == b.lower_bound_


def _from_params(model, **kw):
    """A model that starts from ``model``'s fitted parameters."""
    return GaussianMixture(
        model.n_components, covariance_type=model.covariance_type,
        weights_init=model.weights_, means_init=model.means_,
        precisions_init=model.precisions_, missing="marginalize", **kw)


# -------------------------------------------------------------- the EM step
@pytest.mark.parametrize("cov", COVARIANCE_TYPES)
@pytest.mark.parametrize("weighted", [False, True])
def test_one_step_matches_reference(cov, weighted):
    X, _, _ = blobs_with_gaps(n=400, seed=1)
    sw = np.random.default_rng(2).uniform(0.2, 2.0, X.shape[0]) if weighted else None
    start = GaussianMixture(3, covariance_type=cov, missing="marginalize", max_iter=3,
                            random_state=0).fit(X, sample_weight=sw)
    step = _from_params(start, max_iter=1, tol=0.0).fit(X, sample_weight=sw)
    w, m, c, ll = ref.em_step(X, sw, start.weights_, start.means_,
                              start.covariances_, cov)
    np.testing.assert_allclose(step.weights_, w, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(step.means_, m, rtol=1e-10, atol=1e-11)
    np.testing.assert_allclose(step.covariances_, c, rtol=1e-10, atol=1e-11)
    assert step.lower_bound_ == pytest.approx(ll, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("cov", ["diag", "spherical"])
@pytest.mark.parametrize("d", [2, 7, 33])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_diag_chunk_tiles_match_reference(cov, d, dtype):
    """'diag'/'spherical' incomplete rows go through whole component-major
    chunks (several chunks, a partial last one, weights, 1 to 33
    features); one step against the NumPy reference from the formulas."""
    X, _, _ = blobs_with_gaps(n=1100, d=d, K=5, frac=0.3 if d > 1 else 0.0, seed=3,
                              dtype=dtype)
    if d == 1:   # one coordinate: a gap would leave a row empty
        X[::7, 0] = np.nan
        X = X[~np.isnan(X[:, 0])]
        X = np.concatenate([X, np.full((1, 1), np.nan, dtype)])[:-1]
    sw = np.random.default_rng(4).uniform(0.2, 2.0, X.shape[0])
    start = GaussianMixture(5, covariance_type=cov, missing="marginalize", max_iter=2,
                            random_state=0).fit(X, sample_weight=sw)
    step = _from_params(start, max_iter=1, tol=0.0).fit(X, sample_weight=sw)
    w, m, c, ll = ref.em_step(X.astype(np.float64), sw, start.weights_, start.means_,
                              start.covariances_, cov)
    rtol = 1e-9 if dtype == np.float64 else 2e-5
    np.testing.assert_allclose(step.weights_, w, rtol=rtol, atol=1e-12)
    np.testing.assert_allclose(step.means_, m, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(step.covariances_, c, rtol=rtol, atol=rtol)
    assert step.lower_bound_ == pytest.approx(ll, rel=rtol)


@pytest.mark.parametrize("cov", COVARIANCE_TYPES)
def test_kernel_on_complete_rows_equals_default_kernel(cov):
    """Rows without NaN are valid input of the missing-value kernel: it must
    give the default kernel's statistics (to rounding)."""
    X, full, _ = blobs_with_gaps(n=700, seed=3)
    g = GaussianMixture(3, covariance_type=cov, max_iter=2, random_state=0).fit(full)
    params = g._fitted_params()
    kargs = g._kernel_args(params, full.dtype)
    margs = g._missing_kernel_args(params)
    code = g._covariance.code
    K, d = g.means_.shape
    size = g._covariance.s2_size(K, d)
    a = np.empty(K), np.empty((K, d)), np.empty(size)
    b = np.empty(K), np.empty((K, d)), np.empty(size)
    sw = np.empty(0)
    la = _em.em_statistics(full, sw, *kargs, code, False, 1, *a)
    lb = _em.em_missing_statistics(full, sw, *margs, kargs[0].astype(float),
                                   kargs[3].astype(float), code, 2, *b)
    assert lb == pytest.approx(la, rel=1e-12)
    for x, y in zip(a, b):
        np.testing.assert_allclose(y, x, rtol=1e-10, atol=1e-9)


@pytest.mark.parametrize("cov", COVARIANCE_TYPES)
def test_observed_loglik_never_decreases(cov):
    X, _, _ = blobs_with_gaps(n=500, frac=0.3, seed=4)
    g = GaussianMixture(3, covariance_type=cov, missing="marginalize", max_iter=1,
                        tol=0.0, warm_start=True, random_state=0, reg_covar=0.0)
    bounds = []
    for _ in range(25):
        g.fit(X)
        bounds.append(g.lower_bound_)
    # each bound is the observed-data log-likelihood of the parameters the
    # step started from: EM never decreases it
    assert np.all(np.diff(bounds) >= -1e-12 * np.abs(bounds[1:])), np.diff(bounds)
    assert bounds[-1] > bounds[0]


# -------------------------------------------------------------- prediction
@pytest.mark.parametrize("cov", COVARIANCE_TYPES)
def test_score_samples_against_scipy_marginals(cov):
    X, _, _ = blobs_with_gaps(n=300, frac=0.3, seed=5)
    g = GaussianMixture(3, covariance_type=cov, missing="marginalize",
                        random_state=0).fit(X)
    covs = ref.dense_covariances(g.covariances_, cov, 3, X.shape[1])
    expected = np.empty((X.shape[0], 3))
    for i, x in enumerate(X):
        o = ~np.isnan(x)
        for k in range(3):
            expected[i, k] = np.log(g.weights_[k]) + multivariate_normal(
                g.means_[k][o], covs[k][np.ix_(o, o)]).logpdf(x[o])
    lp = logsumexp(expected, axis=1)
    np.testing.assert_allclose(g.score_samples(X), lp, rtol=1e-10, atol=1e-10)
    resp = np.exp(expected - lp[:, None])
    np.testing.assert_allclose(g.predict_proba(X), resp, rtol=1e-8, atol=1e-12)
    np.testing.assert_array_equal(g.predict(X), expected.argmax(axis=1))
    assert g.score(X) == pytest.approx(lp.mean(), rel=1e-12)
    n_par = g._n_parameters()
    assert g.bic(X) == pytest.approx(-2 * lp.sum() + n_par * np.log(X.shape[0]))
    assert g.aic(X) == pytest.approx(-2 * lp.sum() + 2 * n_par)
    # complete rows are scored by the default kernels, bit for bit
    complete = ~np.isnan(X).any(axis=1)
    np.testing.assert_array_equal(g.score_samples(X)[complete],
                                  g.score_samples(X[complete]))


@pytest.mark.parametrize("cov", COVARIANCE_TYPES)
def test_impute_against_reference(cov):
    X, _, mask = blobs_with_gaps(n=300, seed=6)
    g = GaussianMixture(3, covariance_type=cov, missing="marginalize",
                        random_state=0).fit(X)
    before = X.copy()
    out = g.impute(X)
    np.testing.assert_array_equal(X, before)          # input untouched
    assert out is not X and not np.shares_memory(out, X)
    np.testing.assert_array_equal(out[~mask], X[~mask])   # observed unchanged
    assert not np.isnan(out).any()
    expected = ref.impute(X, g.weights_, g.means_, g.covariances_, cov)
    np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-10)


def test_impute_float32_and_model_fitted_without_nan():
    X, full, mask = blobs_with_gaps(n=300, seed=7, dtype=np.float32)
    g = GaussianMixture(3, random_state=0).fit(full)    # missing='raise'
    out = g.impute(X)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out[~mask], X[~mask])
    expected = ref.impute(X.astype(np.float64), g.weights_.astype(np.float64),
                          g.means_.astype(np.float64),
                          g.covariances_.astype(np.float64), "full")
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-4)


# ------------------------------------------------------- simulated MCAR data
def _simulate_mcar(seed=0, n=2000, d=8, K=3, frac=0.2):
    rng = np.random.default_rng(seed)
    means = rng.normal(scale=4.0, size=(K, d))
    covs = []
    for _ in range(K):
        A = rng.normal(size=(d, d))
        covs.append(A @ A.T / d + 0.3 * np.eye(d))
    covs = np.array(covs)
    z = rng.choice(K, size=n, p=[0.5, 0.3, 0.2])
    X = np.array([rng.multivariate_normal(means[k], covs[k]) for k in z])
    mask = rng.random((n, d)) < frac
    mask[mask.all(axis=1), 0] = False
    Xm = X.copy()
    Xm[mask] = np.nan
    return X, Xm, mask, means, covs


def _recovery(model, means, covs):
    """Mean over components (matched on their means) of the mean error and of
    the covariance error (Frobenius)."""
    cost = ((model.means_[:, None] - means[None]) ** 2).sum(-1)
    rows, cols = linear_sum_assignment(cost)
    p = rows[np.argsort(cols)]
    mean_err = np.sqrt(((model.means_[p] - means) ** 2).sum(-1)).mean()
    cov_err = np.sqrt(((model.covariances_[p] - covs) ** 2).sum((1, 2))).mean()
    return mean_err, cov_err


def test_mcar_recovery_beats_mean_imputation_and_listwise_deletion():
    """20% of the entries MCAR, 2000 rows, 8 features, 3 full components
    (17% of the rows are complete).  Measured (seed 0): mean error / covariance
    error / imputation RMSE of the missing entries

        marginalize          0.11 / 0.47 / 0.93
        mean imputation      1.57 / 4.85 / 3.00
        listwise deletion    0.29 / 1.00 / 0.95  (its model's conditional means)

    The margins below are about half of the measured gaps."""
    X, Xm, mask, means, covs = _simulate_mcar()
    kw = dict(n_components=3, random_state=0, n_init=3)
    marg = GaussianMixture(missing="marginalize", **kw).fit(Xm)
    filled = np.where(mask, np.nanmean(Xm, axis=0), Xm)
    mean_imp = GaussianMixture(**kw).fit(filled)
    listwise = GaussianMixture(**kw).fit(Xm[~mask.any(axis=1)])

    m_marg, c_marg = _recovery(marg, means, covs)
    m_mean, c_mean = _recovery(mean_imp, means, covs)
    m_list, c_list = _recovery(listwise, means, covs)
    assert m_marg < 0.3 * m_mean and c_marg < 0.3 * c_mean
    assert m_marg < 0.7 * m_list and c_marg < 0.7 * c_list

    def rmse(Y):
        return np.sqrt(((Y - X)[mask] ** 2).mean())

    r_marg = rmse(marg.impute(Xm))
    assert r_marg < 0.5 * rmse(filled)
    # the listwise model is unbiased under MCAR, only noisier: the gain in
    # imputation is small (about 2%), but it is there
    assert r_marg < 0.995 * rmse(listwise.impute(Xm))


# ------------------------------------------------- the default path untouched
@pytest.mark.parametrize("cov", COVARIANCE_TYPES)
def test_no_nan_is_bitwise_the_default(cov):
    _, full, _ = blobs_with_gaps(n=500, seed=8)
    a = GaussianMixture(3, covariance_type=cov, random_state=0).fit(full)
    b = GaussianMixture(3, covariance_type=cov, random_state=0,
                        missing="marginalize").fit(full)
    _same(a, b)
    np.testing.assert_array_equal(a.score_samples(full), b.score_samples(full))
    np.testing.assert_array_equal(a.predict_proba(full), b.predict_proba(full))
    np.testing.assert_array_equal(a.impute(full), full)


@pytest.mark.parametrize("cov", COVARIANCE_TYPES)
def test_thread_count_invariance(cov):
    X, _, _ = blobs_with_gaps(n=3000, d=6, seed=9)
    fits = [GaussianMixture(3, covariance_type=cov, missing="marginalize",
                            random_state=0, n_threads=t, max_iter=20).fit(X)
            for t in (1, 2, 3)]
    for other in fits[1:]:
        _same(fits[0], other)
        np.testing.assert_array_equal(fits[0].score_samples(X), other.score_samples(X))
        np.testing.assert_array_equal(fits[0].impute(X), other.impute(X))


@pytest.mark.parametrize("cov", COVARIANCE_TYPES)
def test_float32_stays_float32(cov):
    X, _, _ = blobs_with_gaps(n=800, seed=10, dtype=np.float32)
    g = GaussianMixture(3, covariance_type=cov, missing="marginalize",
                        random_state=0).fit(X)
    for attr in FITTED:
        assert getattr(g, attr).dtype == np.float32, attr
    assert g.predict_proba(X).dtype == np.float32
    assert g.score_samples(X).dtype == np.float64
    assert g.impute(X).dtype == np.float32
    assert isinstance(g.score(X), np.float32)
    g64 = GaussianMixture(3, covariance_type=cov, missing="marginalize",
                          random_state=0).fit(X.astype(np.float64))
    assert g.lower_bound_ == pytest.approx(g64.lower_bound_, rel=1e-4)


def test_sample_weight_equals_repeated_rows():
    X, _, _ = blobs_with_gaps(n=300, seed=11)
    w = np.random.default_rng(0).integers(1, 4, X.shape[0])
    start = GaussianMixture(3, missing="marginalize", random_state=0,
                            max_iter=2).fit(X)
    a = _from_params(start, max_iter=5, tol=0.0).fit(X, sample_weight=w)
    b = _from_params(start, max_iter=5, tol=0.0).fit(np.repeat(X, w, axis=0))
    for attr in FITTED:
        np.testing.assert_allclose(getattr(a, attr), getattr(b, attr), rtol=1e-9,
                                   atol=1e-10)
    assert a.lower_bound_ == pytest.approx(b.lower_bound_, rel=1e-12)


def test_memmap_and_blocks(tmp_path):
    X, _, _ = blobs_with_gaps(n=2000, seed=12)
    path = tmp_path / "x.npy"
    np.save(path, X)
    a = GaussianMixture(3, missing="marginalize", random_state=0).fit(X)
    b = GaussianMixture(3, missing="marginalize", random_state=0).fit(
        np.load(path, mmap_mode="r"))
    _same(a, b)
    np.testing.assert_array_equal(a.impute(X), b.impute(np.load(path, mmap_mode="r")))
    tail = tmp_path / "tail.npy"
    np.save(tail, X[1500:])
    c = GaussianMixture(3, missing="marginalize", random_state=0).fit_blocks(
        [X[:700], X[700:1500], str(tail)])
    for attr in FITTED:
        np.testing.assert_allclose(getattr(c, attr), getattr(a, attr), rtol=1e-9,
                                   atol=1e-10)
    # blocks without NaN next to blocks with NaN
    _, full, _ = blobs_with_gaps(n=2000, seed=12)
    mixed = np.concatenate([full[:1000], X[1000:]])
    d = GaussianMixture(3, missing="marginalize", random_state=0).fit(mixed)
    e = GaussianMixture(3, missing="marginalize", random_state=0).fit_blocks(
        [full[:1000], X[1000:]])
    np.testing.assert_allclose(e.means_, d.means_, rtol=1e-9, atol=1e-10)
    with pytest.raises(ValueError, match="(?s)Block 1: Input X contains NaN.*"
                       "missing='marginalize'"):
        GaussianMixture(3).fit_blocks([full[:1000], X[1000:]])


# ------------------------------------------------------------------ errors
def test_nan_without_the_option_names_it():
    X, _, _ = blobs_with_gaps(n=100)
    g = GaussianMixture(2)
    with pytest.raises(ValueError, match=r"Input X contains NaN\.\nGaussianMixture "
                       r"does not accept missing values encoded as NaN natively\..*"
                       r"missing='marginalize'"):
        g.fit(X)
    assert not hasattr(g, "means_")
    _, full, _ = blobs_with_gaps(n=100)
    g.fit(full)
    with pytest.raises(ValueError, match="missing='marginalize'"):
        g.predict(X)


def test_bad_missing_data_errors():
    X, _, _ = blobs_with_gaps(n=100, d=4)
    g = GaussianMixture(2, missing="marginalize", random_state=0)
    row = X.copy()
    row[7] = np.nan
    with pytest.raises(ValueError, match=r"row with no observed value \(row 7"):
        g.fit(row)
    col = X.copy()
    col[:, 2] = np.nan
    col[np.isnan(col).all(axis=1), 0] = 1.0
    with pytest.raises(ValueError, match="column 2 is all NaN"):
        g.fit(col)
    inf = X.copy()
    inf[3, 1] = np.inf
    with pytest.raises(ValueError, match="Input X contains infinity"):
        g.fit(inf)
    assert not hasattr(g, "means_")    # a failed fit changes no attribute
    with pytest.raises(ValueError, match="'hierarchical' does not support missing"):
        GaussianMixture(2, missing="marginalize", init_params="hierarchical").fit(X)
    g.fit(X)
    with pytest.raises(ValueError, match="row with no observed value"):
        g.score_samples(row)
    with pytest.raises(ValueError, match="Input X contains infinity"):
        g.impute(inf)


@pytest.mark.parametrize("init", ["kmeans", "k-means++", "random",
                                  "random_from_data"])
def test_initialisations_on_incomplete_data(init):
    X, _, _ = blobs_with_gaps(n=600, seed=13)
    a = GaussianMixture(3, missing="marginalize", init_params=init,
                        random_state=0).fit(X)
    b = GaussianMixture(3, missing="marginalize", init_params=init,
                        random_state=0, n_threads=2).fit(X)
    _same(a, b)
    assert np.isfinite(a.lower_bound_)


# ------------------------------------------------ persistence and selection
def test_save_load_refit(tmp_path):
    X, _, _ = blobs_with_gaps(n=500, seed=14)
    g = GaussianMixture(3, missing="marginalize", random_state=0).fit(X)
    path = tmp_path / "m.npz"
    g.save(path)
    h = fastgmm.load(path)
    assert h.missing == "marginalize"
    np.testing.assert_array_equal(h.score_samples(X), g.score_samples(X))
    np.testing.assert_array_equal(h.impute(X), g.impute(X))
    _same(h.fit(X), g)


def test_selector_with_missing_values():
    X, _, _ = blobs_with_gaps(n=500, seed=15)
    sel = GaussianMixtureSelector(n_components=(2, 3), covariance_type=("full", "diag"),
                                  missing="marginalize", random_state=0).fit(X)
    best = sel.best_estimator_
    assert best.missing == "marginalize"
    alone = GaussianMixture(best.n_components, covariance_type=best.covariance_type,
                            missing="marginalize", random_state=0).fit(X)
    _same(best, alone)
    assert sel.bic(X) == pytest.approx(alone.bic(X), rel=1e-12)
    assert sel.results_["bic"][sel.best_index_] == pytest.approx(alone.bic(X),
                                                                 rel=1e-12)
    with pytest.raises(ValueError, match="missing='marginalize'"):
        GaussianMixtureSelector(n_components=2).fit(X)


def test_dask_says_not_supported():
    da = pytest.importorskip("dask.array")
    X, _, _ = blobs_with_gaps(n=200)
    with pytest.raises(ValueError, match="not supported for dask arrays"):
        GaussianMixture(2, missing="marginalize").fit(da.from_array(X, chunks=(50, 5)))



# --------------------------------------------------------------- command line
def _stocks_csv():
    """matplotlib's sample_data/Stocks.csv (a comment line, a Date column,
    price columns with gaps), or None."""
    try:
        import matplotlib
    except ImportError:
        return None
    path = os.path.join(matplotlib.get_data_path(), "sample_data", "Stocks.csv")
    return path if os.path.exists(path) else None


def _read_stocks(path):
    """The price table read with the csv module (independently of the CLI):
    empty cells NaN, rows without any price dropped."""
    with open(path, newline="") as f:
        rows = [r for r in csv.reader(f) if r and not r[0].startswith("#")]
    header, body = rows[0], rows[1:]
    X = np.array([[float(v) if v.strip() else np.nan for v in r[1:]] for r in body])
    return header, body, X


def test_cli_fits_and_imputes_stocks_csv(tmp_path, capsys):
    path = _stocks_csv()
    if path is None:
        pytest.skip("matplotlib's sample_data/Stocks.csv is not available")
    from fastgmm._cli import main

    assert main(["fit", path, "-k", "2", "--covariance-type", "diag"]) == 1
    err = capsys.readouterr().err
    assert "fastgmm: error:" in err and "--missing marginalize" in err
    assert "missing value(s) (empty or NaN cells)" in err

    header, body, X = _read_stocks(path)
    keep = ~np.isnan(X).all(axis=1)
    model = tmp_path / "stocks.npz"
    assert main(["fit", path, "-k", "2", "--covariance-type", "diag", "--missing",
                 "marginalize", "-o", str(model)]) == 0
    out, err = capsys.readouterr()
    n_empty = int((~keep).sum())
    n_missing = int(np.isnan(X[keep]).sum())
    assert f"skipping {n_empty} row(s)" in err
    assert f"has {n_missing} missing value(s)" in err
    assert "ignoring non-numeric column(s) 'Date'" in err
    assert f"on {int(keep.sum())} x 10 (float64)" in out
    loaded = fastgmm.load(model)
    assert loaded.missing == "marginalize"
    assert list(loaded.feature_names_in_) == header[1:]
    direct = GaussianMixture(2, covariance_type="diag", missing="marginalize",
                             random_state=0).fit(X[keep])
    _same(loaded, direct)

    filled = tmp_path / "filled.csv"
    assert main(["impute", str(model), path, "-o", str(filled)]) == 0
    with open(filled, newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == header and len(rows) == len(body) + 1
    expected = direct.impute(X[keep])
    got = np.array([[float(v) if v else np.nan for v in r[1:]] for r in rows[1:]])
    for (orig, new) in zip(body, rows[1:]):
        assert new[0] == orig[0]                                 # dates kept
        for a, b in zip(orig[1:], new[1:]):
            assert b == a or not a.strip()                       # observed text kept
    np.testing.assert_allclose(got[keep], expected, rtol=1e-9)
    assert np.isnan(got[~keep]).all()                            # no value: left empty


def test_cli_comments_gaps_tsv_and_npy(tmp_path, capsys):
    from fastgmm._cli import main

    X, _, _ = blobs_with_gaps(n=200, d=3, seed=16)
    lines = ["# made by the test", "a\tb\tc"]
    for i, row in enumerate(X):
        if i == 50:
            lines.append("# a comment in the middle")
        lines.append("\t".join("" if np.isnan(v) else repr(float(v)) for v in row))
    data = tmp_path / "gaps.tsv"
    data.write_text("\n".join(lines) + "\n")
    model = tmp_path / "m.npz"
    assert main(["fit", str(data), "-k", "3", "--missing", "marginalize", "-o",
                 str(model)]) == 0
    out, err = capsys.readouterr()
    n_missing = int(np.isnan(X).sum())
    assert f"has {n_missing} missing value(s)" in err
    direct = GaussianMixture(3, missing="marginalize", random_state=0).fit(X)
    _same(fastgmm.load(model), direct)
    out_npy = tmp_path / "filled.npy"
    assert main(["impute", str(model), str(data), "-o", str(out_npy)]) == 0
    np.testing.assert_array_equal(np.load(out_npy), direct.impute(X))
    # predict scores rows with gaps with the saved model
    assert main(["predict", str(model), str(data)]) == 0
    labels = np.array(capsys.readouterr().out.split()[1:], dtype=int)
    np.testing.assert_array_equal(labels, direct.predict(X))


def test_cli_select_with_missing_values(tmp_path, capsys):
    from fastgmm._cli import main

    X, _, _ = blobs_with_gaps(n=300, d=3, seed=17)
    data = tmp_path / "gaps.csv"
    data.write_text("a,b,c\n" + "\n".join(
        ",".join("" if np.isnan(v) else repr(float(v)) for v in row) for row in X) + "\n")
    assert main(["fit", str(data), "--select", "2-3", "--covariance-type", "full,diag",
                 "--missing", "marginalize"]) == 0
    out = capsys.readouterr().out
    sel = GaussianMixtureSelector(n_components=range(2, 4),
                                  covariance_type=("full", "diag"),
                                  missing="marginalize", random_state=0).fit(X)
    best = sel.best_params_
    assert (f"best: n_components={best['n_components']}, "
            f"covariance_type={best['covariance_type']!r}") in out


def test_plot_draws_imputed_rows_hollow():
    pytest.importorskip("matplotlib")
    import matplotlib
    matplotlib.use("Agg")
    from fastgmm.plotting import plot_mixture

    X, _, mask = blobs_with_gaps(n=300, d=3, seed=18)
    g = GaussianMixture(3, missing="marginalize", random_state=0).fit(X)
    ax = plot_mixture(g, X, features=(0, 1))
    filled, hollow = ax.collections[0], ax.collections[1]
    n_gaps = int(mask.any(axis=1).sum())
    assert hollow.get_offsets().shape[0] == n_gaps
    assert filled.get_offsets().shape[0] == X.shape[0] - n_gaps
    np.testing.assert_allclose(np.asarray(hollow.get_offsets()),
                               g.impute(X)[mask.any(axis=1)][:, :2])
    assert "imputed" in ax.get_legend().get_texts()[0].get_text()
    # one feature: the histogram of the observed values
    g1 = GaussianMixture(2, random_state=0).fit(X[~np.isnan(X[:, 0]), :1])
    ax = plot_mixture(g1, X[:, :1])
    counts = sum(p.get_height() for p in ax.patches)
    assert counts > 0 and np.isfinite(counts)
