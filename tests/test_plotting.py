"""``fastgmm.plotting``: files rendered with Agg, and what the axes hold.

Every picture is written to a PNG and checked to exist and be non-trivial
(size, dimensions, enough distinct colours); the drawn data (ellipse sizes,
density curves, criterion curves) are checked against the fitted model.
"""

import subprocess
import sys
import warnings

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.image  # noqa: E402
import matplotlib.patches  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402

import fastgmm  # noqa: E402
from fastgmm import GaussianMixture, GaussianMixtureSelector  # noqa: E402
from fastgmm.plotting import plot_mixture, plot_selection, save_plots  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def data_2d():
    rng = np.random.default_rng(0)
    centers = np.array([[0.0, 0.0], [8.0, 2.0], [2.0, 9.0]])
    A = np.array([[[1.0, 0.6], [0.0, 0.5]], [[0.4, 0.0], [0.3, 1.2]],
                  [[0.8, -0.5], [0.0, 0.6]]])
    lab = np.arange(900) % 3
    return np.ascontiguousarray(
        centers[lab] + np.einsum("ni,nij->nj", rng.normal(size=(900, 2)), A[lab]))


@pytest.fixture(scope="module")
def selector_2d(data_2d):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fastgmm.ConvergenceWarning)
        return GaussianMixtureSelector(range(1, 6), random_state=0).fit(data_2d)


def check_png(path, min_width=300):
    """The file exists, is a real picture and is not blank."""
    assert path.exists() and path.stat().st_size > 10_000
    img = matplotlib.image.imread(path)
    assert img.ndim == 3 and img.shape[1] >= min_width
    colours = np.unique((img[..., :3] * 255).astype(np.uint8).reshape(-1, 3), axis=0)
    assert len(colours) > 50                   # lines, points, text: not blank
    return img


# --------------------------------------------------------------------------
# files
# --------------------------------------------------------------------------
def test_save_plots_with_selector(tmp_path, data_2d, selector_2d):
    path = tmp_path / "both.png"
    save_plots(path, selector_2d.best_estimator_, data_2d, selector=selector_2d)
    img = check_png(path, min_width=1000)
    assert img.shape[1] > 1.8 * img.shape[0]   # two panels side by side


def test_save_plots_model_only(tmp_path, data_2d):
    gm = GaussianMixture(3, random_state=0).fit(data_2d)
    path = tmp_path / "model.png"
    save_plots(str(path), gm, data_2d)
    img = check_png(path)
    assert img.shape[1] < 1.5 * img.shape[0]   # one panel


def test_save_plots_leaves_pyplot_alone(tmp_path, data_2d, selector_2d):
    before = plt.get_fignums()
    save_plots(tmp_path / "x.png", selector_2d, data_2d, selector=selector_2d)
    assert plt.get_fignums() == before


@pytest.mark.parametrize("d", [1, 5])
def test_save_plots_1d_and_high_d(tmp_path, d):
    rng = np.random.default_rng(d)
    X = np.concatenate([rng.normal(-4, 1, size=(400, d)), rng.normal(3, 0.7, size=(300, d))])
    sel = GaussianMixtureSelector(range(1, 4), ["full", "diag"], random_state=0).fit(X)
    path = tmp_path / f"d{d}.png"
    save_plots(path, sel.best_estimator_, X, selector=sel)
    check_png(path, min_width=1000)


