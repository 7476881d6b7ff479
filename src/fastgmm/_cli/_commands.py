"""The subcommands: fit, predict, sample and info (one function each)."""

import importlib.util
import time
import warnings

import numpy as np

from .._covariance import COVARIANCE_TYPES
from ._errors import CLIError, _one_line, _report_warnings
from ._readers import load_data
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


def _estimator_kwargs(args):
    kwargs = {"random_state": args.seed, "n_threads": args.threads}
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

    X, names, weights, _ = load_data(
        args.data, columns=args.columns, weights_column=args.weights_column,
        dtype=args.dtype, array=args.array, header=args.header)
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
    names = getattr(model, "feature_names_in_", None)
    X, _, _, source = load_data(
        args.data, columns=args.columns, dtype=args.dtype, array=args.array,
        header=args.header, prefer_names=None if names is None else list(names))
    if X.shape[1] != model.n_features_in_:
        raise CLIError(f"{source} has {X.shape[1]} feature column(s) but the model "
                       f"expects {model.n_features_in_} (choose them with --columns)")
    if args.proba:
        header, columns, fmts, labels, proba = _labels_table(model, X)
        arrays = {"proba": proba, "labels": labels}
    else:
        labels = model.predict(X)
        header, columns, fmts = ["label"], [labels], ["%d"]
        arrays = {"labels": labels}
    _write_output(args.output, header, columns, fmts, arrays)
    return 0


def _cmd_sample(args):
    model, _ = _load_model(args.model)
    if args.seed is not None:
        model.random_state = args.seed
    X, y = model.sample(args.n_samples)
    X = X.astype(model.means_.dtype, copy=False)
    names = getattr(model, "feature_names_in_", None)
    header = [str(n) for n in names] if names is not None else \
        [f"x{j}" for j in range(X.shape[1])]
    fmt = "%.9g" if X.dtype == np.float32 else "%.10g"
    columns, fmts = [X[:, j] for j in range(X.shape[1])], [fmt] * X.shape[1]
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
