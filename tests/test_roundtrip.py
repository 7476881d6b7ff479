"""Round trips of every model the library can produce (issue 14).

Each model is saved, loaded and must predict identically (``predict``,
``predict_proba``, ``score_samples`` bitwise, every fitted attribute equal),
and its own ``weights_`` / ``means_`` / ``precisions_`` must be accepted as
``*_init`` by a new fit, which then stops after a few iterations:

* every covariance type x dtype (float32, float64) x ``init_params``;
* the model selector's best model;
* models from ``fit_blocks`` and from a read-only memmap;
* the command line: ``fit -o`` then ``predict`` / ``info`` / ``sample`` for
  every covariance type, and ``fit --select`` over all four.
"""

import io
import warnings

import numpy as np
import pytest

import fastgmm
from fastgmm import ConvergenceWarning, GaussianMixture, GaussianMixtureSelector
from fastgmm._cli import main
from fastgmm._covariance import COVARIANCE_TYPES
from fastgmm._parameters import INIT_PARAMS

DTYPES = (np.float64, np.float32)
FITTED = ("weights_", "means_", "covariances_", "precisions_",
          "precisions_cholesky_")


@pytest.fixture(autouse=True)
def _one_thread():
    # small fits: one thread avoids OpenMP start-up costs on a loaded machine
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield


@pytest.fixture(scope="module")
def data(make_blobs_fn):
    X, _, _ = make_blobs_fn(n=600, d=4, K=3, separation=6.0, seed=3)
    X.setflags(write=False)
    return X


def saved_and_loaded(model, path=None):
    if path is None:
        buf = io.BytesIO()
        model.save(buf)
        buf.seek(0)
        return fastgmm.load(buf)
    model.save(path)
    return fastgmm.load(path)


def assert_same_model(a, b, X):
    """Every fitted attribute equal, predictions bitwise identical."""
    for name in FITTED:
        va, vb = getattr(a, name), getattr(b, name)
        assert vb.dtype == va.dtype and vb.shape == va.shape, name
        np.testing.assert_array_equal(vb, va, err_msg=name)
    for name in ("converged_", "n_iter_", "lower_bound_", "lower_bounds_",
                 "n_features_in_"):
        assert getattr(b, name) == getattr(a, name), name
    assert b.get_params().keys() == a.get_params().keys()
    Xa = np.asarray(X, dtype=a.means_.dtype)
    for method in ("predict", "predict_proba", "score_samples"):
        ra, rb = getattr(a, method)(Xa), getattr(b, method)(Xa)
        assert ra.dtype == rb.dtype, method
        np.testing.assert_array_equal(rb, ra, err_msg=method)
    assert b.score(Xa) == a.score(Xa)
    assert b.bic(Xa) == a.bic(Xa) and b.aic(Xa) == a.aic(Xa)


