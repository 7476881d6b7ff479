"""Plots of fitted mixtures and of model selection (needs matplotlib).

Install with ``pip install fastgmm[plot]``.  ``import fastgmm`` never imports
matplotlib; this module imports it when a function is called.

- :func:`plot_mixture`: one feature, a histogram with every weighted component
  density and the mixture density; two or more, a scatter coloured by
  component with each component's 1-, 2- and 3-sigma ellipses (two chosen
  features, or the first two principal axes of the data).
- :func:`plot_selection`: BIC or AIC against ``n_components``, one line per
  covariance type, the chosen model marked.
- :func:`plot_weights`: the weights of a Bayesian mixture's components, the
  effective ones (weight at least 1%) highlighted.
- :func:`save_plots`: the mixture and the selection curves or the weights
  into one PNG, without touching pyplot's state.

For a :class:`fastgmm.BayesianGaussianMixture`, :func:`plot_mixture` draws
the effective components only (those with weight at least ``min_weight``).
"""

import numpy as np

# Scatter plots draw at most this many rows (a fixed-seed random subset);
# histograms use every row.
MAX_SCATTER_POINTS = 20000
SIGMAS = (1, 2, 3)
# Rows per chunk of the principal-axes pass (bounded temporaries).
_PCA_CHUNK_ROWS = 65536


def _matplotlib():
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise ImportError("fastgmm.plotting needs matplotlib; install it with "
                          "'pip install fastgmm[plot]'.") from None
    import matplotlib.patches

    return matplotlib


def _new_axes(ax):
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    return plt.subplots()[1]


def _fitted_mixture(model):
    """The GaussianMixture behind ``model`` (a selector gives its best)."""
    model = getattr(model, "best_estimator_", model)
    if not hasattr(model, "means_"):
        from ._base import NotFittedError

        raise NotFittedError(f"This {type(model).__name__} instance is not fitted "
                             "yet. Call 'fit' with appropriate arguments before "
                             "plotting it.")
    return model


def _full_covariances(model):
    """(K, d, d) covariance matrices of any covariance type, float64."""
    from ._covariance import covariance_model

    K, d = model.means_.shape
    return covariance_model(model.covariance_type).dense(model.covariances_, K, d)


def _feature_label(model, j):
    names = getattr(model, "feature_names_in_", None)
    return str(names[j]) if names is not None else f"feature {j}"


def _projection(model, X, features):
    """A (d, 2) matrix onto the plotted plane and the axis labels."""
    d = X.shape[1]
    if features is None and d == 2:
        features = (0, 1)
    if features is not None:
        i, j = (int(f) for f in features)
        if not (0 <= i < d and 0 <= j < d) or i == j:
            raise ValueError(f"features must be two different column indices in "
                             f"[0, {d}), got {features!r}.")
        P = np.zeros((d, 2))
        P[i, 0] = P[j, 1] = 1.0
        return P, np.zeros(d), (_feature_label(model, i), _feature_label(model, j))
    # first two principal axes of the data, in one chunked pass (no n x d
    # copy; rows with missing values enter imputed, each chunk once): the
    # moments about the mixture's mean s, close to the data's, then moved to
    # the data's mean m: C = sum (x - s)(x - s)^T - n (m - s)(m - s)^T
    n = X.shape[0]
    s = np.asarray(model.weights_, dtype=np.float64) @ np.asarray(model.means_,
                                                                 dtype=np.float64)
    total = np.zeros(d)
    C = np.zeros((d, d))
    for i0 in range(0, n, _PCA_CHUNK_ROWS):
        D = _completed(model, X[i0:i0 + _PCA_CHUNK_ROWS]) - s
        total += D.sum(axis=0)
        C += D.T @ D
    shift = total / n
    mean = s + shift
    C -= n * np.outer(shift, shift)
    _, vecs = np.linalg.eigh(C)
    return vecs[:, ::-1][:, :2].copy(), mean, ("principal axis 1", "principal axis 2")


def _completed(model, X):
    """``X`` with its NaN entries replaced by the model's conditional means."""
    if X.dtype.kind == "f" and np.isnan(X).any():
        return model.impute(X)
    return X


def _ellipse_geometry(cov2):
    """Semi-axes (for one sigma) and angle in degrees of a 2x2 covariance."""
    vals, vecs = np.linalg.eigh(cov2)
    vals = np.clip(vals, 0.0, None)
    angle = np.degrees(np.arctan2(vecs[1, 1], vecs[0, 1]))
    return np.sqrt(vals[1]), np.sqrt(vals[0]), angle


def _is_bayesian(model):
    return hasattr(model, "weight_concentration_")


def _default_min_weight(model):
    from ._bayesian_mixture import EFFECTIVE_WEIGHT

    return EFFECTIVE_WEIGHT if _is_bayesian(model) else 0.0


