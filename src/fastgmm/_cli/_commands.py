"""The subcommands: fit, predict, impute, sample and info (one function each)."""

import importlib.util
import os
import sys
import time
import warnings

import numpy as np

from .._covariance import COVARIANCE_TYPES
from ._errors import CLIError, _note, _one_line, _report_warnings
from ._readers import _column_label, load_data, rewrite_delimited
from ._tables import _labels_table, _selection_table, _write_output, _write_table, describe

_PLOT_HINT = "--plot needs matplotlib (pip install 'fastgmm[plot]'): "


# -------------------------------------------------------------- commands
def _load_model(path):
    from .._persistence import load_model

    try:
        return load_model(path)
    except FileNotFoundError:
        raise CLIError(f"cannot read model {path!r}: no such file") from None
    except IsADirectoryError:
        raise CLIError(f"cannot read model {path!r}: is a directory") from None
    except OSError as exc:
        raise CLIError(f"cannot read model {path!r}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise CLIError(f"cannot load model: {_one_line(exc)}") from None


def _missing_cells(X, names, weights, source, missing):
    """Check the missing values (NaN) of a table read for ``fit``.

    Without ``--missing marginalize`` they are an error naming the option;
    with it, a note says how many there are per column, and rows with no
    observed value (which carry no information) are dropped with a note.
    Returns the rows to fit and their weights.
    """
    nan = np.isnan(X)
    if not nan.any():
        return X, weights
    if weights is not None and np.isnan(weights).any():
        raise CLIError(f"the weights column of {source} has empty cells; every row "
                       "needs a weight")

    def summary(nan, rows):
        per_column = nan.sum(axis=0)
        listed = ", ".join(f"{_column_label(j, names)} {int(c)}"
                           for j, c in enumerate(per_column) if c)
        return (f"{int(per_column.sum())} missing value(s) (empty or NaN cells) in "
                f"{int(nan.any(axis=1).sum())} of {rows} rows (per column: {listed})")

    what = summary(nan, X.shape[0])
    if missing != "marginalize":
        raise CLIError(f"{source} has {what}; fit them with --missing marginalize "
                       "(EM over each row's observed values), or fill or drop them "
                       "first")
    empty = nan.all(axis=1)
    if empty.any():
        _note(f"note: skipping {int(empty.sum())} row(s) of {source} with no "
              "observed value")
        X = np.ascontiguousarray(X[~empty])
        weights = None if weights is None else weights[~empty]
        what = summary(nan[~empty], f"its other {X.shape[0]}")
    _note(f"note: {source} has {what}; fitting them as missing values")
    return X, weights


def _model_data(args, model, **kwargs):
    """The feature columns of ``args.data`` for a saved model (by its
    feature names when it has them): ``load_data``'s results."""
    names = getattr(model, "feature_names_in_", None)
    loaded = load_data(
        args.data, columns=args.columns, dtype=args.dtype, array=args.array,
        header=args.header, prefer_names=None if names is None else list(names),
        **kwargs)
    X, source = loaded[0], loaded[3]
    if X.shape[1] != model.n_features_in_:
        raise CLIError(f"{source} has {X.shape[1]} feature column(s) but the model "
                       f"expects {model.n_features_in_} (choose them with --columns)")
    return loaded


def _feature_table(model, X):
    """Header and per-column formats of a table of rows like the model's."""
    names = getattr(model, "feature_names_in_", None)
    header = [str(n) for n in names] if names is not None else \
        [f"x{j}" for j in range(X.shape[1])]
    fmt = "%.9g" if X.dtype == np.float32 else "%.10g"
    return header, [fmt] * X.shape[1]


def _estimator_kwargs(args):
    kwargs = {"random_state": args.seed, "n_threads": args.threads}
    if getattr(args, "missing", None) is not None:
        kwargs["missing"] = args.missing
    for key, value in (("tol", args.tol), ("reg_covar", args.reg_covar),
                       ("max_iter", args.max_iter), ("n_init", args.n_init),
                       ("init_params", args.init)):
        if value is not None:
            kwargs[key] = value
    return kwargs


def _cmd_fit(args):
    import fastgmm

    selector_cls = plotting = None
    if args.select is not None:
        selector_cls = getattr(fastgmm, "GaussianMixtureSelector", None)
        if selector_cls is None:
            raise CLIError("--select needs fastgmm.GaussianMixtureSelector, which "
                           "this fastgmm does not have")
    if args.plot is not None:
        # fail before a possibly long fit, not after it
        try:
            if importlib.util.find_spec("matplotlib") is None:
                raise ImportError("No module named 'matplotlib'")
            from .. import plotting
        except ImportError as exc:
            raise CLIError(_PLOT_HINT + _one_line(exc)) from None

    X, names, weights, source = load_data(
        args.data, columns=args.columns, weights_column=args.weights_column,
        dtype=args.dtype, array=args.array, header=args.header)
    X, weights = _missing_cells(X, names, weights, source, args.missing)
    kwargs = _estimator_kwargs(args)
    verbose = 2 if args.verbose else 0
    selector = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        t0 = time.perf_counter()
        if selector_cls is not None:
            k1, k2 = args.select
            selector = selector_cls(
                n_components=range(k1, k2 + 1),
                covariance_type=tuple(args.covariance_type or COVARIANCE_TYPES),
                criterion=args.criterion or "bic", verbose=verbose, **kwargs)
            selector.fit(X, sample_weight=weights)
            model = selector.best_estimator_
        elif args.bayesian:
            model = fastgmm.BayesianGaussianMixture(
                n_components=args.n_components if args.n_components is not None
                else 3,
                covariance_type=(args.covariance_type or ["full"])[0],
                weight_concentration_prior_type=args.prior or "dirichlet_process",
                verbose=verbose, verbose_interval=1, **kwargs)
            model.fit(X, sample_weight=weights)
        else:
            model = fastgmm.GaussianMixture(
                args.n_components if args.n_components is not None else 3,
                covariance_type=(args.covariance_type or ["full"])[0],
                verbose=verbose, verbose_interval=1, **kwargs)
            model.fit(X, sample_weight=weights)
        seconds = time.perf_counter() - t0
    _report_warnings(caught)
    if names is not None:
        # the columns' names, as a DataFrame fit would record them; `predict`
        # uses them to pick the same columns from a file with a header
        model.feature_names_in_ = np.asarray(names, dtype=object)
    if selector is not None:
        print(_selection_table(selector))
    print(describe(model, X, seconds, weighted=weights is not None))
    if args.output is not None:
        model.save(args.output)
        print(f"saved the model to {args.output}")
    if args.labels is not None:
        header, columns, fmts, _, _ = _labels_table(model, X)
        _write_table(args.labels, header, columns, fmts)
        print(f"wrote labels and probabilities to {args.labels}")
    if args.plot is not None:
        try:
            plotting.save_plots(args.plot, model, X, selector=selector)
        except ImportError as exc:
            raise CLIError(_PLOT_HINT + _one_line(exc)) from None
        print(f"wrote the plot to {args.plot}")
    return 0


def _cmd_predict(args):
    model, _ = _load_model(args.model)
    X = _model_data(args, model)[0]
    if args.proba:
        header, columns, fmts, labels, proba = _labels_table(model, X)
        arrays = {"proba": proba, "labels": labels}
    else:
        labels = model.predict(X)
        header, columns, fmts = ["label"], [labels], ["%d"]
        arrays = {"labels": labels}
    _write_output(args.output, header, columns, fmts, arrays)
    return 0


def _cmd_impute(args):
    model, _ = _load_model(args.model)
    X, _, _, source, layout = _model_data(args, model, return_layout=True)
    X = np.array(X, dtype=model.means_.dtype if args.dtype is None else X.dtype)
    nan = np.isnan(X)
    empty = nan.all(axis=1)
    ok = ~empty
    out = X.copy()
    if nan[ok].any():
        out[ok] = model.impute(np.ascontiguousarray(X[ok]))
    n_filled = int(nan[ok].sum())
    _note(f"note: filled {n_filled} missing value(s) in {int(nan[ok].any(axis=1).sum())}"
          f" row(s) of {source}")
    if empty.any():
        _note(f"note: left {int(empty.sum())} row(s) with no observed value empty")
    ext = os.path.splitext(args.output)[1].lower() if args.output not in (None, "-") \
        else ".csv"
    if layout is not None and ext in (".csv", ".tsv", ".tab", ".txt"):
        f = sys.stdout if args.output in (None, "-") else open(args.output, "w",
                                                               newline="")
        try:
            rewrite_delimited(layout, out, f)
        finally:
            if f is not sys.stdout:
                f.close()
        return 0
    header, fmts = _feature_table(model, out)
    _write_output(args.output, header, [out[:, j] for j in range(out.shape[1])], fmts,
                  {"X": out})
    return 0


def _cmd_sample(args):
    model, _ = _load_model(args.model)
    if args.seed is not None:
        model.random_state = args.seed
    X, y = model.sample(args.n_samples)
    X = X.astype(model.means_.dtype, copy=False)
    header, fmts = _feature_table(model, X)
    columns = [X[:, j] for j in range(X.shape[1])]
    if args.with_labels:
        header, columns, fmts = header + ["component"], columns + [y], fmts + ["%d"]
    _write_output(args.output, header, columns, fmts, {"X": X, "labels": y})
    return 0


def _cmd_info(args):
    model, meta = _load_model(args.model)
    print(f"fastgmm model {args.model!r} (format version {meta['format_version']}, "
          f"saved by fastgmm {meta.get('fastgmm_version', '?')})")
    print(describe(model))
    params = model.get_params(deep=False)
    shown = ", ".join(f"{k}={'<array>' if hasattr(v, 'shape') else repr(v)}"
                      for k, v in sorted(params.items())
                      if k not in ("n_components", "covariance_type",
                                   "weight_concentration_prior_type"))
    print(f"  parameters: {shown}")
    return 0


# ---------------------------------------------------------------- parser
