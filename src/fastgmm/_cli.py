"""The ``fastgmm`` command line (also ``python -m fastgmm``).

Subcommands ``fit``, ``predict``, ``sample`` and ``info``; with no subcommand
the arguments go to ``fit``, so ``fastgmm`` alone fits the bundled iris data.
Every failure the user can cause (bad files, columns, models, parameters) ends
in one ``fastgmm: error: ...`` line on stderr and exit code 1 (2 for a wrong
command line), never a traceback; ``FASTGMM_DEBUG=1`` re-raises instead.
"""

import argparse
import csv
import importlib.util
import os
import re
import sys
import time
import warnings

import numpy as np

COMMANDS = ("fit", "predict", "sample", "info")
COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
_NPY_MAGIC = b"\x93NUMPY"
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_PLOT_HINT = "--plot needs matplotlib (pip install 'fastgmm[plot]'): "


class CLIError(Exception):
    """A user error, reported as one line and exit code 1."""


def _one_line(exc):
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = " ".join(lines) or type(exc).__name__
    return text if len(text) <= 400 else text[:397] + "..."


def _note(message):
    print(f"fastgmm: {message}", file=sys.stderr)


# ------------------------------------------------------------ reading data
def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


def _column_label(j, names):
    return repr(names[j]) if names is not None else f"{j}"


def _resolve_columns(specs, names, n_columns, source, what="column"):
    """0-based indices for ``--columns`` tokens (names, indices or ranges a-b)."""
    indices = []
    for spec in specs:
        for token in (t.strip() for t in spec.split(",")):
            if not token:
                continue
            if names is not None and token in names:
                found = [names.index(token)]
            elif re.fullmatch(r"\d+", token):
                found = [int(token)]
            elif re.fullmatch(r"\d+-\d+", token):
                lo, hi = (int(v) for v in token.split("-"))
                if hi < lo:
                    raise CLIError(f"bad {what} range {token!r}: {hi} < {lo}")
                found = list(range(lo, hi + 1))
            else:
                known = (f" (columns: {', '.join(names)})" if names is not None
                         else " (it has no header: use 0-based column numbers)")
                raise CLIError(f"{source} has no {what} {token!r}{known}")
            for j in found:
                if j >= n_columns:
                    raise CLIError(f"{source} has {n_columns} columns; {what} {j} "
                                   "does not exist (columns are numbered from 0)")
                if j in indices:
                    raise CLIError(f"{what} {_column_label(j, names)} is given twice")
                indices.append(j)
    if not indices:
        raise CLIError(f"no {what}s given")
    return indices


def _split_columns(names, n_columns, columns, weights_column, numeric, source,
                   prefer_names=None):
    """Feature and weight column indices of a table.

    ``numeric(j)`` says whether column j looks numeric; without ``--columns``
    the features are every numeric column except the weights (non-numeric ones
    are skipped with a note), or ``prefer_names`` (a model's feature names)
    when the table has a header.
    """
    wcol = None
    if weights_column is not None:
        wcol = _resolve_columns([weights_column], names, n_columns, source,
                                "weights column")
        if len(wcol) != 1:
            raise CLIError("--weights-column takes one column")
        wcol = wcol[0]
    if columns:
        cols = _resolve_columns(columns, names, n_columns, source)
        if wcol is not None and wcol in cols:
            raise CLIError(f"column {_column_label(wcol, names)} is both a feature "
                           "and the weights column")
    elif prefer_names is not None and names is not None:
        missing = [n for n in prefer_names if n not in names]
        if missing:
            raise CLIError(f"{source} has no column {missing[0]!r}, a feature of the "
                           "model (choose the columns with --columns)")
        cols = [names.index(n) for n in prefer_names]
    else:
        cols = [j for j in range(n_columns) if j != wcol and numeric(j)]
        skipped = [j for j in range(n_columns) if j != wcol and not numeric(j)]
        if not cols:
            raise CLIError(f"{source} has no numeric columns")
        if skipped:
            _note("note: ignoring non-numeric column(s) "
                  + ", ".join(_column_label(j, names) for j in skipped)
                  + f" of {source}")
    return cols, wcol