def plot_mixture(model, X, ax=None, features=None, min_weight=None):
    """Plot the data with the fitted mixture.

    Parameters
    ----------
    model : fastgmm.GaussianMixture or GaussianMixtureSelector
        Fitted; a selector plots its ``best_estimator_``.
    X : array-like of shape (n_samples, n_features)
        Data to draw (usually the data the model was fitted on).
    ax : matplotlib Axes, default=None
        Where to draw; a new figure when None.
    features : pair of int, default=None
        With 2+ features, the two columns to draw.  Default: the two
        features when there are two, else the data's first two principal
        axes (means and covariances are projected onto the same plane).
    min_weight : float, default=None
        Components with a smaller weight are not drawn.  Default: 0.01 for a
        Bayesian mixture (its effective components), 0 otherwise.

    Returns
    -------
    ax : matplotlib Axes

    Notes
    -----
    One feature: histogram (density) of ``X``, each component's weighted
    density ``w_k N(x | mu_k, sigma_k^2)`` and their sum.  Two or more: a
    scatter of at most 20,000 rows (a fixed random subset) coloured by
    ``model.predict``, each component's mean and its 1-, 2- and 3-sigma
    ellipses (Mahalanobis radius 1, 2, 3 of the projected covariance).

    Rows with missing (NaN) values: with one feature they are left out of
    the histogram; with two or more they are drawn at their imputed
    positions (:meth:`~fastgmm.GaussianMixture.impute`) as hollow circles,
    and labelled from their observed values.
    """
    mpl = _matplotlib()
    gm = _fitted_mixture(model)
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[1] != gm.means_.shape[1]:
        raise ValueError(f"X must have shape (n_samples, {gm.means_.shape[1]}), got "
                         f"{X.shape}.")
    ax = _new_axes(ax)
    K, d = gm.means_.shape
    weights = np.asarray(gm.weights_, dtype=np.float64)
    if min_weight is None:
        min_weight = _default_min_weight(gm)
    shown = [k for k in range(K) if weights[k] >= min_weight]
    means = np.asarray(gm.means_, dtype=np.float64)
    covs = _full_covariances(gm)
    colors = mpl.colormaps["tab10" if K <= 10 else "tab20"]
    color = [colors(k % colors.N) for k in range(K)]

    if d == 1:
        x = np.asarray(X[:, 0], dtype=np.float64)
        x = x[~np.isnan(x)]
        ax.hist(x, bins=min(100, max(10, int(np.sqrt(x.shape[0])))), density=True,
                color="0.8", edgecolor="0.6", label="data")
        sd = np.sqrt(covs[:, 0, 0])
        lo = min(x.min(), (means[:, 0] - 4 * sd).min())
        hi = max(x.max(), (means[:, 0] + 4 * sd).max())
        grid = np.linspace(lo, hi, 600)
        dens = weights[:, None] * np.exp(-0.5 * ((grid - means[:, :1]) / sd[:, None]) ** 2) \
            / (sd[:, None] * np.sqrt(2 * np.pi))
        # mixture dashed underneath, so components it coincides with show
        ax.plot(grid, dens.sum(axis=0), color="k", lw=2.5, ls="--", label="mixture")
        for k in shown:
            ax.plot(grid, dens[k], color=color[k], lw=1.5, label=f"component {k}")
        ax.set_xlabel(_feature_label(gm, 0))
        ax.set_ylabel("density")
        ax.legend(fontsize="small")
    else:
        P, origin, labels = _projection(gm, X, features)
        n = X.shape[0]
        rows = np.arange(n) if n <= MAX_SCATTER_POINTS else np.sort(
            np.random.default_rng(0).choice(n, MAX_SCATTER_POINTS, replace=False))
        Xs = np.ascontiguousarray(X[rows])
        gaps = np.isnan(Xs).any(axis=1) if Xs.dtype.kind == "f" else \
            np.zeros(Xs.shape[0], dtype=bool)
        Xc = _completed(gm, Xs)
        Y = (Xc - origin) @ P
        # rows with gaps are labelled by their observed values when the model
        # scores NaN (missing='marginalize'), else at their imputed positions
        lab = gm.predict(Xs if getattr(gm, "missing", "raise") == "marginalize"
                         else Xc)
        # bigger, more opaque points when there are few of them
        size = float(np.clip(4000 / rows.shape[0], 2, 16))
        alpha = 0.8 if rows.shape[0] < 2000 else 0.4
        ax.scatter(Y[~gaps, 0], Y[~gaps, 1], c=[color[k] for k in lab[~gaps]],
                   s=size, alpha=alpha, linewidths=0, rasterized=True)
        if gaps.any():
            ax.scatter(Y[gaps, 0], Y[gaps, 1], facecolors="none",
                       edgecolors=[color[k] for k in lab[gaps]], s=2.5 * size,
                       alpha=alpha, linewidths=1.0, rasterized=True,
                       label=f"imputed ({int(gaps.sum())} rows with gaps)")
            ax.legend(fontsize="small", loc="best")
        M = (means - origin) @ P
        for k in shown:
            a, b, angle = _ellipse_geometry(P.T @ covs[k] @ P)
            for s, alpha in zip(SIGMAS, (0.9, 0.6, 0.35)):
                ax.add_patch(mpl.patches.Ellipse(
                    M[k], 2 * s * a, 2 * s * b, angle=angle, fill=False,
                    edgecolor=color[k], lw=1.5, alpha=alpha))
            ax.plot(M[k, 0], M[k, 1], marker="x", color="k", ms=7, mew=2)
        ax.set_xlabel(labels[0])
        ax.set_ylabel(labels[1])
        ax.autoscale_view()
    used = f"{len(shown)} effective of " if len(shown) < K else ""
    ax.set_title(f"{used}{K} component{'s' if K != 1 else ''}, {gm.covariance_type} "
                 "covariance")
    return ax