def refit_from_own_parameters(model, X):
    """A new fit from ``model``'s own weights_/means_/precisions_: accepted,
    and (from a converged model) converged again within a few iterations,
    at a lower bound no worse than the model's."""
    new = GaussianMixture(
        model.n_components, covariance_type=model.covariance_type,
        weights_init=model.weights_, means_init=model.means_,
        precisions_init=model.precisions_, tol=model.tol,
        reg_covar=model.reg_covar, max_iter=100)
    Xd = np.asarray(X, dtype=model.means_.dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        new.fit(Xd)
    assert new.means_.dtype == model.means_.dtype
    assert new.converged_
    if model.converged_:
        assert new.n_iter_ <= 3, new.n_iter_
    slack = 1e-6 if model.means_.dtype == np.float64 else 1e-4
    assert new.lower_bound_ >= model.lower_bound_ - slack * max(1.0, abs(model.lower_bound_))
    return new


@pytest.mark.parametrize("init_params", INIT_PARAMS)
@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_every_model_saves_loads_and_refits(data, covariance_type, dtype, init_params,
                                             tmp_path):
    X = data.astype(dtype)
    gm = GaussianMixture(3, covariance_type=covariance_type, init_params=init_params,
                         random_state=0).fit(X)
    assert gm.converged_
    loaded = saved_and_loaded(gm, tmp_path / "m.npz")
    assert type(loaded) is GaussianMixture and loaded.means_.dtype == dtype
    assert loaded.get_params() == gm.get_params()
    assert_same_model(gm, loaded, X)
    # the loaded model and the original start the same new fit
    a, b = refit_from_own_parameters(gm, X), refit_from_own_parameters(loaded, X)
    assert_same_model(a, b, X)
    # and the refitted model round-trips too
    assert_same_model(a, saved_and_loaded(a), X)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
def test_selector_best_model(data, dtype):
    X = data.astype(dtype)
    sel = GaussianMixtureSelector(n_components=range(1, 5), random_state=0).fit(X)
    best = sel.best_estimator_
    assert best.means_.dtype == dtype
    loaded = saved_and_loaded(best)
    assert_same_model(best, loaded, X)
    np.testing.assert_array_equal(loaded.predict(X), sel.predict(X))
    refit_from_own_parameters(loaded, X)
    # every covariance type as the selector builds it, not just the winner
    for covariance_type in COVARIANCE_TYPES:
        one = GaussianMixtureSelector(n_components=[3], covariance_type=[covariance_type],
                                      random_state=0).fit(X).best_estimator_
        assert one.covariance_type == covariance_type
        assert_same_model(one, saved_and_loaded(one), X)
        refit_from_own_parameters(one, X)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_fit_blocks_and_memmap_models(data, covariance_type, dtype, tmp_path):
    X = np.ascontiguousarray(data, dtype=dtype)
    kw = dict(n_components=3, covariance_type=covariance_type, random_state=0)
    blocks = [X[:150], X[150:420], X[420:]]
    gm = GaussianMixture(**kw).fit_blocks(blocks)
    assert gm.means_.dtype == dtype
    assert_same_model(gm, saved_and_loaded(gm, tmp_path / "blocks.npz"), X)
    refit_from_own_parameters(gm, X)

    np.save(tmp_path / "X.npy", X)
    mm = np.load(tmp_path / "X.npy", mmap_mode="r")
    gm = GaussianMixture(**kw).fit(mm)
    assert gm.means_.dtype == dtype
    loaded = saved_and_loaded(gm, tmp_path / "memmap.npz")
    assert_same_model(gm, loaded, mm)
    refit_from_own_parameters(loaded, mm)
    # the .npy path itself, streamed by fit_blocks
    gm = GaussianMixture(**kw).fit_blocks([str(tmp_path / "X.npy")])
    assert_same_model(gm, saved_and_loaded(gm), X)


# ------------------------------------------------------------------- CLI
@pytest.fixture
def run(capsys):
    def run(*argv):
        code = main([str(a) for a in argv])
        out, err = capsys.readouterr()
        assert code == 0, (argv, out, err)
        return out
    return run


@pytest.fixture(scope="module")
def data_files(data, tmp_path_factory):
    d = tmp_path_factory.mktemp("roundtrip-cli")
    paths = {}
    for dtype in DTYPES:
        paths[np.dtype(dtype).name] = str(d / f"X-{np.dtype(dtype).name}.npy")
        np.save(paths[np.dtype(dtype).name], data.astype(dtype))
    return paths


def _check_cli_model(run, model_path, X, tmp_path, covariance_type=None):
    gm = fastgmm.load(model_path)
    if covariance_type is not None:
        assert gm.covariance_type == covariance_type
    assert gm.means_.dtype == X.dtype
    Xd = X.astype(gm.means_.dtype)
    data_path = tmp_path / "query.npy"
    np.save(data_path, Xd)
    # predict: labels as CSV, probabilities to .npy, exactly the model's
    lines = run("predict", model_path, data_path).splitlines()
    assert lines[0] == "label"
    np.testing.assert_array_equal(np.array(lines[1:], dtype=int), gm.predict(Xd))
    run("predict", model_path, data_path, "--proba", "-o", tmp_path / "p.npy")
    np.testing.assert_array_equal(np.load(tmp_path / "p.npy"), gm.predict_proba(Xd))
    # info describes it
    out = run("info", model_path)
    assert (f"GaussianMixture(n_components={gm.n_components}, "
            f"covariance_type={gm.covariance_type!r}) with {X.shape[1]} features "
            f"({gm.means_.dtype.name})") in out
    assert f"  lower bound {gm.lower_bound_:.6f}" in out.splitlines()
    # sample: the model's own samples, in its dtype
    run("sample", model_path, "-n", 50, "-o", tmp_path / "s.npy")
    S = np.load(tmp_path / "s.npy")
    assert S.shape == (50, X.shape[1]) and S.dtype == gm.means_.dtype
    np.testing.assert_array_equal(S, gm.sample(50)[0].astype(S.dtype))
    refit_from_own_parameters(gm, Xd)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_cli_fit_then_predict_info_sample(run, data, data_files, covariance_type, dtype,
                                          tmp_path):
    X = data.astype(dtype)
    model = tmp_path / "m.npz"
    out = run("fit", data_files[np.dtype(dtype).name], "-k", 3, "--covariance-type",
              covariance_type, "-o", model)
    assert f"saved the model to {model}" in out
    gm = GaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(X)
    assert_same_model(gm, fastgmm.load(model), X)
    _check_cli_model(run, model, X, tmp_path, covariance_type)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
def test_cli_select_over_all_four_types(run, data, data_files, dtype, tmp_path):
    X = data.astype(dtype)
    model = tmp_path / "best.npz"
    out = run("fit", data_files[np.dtype(dtype).name], "--select", "1-4", "-o", model)
    assert "Model selection by BIC over 16 candidates:" in out
    sel = GaussianMixtureSelector(n_components=range(1, 5), random_state=0).fit(X)
    assert_same_model(sel.best_estimator_, fastgmm.load(model), X)
    _check_cli_model(run, model, X, tmp_path)
    # the tied model of the issue: chosen when the grid offers only 'tied'
    model = tmp_path / "tied.npz"
    run("fit", data_files[np.dtype(dtype).name], "--select", "2-4",
        "--covariance-type", "tied", "-o", model)
    _check_cli_model(run, model, X, tmp_path, "tied")