def _csv_rows(path, delimiter):
    """(line number, fields) of every non-blank row."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f, delimiter=delimiter)
        for row in reader:
            if any(field.strip() for field in row):
                yield reader.line_num, row


def _find_bad_value(path, delimiter, first_line, cols, names, source):
    """Locate the first cell that stops np.loadtxt, for a precise message."""
    for line, row in _csv_rows(path, delimiter):
        if line < first_line:
            continue
        for j in cols:
            if j >= len(row):
                return (f"line {line} of {source} has {len(row)} fields; column "
                        f"{_column_label(j, names)} is missing")
            value = row[j].strip()
            if not value:
                return (f"column {_column_label(j, names)} of {source} has an empty "
                        f"value on line {line}")
            if not _is_number(value):
                shown = value if len(value) <= 30 else value[:27] + "..."
                return (f"column {_column_label(j, names)} of {source} is not "
                        f"numeric: {shown!r} on line {line}")
    return None


def _read_delimited(path, delimiter, source, columns, weights_column, header,
                    prefer_names):
    try:
        rows = _csv_rows(path, delimiter)
        first = [r for _, r in zip(range(2), rows)]
        rows.close()
    except UnicodeDecodeError:
        raise CLIError(f"cannot read {source}: not a UTF-8 text file") from None
    except csv.Error as exc:
        raise CLIError(f"cannot read {source}: {_one_line(exc)}") from None
    if not first:
        raise CLIError(f"{source} is empty")
    (_, row0), second = first[0], (first[1] if len(first) > 1 else None)
    if header is None:
        if second is None:
            header = not all(_is_number(v) for v in row0)
        else:
            row1 = second[1]
            header = any(not _is_number(row0[j]) and _is_number(row1[j])
                         for j in range(min(len(row0), len(row1))))
    names = [v.strip() or f"column {j}" for j, v in enumerate(row0)] if header \
        else None
    data = second if header else first[0]
    if data is None:
        raise CLIError(f"{source} has no data rows")
    data_line, data_row = data
    n_columns = len(row0) if header else len(data_row)

    def numeric(j):
        return j < len(data_row) and _is_number(data_row[j])

    cols, wcol = _split_columns(names, n_columns, columns, weights_column, numeric,
                                source, prefer_names)
    use = cols + ([wcol] if wcol is not None else [])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "input contained no data"
            table = np.loadtxt(path, delimiter=delimiter, skiprows=data_line - 1,
                               usecols=use, dtype=np.float64, ndmin=2, comments=None,
                               quotechar='"', encoding="utf-8-sig")
    except ValueError as exc:
        raise CLIError(_find_bad_value(path, delimiter, data_line, use, names, source)
                       or f"cannot read {source}: {_one_line(exc)}") from None
    X = table[:, :len(cols)]
    weights = table[:, len(cols)] if wcol is not None else None
    feature_names = [names[j] for j in cols] if names is not None else None
    return X, feature_names, weights


def _magic(path):
    with open(path, "rb") as f:
        return f.read(6)


def _read_array_file(path, ext, source, array):
    magic = _magic(path)
    if ext == ".npy":
        if magic != _NPY_MAGIC:
            raise CLIError(f"{source} is not a .npy file")
        try:
            return np.load(path, mmap_mode="r", allow_pickle=False)
        except ValueError as exc:
            raise CLIError(f"cannot read {source}: {_one_line(exc)}") from None
    if magic[:4] not in _ZIP_MAGIC:
        raise CLIError(f"{source} is not a .npz file")
    try:
        with np.load(path, allow_pickle=False) as data:
            keys = list(data.files)
            if "metadata" in keys and "means_" in keys:
                raise CLIError(f"{source} is a fastgmm model, not a data file")
            if array is None:
                if len(keys) == 1:
                    array = keys[0]
                elif "X" in keys:
                    array = "X"
                else:
                    raise CLIError(f"{source} holds several arrays "
                                   f"({', '.join(keys) or 'none'}); choose one "
                                   "with --array")
            if array not in keys:
                raise CLIError(f"{source} has no array {array!r} (arrays: "
                               f"{', '.join(keys)})")
            return data[array]
    except (ValueError, OSError, EOFError) as exc:
        raise CLIError(f"cannot read {source}: {_one_line(exc)}") from None


def _select_array(A, names, columns, weights_column, source, prefer_names):
    if A.dtype.kind not in "fiub" or A.ndim not in (1, 2):
        raise CLIError(f"{source} holds a {A.ndim}-D array of {A.dtype}, not a "
                       "numeric table")
    if A.ndim == 1:
        A = A.reshape(-1, 1)
    n_columns = A.shape[1]
    cols, wcol = _split_columns(names, n_columns, columns, weights_column,
                                lambda j: True, source, prefer_names)
    X = A if cols == list(range(n_columns)) else A[:, cols]
    weights = None if wcol is None else np.asarray(A[:, wcol], dtype=np.float64)
    feature_names = [names[j] for j in cols] if names is not None else None
    return X, feature_names, weights


def load_data(path, *, columns=None, weights_column=None, dtype=None, array=None,
              header=None, prefer_names=None):
    """Read a data table for the command line.

    Parameters
    ----------
    path : str or None
        .csv/.tsv (header optional), .npy or .npz; None: the bundled iris data.
    columns : list of str or None
        ``--columns`` values: names, 0-based indices or ranges ``a-b``.
    weights_column : str or None
    dtype : {'float32', 'float64'} or None
        None keeps a float32/float64 array file's dtype (text data: float64).
    array : str or None
        Array of an .npz file.
    header : bool or None
        Whether a text file has a header line (None: guess).
    prefer_names : list of str or None
        Without ``columns``, pick these named columns (a model's features).

    Returns
    -------
    X : ndarray (n_samples, n_features)
    feature_names : list of str or None
    weights : ndarray (n_samples,) or None
    source : str
        How to name the data in messages.
    """
    if path is None:
        from ._datasets import load_iris

        source = "the bundled iris data"
        A, _, names = load_iris()
        X, names, weights = _select_array(A, list(names), columns, weights_column,
                                          source, prefer_names)
    else:
        source = repr(path)
        ext = os.path.splitext(path)[1].lower()
        try:
            if ext in (".csv", ".tsv", ".tab", ".txt"):
                delimiter = "\t" if ext in (".tsv", ".tab") else ","
                X, names, weights = _read_delimited(path, delimiter, source, columns,
                                                    weights_column, header,
                                                    prefer_names)
            elif ext in (".npy", ".npz"):
                A = _read_array_file(path, ext, source, array)
                X, names, weights = _select_array(A, None, columns, weights_column,
                                                  source, None)
            else:
                raise CLIError(f"cannot read {source}: unsupported file type "
                               f"{ext or '(no extension)'!r} (expected .csv, .tsv, "
                               ".npy or .npz)")
        except FileNotFoundError:
            raise CLIError(f"cannot read {source}: no such file") from None
        except OSError as exc:
            raise CLIError(f"cannot read {source}: {exc.strerror or exc}") from None
    if dtype is not None:
        X = X.astype(dtype, copy=False)
    elif X.dtype not in (np.float32, np.float64):
        X = X.astype(np.float64)
    return X, names, weights, source


# ---------------------------------------------------------------- output
def _open_output(path):
    return sys.stdout if path in (None, "-") else open(path, "w", newline="")


def _write_table(path, header, columns, fmts):
    """Columns (1-D arrays of equal length) as CSV (TSV for .tsv) to path/stdout."""
    delimiter = "\t" if path and path.lower().endswith((".tsv", ".tab")) else ","
    n = columns[0].shape[0]
    f = _open_output(path)
    try:
        f.write(delimiter.join(header) + "\n")
        for start in range(0, n, 65536):
            block = np.column_stack([c[start:start + 65536] for c in columns])
            np.savetxt(f, block, fmt=fmts, delimiter=delimiter)
    finally:
        if f is not sys.stdout:
            f.close()


def _write_output(path, header, columns, fmts, arrays):
    """CSV/TSV (or stdout), or ``arrays`` to .npy (first) / .npz (all)."""
    ext = os.path.splitext(path)[1].lower() if path not in (None, "-") else ".csv"
    if ext == ".npy":
        np.save(path, next(iter(arrays.values())))
    elif ext == ".npz":
        np.savez(path, **arrays)
    elif ext in (".csv", ".tsv", ".tab", ".txt"):
        _write_table(path, header, columns, fmts)
    else:
        raise CLIError(f"cannot write {path!r}: unsupported file type {ext or '(none)'!r}"
                       " (use .csv, .tsv, .npy or .npz)")


def _labels_table(model, X):
    """Header, columns and formats of ``label,proba_0,...`` for every row."""
    labels = model.predict(X)
    columns = [labels]
    fmts = ["%d"]
    header = ["label"]
    proba = model.predict_proba(X)
    columns += [proba[:, k] for k in range(proba.shape[1])]
    fmts += ["%.6g"] * proba.shape[1]
    header += [f"proba_{k}" for k in range(proba.shape[1])]
    return header, columns, fmts, labels, proba


# --------------------------------------------------------------- summary
def _scales(gm):
    """Per component, the standard deviation along every feature."""
    cov = np.asarray(gm.covariances_, dtype=np.float64)
    K, d = gm.means_.shape
    t = gm.covariance_type
    if t == "full":
        return np.sqrt(np.diagonal(cov, axis1=1, axis2=2))
    if t == "tied":
        return np.broadcast_to(np.sqrt(np.diag(cov)), (K, d))
    if t == "diag":
        return np.sqrt(cov)
    return np.repeat(np.sqrt(cov)[:, None], d, axis=1)


def describe(gm, X=None, seconds=None, weighted=False):
    """A readable summary of a fitted model (BIC/AIC need the data ``X``)."""
    K, d = gm.means_.shape
    on = (f"on {X.shape[0]} x {X.shape[1]} ({X.dtype})" if X is not None
          else f"with {d} features ({gm.means_.dtype})")
    lines = [f"GaussianMixture(n_components={gm.n_components}, "
             f"covariance_type={gm.covariance_type!r}) {on}"]
    names = getattr(gm, "feature_names_in_", None)
    if names is not None:
        lines.append(f"  features: {', '.join(str(n) for n in names)}")
    scales = _scales(gm)
    for k in range(K):
        lines.append(f"  component {k}: weight {gm.weights_[k]:.4f}  mean "
                     f"{np.array2string(np.asarray(gm.means_[k]), precision=3)}  std "
                     f"{np.array2string(scales[k], precision=3)}")
    if X is not None:
        note = " (rows unweighted)" if weighted else ""
        lines.append(f"  lower bound {gm.lower_bound_:.6f}  BIC {gm.bic(X):.3f}  "
                     f"AIC {gm.aic(X):.3f}{note}")
    else:
        lines.append(f"  lower bound {gm.lower_bound_:.6f}")
    time_part = f"  time {seconds:.3f}s" if seconds is not None else ""
    lines.append(f"  iterations {gm.n_iter_}  converged {gm.converged_}{time_part}")
    return "\n".join(lines)


def _selection_table(selector):
    r = selector.results_
    crit = str(getattr(selector, "criterion", "bic")).upper()
    lines = [f"Model selection by {crit} over {len(r['bic'])} candidates:",
             "      K  covariance         BIC          AIC   lower bound  iter  "
             "converged     time"]
    for i in range(len(r["bic"])):
        mark = "  *" if i == selector.best_index_ else "   "
        lines.append(
            f"{mark} {int(r['n_components'][i]):3d}  {str(r['covariance_type'][i]):<10}"
            f" {float(r['bic'][i]):11.3f}  {float(r['aic'][i]):11.3f}  "
            f"{float(r['lower_bound'][i]):12.6f}  {int(r['n_iter'][i]):4d}  "
            f"{str(bool(r['converged'][i])):>9}  {float(r['fit_time'][i]):6.3f}s")
    best = selector.best_params_
    lines.append(f"best: n_components={best['n_components']}, "
                 f"covariance_type={best['covariance_type']!r}")
    return "\n".join(lines)


def _report_warnings(caught):
    counts = {}
    for w in caught:
        message = _one_line(w.message)
        counts[message] = counts.get(message, 0) + 1
    for message, count in counts.items():
        times = f" ({count} times)" if count > 1 else ""
        _note(f"warning: {message}{times}")


# -------------------------------------------------------------- commands
def _load_model(path):
    from ._persistence import load_model

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
            from . import plotting
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
                      if k not in ("n_components", "covariance_type"))
    print(f"  parameters: {shown}")
    return 0


# ---------------------------------------------------------------- parser
def _k_range(text):
    m = re.fullmatch(r"\s*(\d+)\s*-\s*(\d+)\s*", text)
    if not m or not 1 <= int(m.group(1)) <= int(m.group(2)):
        raise argparse.ArgumentTypeError(
            f"expected K1-K2 with 1 <= K1 <= K2 (e.g. 1-10), got {text!r}")
    return int(m.group(1)), int(m.group(2))


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _add_data_options(p):
    p.add_argument("--columns", action="append", metavar="COLS",
                   help="feature columns: names, 0-based numbers or ranges a-b, "
                        "comma-separated (default: every numeric column)")
    p.add_argument("--header", action=argparse.BooleanOptionalAction, default=None,
                   help="whether a .csv/.tsv file starts with a header line "
                        "(default: guessed)")
    p.add_argument("--array", metavar="NAME",
                   help="array of an .npz file (default: its only array, or 'X')")
    p.add_argument("--dtype", choices=["float32", "float64"],
                   help="compute in this dtype (default: the file's float dtype, "
                        "float64 for text)")


def build_parser():
    parser = argparse.ArgumentParser(
        prog="fastgmm",
        description="Fit Gaussian mixtures, predict, sample and inspect saved "
                    "models. Without a subcommand, the arguments go to 'fit' "
                    "(so 'fastgmm' alone fits the bundled iris data).")
    from ._version import __version__

    parser.add_argument("--version", action="version",
                        version=f"fastgmm {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("fit", help="fit a mixture and print it",
                       description="Fit a Gaussian mixture to DATA (.csv, .tsv, "
                                   ".npy or .npz; default: the bundled iris "
                                   "measurements) and print a summary.")
    p.add_argument("data", nargs="?", metavar="DATA")
    p.add_argument("-k", "--n-components", type=_positive_int, metavar="K",
                   help="number of components (default 3)")
    p.add_argument("--covariance-type", action="append", metavar="TYPE",
                   help="full, tied, diag or spherical (default full); with "
                        "--select several may be given, repeated or comma-"
                        "separated (default: all four)")
    p.add_argument("--select", type=_k_range, metavar="K1-K2",
                   help="fit K1..K2 components and keep the best by --criterion")
    p.add_argument("--criterion", choices=["bic", "aic"],
                   help="selection criterion for --select (default bic)")
    p.add_argument("--init", metavar="METHOD",
                   help="init_params: kmeans, k-means++, random, random_from_data...")
    p.add_argument("--n-init", type=_positive_int, metavar="N")
    p.add_argument("--max-iter", type=int, metavar="N")
    p.add_argument("--tol", type=float)
    p.add_argument("--reg-covar", type=float)
    p.add_argument("--seed", type=int, default=0, help="random_state (default 0)")
    p.add_argument("--threads", type=int, metavar="N")
    p.add_argument("--weights-column", metavar="COL",
                   help="column holding sample weights (name or 0-based number)")
    _add_data_options(p)
    p.add_argument("-o", "--output", metavar="MODEL", help="save the fitted model")
    p.add_argument("--labels", metavar="FILE",
                   help="write each row's label and probabilities as CSV")
    p.add_argument("--plot", metavar="FILE.png",
                   help="draw the mixture (and the selection curve) to a PNG")
    p.add_argument("-v", "--verbose", action="count", default=0,
                   help="print every EM iteration")
    p.set_defaults(func=_cmd_fit, subparser=p)

    p = sub.add_parser("predict", help="label data with a saved model",
                       description="Print the component of every row of DATA "
                                   "(with --proba: also the probabilities) as CSV.")
    p.add_argument("model", metavar="MODEL")
    p.add_argument("data", metavar="DATA")
    p.add_argument("--proba", action="store_true",
                   help="also write the probability of each component")
    _add_data_options(p)
    p.add_argument("-o", "--output", metavar="FILE",
                   help=".csv, .tsv, .npy or .npz (default: CSV to stdout)")
    p.set_defaults(func=_cmd_predict)

    p = sub.add_parser("sample", help="generate data from a saved model",
                       description="Draw N rows from a saved model.")
    p.add_argument("model", metavar="MODEL")
    p.add_argument("-n", "--n-samples", type=_positive_int, required=True,
                   metavar="N")
    p.add_argument("--seed", type=int, help="default: the model's random_state")
    p.add_argument("--with-labels", action="store_true",
                   help="add a 'component' column (CSV) / 'labels' array (.npz)")
    p.add_argument("-o", "--output", metavar="FILE",
                   help=".csv, .tsv, .npy or .npz (default: CSV to stdout)")
    p.set_defaults(func=_cmd_sample)

    p = sub.add_parser("info", help="describe a saved model")
    p.add_argument("model", metavar="MODEL")
    p.set_defaults(func=_cmd_info)
    return parser


def _check_fit_args(parser, args):
    types = []
    for value in args.covariance_type or []:
        types += [t.strip() for t in value.split(",") if t.strip()]
    for t in types:
        if t not in COVARIANCE_TYPES:
            parser.error(f"argument --covariance-type: invalid choice {t!r} "
                         f"(choose from {', '.join(COVARIANCE_TYPES)})")
    args.covariance_type = types or None
    if args.select is None:
        if len(types) > 1:
            parser.error("several --covariance-type values need --select")
        if args.criterion is not None:
            parser.error("--criterion needs --select")
    elif args.n_components is not None:
        parser.error("-k/--n-components and --select cannot be used together")


def main(argv=None):
    """Run the command line; returns the exit code.

    Parameters
    ----------
    argv : list of str or None
        Arguments without the program name (default ``sys.argv[1:]``).
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0].startswith("-") and argv[0] not in
                    ("-h", "--help", "--version")):
        argv.insert(0, "fit")
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            parser.error(f"choose a command: {', '.join(COMMANDS)}")
        if args.command == "fit":
            _check_fit_args(args.subparser, args)
    except SystemExit as exc:  # --help, --version or a usage error
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None
                                                            else 2)
    try:
        with warnings.catch_warnings():
            # The CLI matches a file's columns to the model's feature names
            # itself, then hands the estimator plain arrays.
            warnings.filterwarnings("ignore", message="X does not have valid feature names")
            return args.func(args)
    except BrokenPipeError:
        # the reader went away (``| head``): stop quietly
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError, AttributeError):
            pass
        return 141
    except KeyboardInterrupt:
        _note("interrupted")
        return 130
    except Exception as exc:
        if os.environ.get("FASTGMM_DEBUG"):
            raise
        if isinstance(exc, (CLIError, ValueError, TypeError, OSError, ImportError)):
            _note(f"error: {_one_line(exc)}")
        else:
            _note(f"error: {type(exc).__name__}: {_one_line(exc)}")
        return 1