def plot_weights(model, ax=None, threshold=None):
    """Bar chart of a mixture's weights, the effective components highlighted.

    Parameters
    ----------
    model : fastgmm.BayesianGaussianMixture (or GaussianMixture)
        Fitted.
    ax : matplotlib Axes, default=None
    threshold : float, default=None
        Weight from which a component counts as effective (drawn as a line);
        default 0.01 (``BayesianGaussianMixture.effective_components``).

    Returns
    -------
    ax : matplotlib Axes
    """
    _matplotlib()
    gm = _fitted_mixture(model)
    from ._bayesian_mixture import EFFECTIVE_WEIGHT

    threshold = EFFECTIVE_WEIGHT if threshold is None else threshold
    ax = _new_axes(ax)
    w = np.asarray(gm.weights_, dtype=np.float64)
    used = w >= threshold
    ax.bar(np.arange(w.shape[0]), w, color=np.where(used, "tab:blue", "0.7"))
    ax.axhline(threshold, color="k", lw=1, ls="--", label=f"weight {threshold:g}")
    ax.set_xlabel("component")
    ax.set_ylabel("weight")
    ax.set_title(f"{int(used.sum())} effective of {w.shape[0]} components")
    ax.legend(fontsize="small")
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    return ax


def plot_selection(selector, ax=None, criterion=None):
    """Plot BIC or AIC against n_components, one line per covariance type.

    Parameters
    ----------
    selector : fastgmm.GaussianMixtureSelector
        Fitted.
    ax : matplotlib Axes, default=None
        Where to draw; a new figure when None.
    criterion : {'bic', 'aic'}, default=None
        Which criterion to draw; the selector's own when None.

    Returns
    -------
    ax : matplotlib Axes
        The chosen model (``selector.best_index_``) is marked with a star.
    """
    _matplotlib()
    from ._base import check_is_fitted

    check_is_fitted(selector, "results_")
    criterion = selector.criterion if criterion is None else criterion
    if criterion not in ("bic", "aic"):
        raise ValueError(f"criterion must be 'bic' or 'aic', got {criterion!r}.")
    ax = _new_axes(ax)
    res = selector.results_
    ks = np.asarray(res["n_components"])
    types = np.asarray(res["covariance_type"])
    values = np.asarray(res[criterion], dtype=np.float64)
    for t in dict.fromkeys(types.tolist()):
        sel = np.flatnonzero(types == t)
        order = sel[np.argsort(ks[sel], kind="stable")]
        ax.plot(ks[order], values[order], marker="o", ms=4, label=t)
    b = selector.best_index_
    ax.plot(ks[b], values[b], marker="*", ms=18, color="k", linestyle="none",
            label=f"chosen: {ks[b]}, {types[b]}")
    ax.set_xlabel("n_components")
    ax.set_ylabel(criterion.upper())
    ax.set_title(f"{criterion.upper()} by number of components (lower is better)")
    ax.legend(fontsize="small")
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    return ax


def save_plots(path, model, X, selector=None):
    """Write one PNG with :func:`plot_mixture` (and :func:`plot_selection`).

    Uses matplotlib's Agg canvas directly, so it works without a display and
    leaves pyplot's backend and figures alone.

    Parameters
    ----------
    path : str or path-like
        Output file (PNG).
    model : fastgmm.GaussianMixture or GaussianMixtureSelector
    X : array-like of shape (n_samples, n_features)
    selector : fastgmm.GaussianMixtureSelector, default=None
        When given, a second panel shows its criterion curves.  For a
        Bayesian mixture the second panel shows its weights instead
        (:func:`plot_weights`).
    """
    _matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    bayesian = selector is None and _is_bayesian(_fitted_mixture(model))
    n_panels = 1 if selector is None and not bayesian else 2
    fig = Figure(figsize=(6.4 * n_panels, 5.2))
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, n_panels, squeeze=False)[0]
    plot_mixture(model, X, ax=axes[0])
    if selector is not None:
        plot_selection(selector, ax=axes[1])
    elif bayesian:
        plot_weights(model, ax=axes[1])
    fig.tight_layout()
    fig.savefig(path, dpi=100)