# --------------------------------------------------------------------------
# what is drawn
# --------------------------------------------------------------------------
@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_ellipses_match_covariances(data_2d, covariance_type):
    gm = GaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(data_2d)
    ax = plot_mixture(gm, data_2d)
    ellipses = [p for p in ax.patches if isinstance(p, matplotlib.patches.Ellipse)]
    assert len(ellipses) == 3 * 3               # 1-, 2-, 3-sigma per component
    full = {"full": lambda c: c,
            "tied": lambda c: np.broadcast_to(c, (3, 2, 2)),
            "diag": lambda c: c[:, :, None] * np.eye(2),
            "spherical": lambda c: c[:, None, None] * np.eye(2)}[covariance_type](
                gm.covariances_)
    for k in range(3):
        eig = np.sqrt(np.linalg.eigvalsh(full[k]))[::-1]
        for s in (1, 2, 3):
            e = ellipses[3 * k + s - 1]
            np.testing.assert_allclose(e.center, gm.means_[k], rtol=1e-12)
            np.testing.assert_allclose([e.width, e.height], 2 * s * eig, rtol=1e-9)
    # every row is drawn, coloured by its component
    assert ax.collections[0].get_offsets().shape == (900, 2)
    assert ax.get_xlabel() == "feature 0" and ax.get_ylabel() == "feature 1"


def test_ellipse_orientation_follows_major_axis(data_2d):
    gm = GaussianMixture(3, random_state=0).fit(data_2d)
    ax = plot_mixture(gm, data_2d)
    for k in range(3):
        e = ax.patches[3 * k]
        vals, vecs = np.linalg.eigh(gm.covariances_[k])
        major = vecs[:, 1]
        angle = np.radians(e.angle)
        # same line through the centre (direction up to sign)
        assert abs(abs(np.dot(major, [np.cos(angle), np.sin(angle)])) - 1) < 1e-9


def test_features_and_principal_axes():
    rng = np.random.default_rng(1)
    X = np.concatenate([rng.normal(0, 1, size=(300, 4)), rng.normal(6, 1, size=(300, 4))])
    gm = GaussianMixture(2, random_state=0).fit(X)
    ax = plot_mixture(gm, X, features=(1, 3))
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("feature 1", "feature 3")
    # projected 1-sigma ellipse of the (1, 3) sub-covariance
    sub = gm.covariances_[0][np.ix_([1, 3], [1, 3])]
    np.testing.assert_allclose(sorted([ax.patches[0].width, ax.patches[0].height]),
                               2 * np.sqrt(np.linalg.eigvalsh(sub)), rtol=1e-9)
    ax = plot_mixture(gm, X)
    assert ax.get_xlabel() == "principal axis 1"
    # the clusters differ along (1, 1, 1, 1): the first principal axis
    means = np.array([e.center for e in ax.patches[::3]])
    assert abs(means[0, 0] - means[1, 0]) > 5 * abs(means[0, 1] - means[1, 1])
    with pytest.raises(ValueError, match="two different column indices"):
        plot_mixture(gm, X, features=(1, 1))
    with pytest.raises(ValueError, match="two different column indices"):
        plot_mixture(gm, X, features=(0, 4))


def test_histogram_with_component_and_mixture_densities():
    rng = np.random.default_rng(2)
    X = np.concatenate([rng.normal(-3, 1, 600), rng.normal(2, 0.5, 400)])[:, None]
    gm = GaussianMixture(2, random_state=0).fit(X)
    ax = plot_mixture(gm, X)
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert set(lines) == {"mixture", "component 0", "component 1"}
    grid = lines["mixture"].get_xdata()
    mixture = lines["mixture"].get_ydata()
    comps = [lines[f"component {k}"].get_ydata() for k in range(2)]
    np.testing.assert_allclose(mixture, comps[0] + comps[1], rtol=1e-12)
    # the mixture curve is the fitted density
    np.testing.assert_allclose(mixture, np.exp(gm.score_samples(grid[:, None])),
                               rtol=1e-8, atol=1e-300)
    assert abs(np.trapezoid(mixture, grid) - 1.0) < 1e-3
    for k in range(2):
        assert abs(np.trapezoid(comps[k], grid) - gm.weights_[k]) < 1e-3
    # histogram bars are densities
    heights = np.array([p.get_height() for p in ax.patches])
    widths = np.array([p.get_width() for p in ax.patches])
    assert abs((heights * widths).sum() - 1.0) < 1e-9


@pytest.mark.parametrize("criterion", [None, "aic"])
def test_selection_curves(selector_2d, criterion):
    ax = plot_selection(selector_2d, criterion=criterion)
    key = criterion or "bic"
    res = selector_2d.results_
    lines = {line.get_label(): line for line in ax.get_lines()}
    for t in ("full", "tied", "diag", "spherical"):
        rows = res["covariance_type"] == t
        np.testing.assert_array_equal(lines[t].get_xdata(), res["n_components"][rows])
        np.testing.assert_array_equal(lines[t].get_ydata(), res[key][rows])
    chosen = [line for label, line in lines.items() if label.startswith("chosen")]
    assert len(chosen) == 1
    b = selector_2d.best_index_
    assert chosen[0].get_xdata()[0] == res["n_components"][b]
    assert chosen[0].get_ydata()[0] == res[key][b]
    assert ax.get_ylabel() == key.upper()


def test_selector_as_model_plots_its_best(data_2d, selector_2d):
    ax = plot_mixture(selector_2d, data_2d)
    K = selector_2d.best_estimator_.n_components
    assert len(ax.patches) == 3 * K


def test_own_axes_are_used(data_2d, selector_2d):
    fig, (a, b) = plt.subplots(1, 2)
    assert plot_mixture(selector_2d, data_2d, ax=a) is a
    assert plot_selection(selector_2d, ax=b) is b


def test_errors(data_2d, selector_2d, monkeypatch):
    with pytest.raises(fastgmm.NotFittedError):
        plot_mixture(GaussianMixture(2), data_2d)
    with pytest.raises(fastgmm.NotFittedError):
        plot_selection(GaussianMixtureSelector())
    with pytest.raises(ValueError, match="criterion"):
        plot_selection(selector_2d, criterion="xic")
    with pytest.raises(ValueError, match="shape"):
        plot_mixture(selector_2d, data_2d[:, :1])
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r"pip install fastgmm\[plot\]"):
        plot_mixture(selector_2d, data_2d)


def test_import_fastgmm_does_not_import_matplotlib():
    code = "import sys, fastgmm; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["False"]


# --------------------------------------------------------------------------
# Bayesian mixtures: the effective components
# --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def bayesian_2d(data_2d):
    return fastgmm.BayesianGaussianMixture(n_components=8, random_state=0,
                                           weight_concentration_prior=1e-3,
                                           max_iter=300).fit(data_2d)


def test_bayesian_mixture_draws_its_effective_components(data_2d, bayesian_2d):
    used = bayesian_2d.effective_components()
    assert used.shape[0] == 3
    ax = plot_mixture(bayesian_2d, data_2d)
    ellipses = [p for p in ax.patches if isinstance(p, matplotlib.patches.Ellipse)]
    assert len(ellipses) == 3 * used.shape[0]
    centres = np.array([e.center for e in ellipses[::3]])
    np.testing.assert_allclose(centres, bayesian_2d.means_[used], rtol=1e-12)
    assert ax.get_title().startswith("3 effective of 8 components")
    # every component with min_weight=0
    ax = plot_mixture(bayesian_2d, data_2d, ax=plt.subplots()[1], min_weight=0)
    assert len([p for p in ax.patches
                if isinstance(p, matplotlib.patches.Ellipse)]) == 3 * 8


def test_plot_weights(bayesian_2d):
    from fastgmm.plotting import plot_weights

    ax = plot_weights(bayesian_2d)
    heights = [p.get_height() for p in ax.patches]
    np.testing.assert_allclose(heights, bayesian_2d.weights_, rtol=1e-12)
    assert ax.get_title() == "3 effective of 8 components"


def test_save_plots_bayesian_has_the_weights_panel(tmp_path, data_2d, bayesian_2d):
    path = tmp_path / "bgmm.png"
    save_plots(path, bayesian_2d, data_2d)
    img = check_png(path, min_width=1000)
    assert img.shape[1] > 1.8 * img.shape[0]
