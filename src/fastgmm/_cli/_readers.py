"""Input files: CSV/TSV with or without a header (``#`` comment lines, empty
cells as missing values), .npy/.npz arrays, the bundled data."""

import csv
import os
import re
import warnings

import numpy as np

from ._errors import CLIError, _note, _one_line

_NPY_MAGIC = b"\x93NUMPY"
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")


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


def _is_comment(row):
    return bool(row) and row[0].lstrip().startswith("#")


def _csv_rows(path, delimiter):
    """(line number, fields) of every row that is neither blank nor a comment
    (a line whose first field starts with ``#``)."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f, delimiter=delimiter)
        for row in reader:
            if any(field.strip() for field in row) and not _is_comment(row):
                yield reader.line_num, row


def _data_lines(path, first_line):
    """The file's raw lines from ``first_line`` on, without blank and comment
    lines (what ``np.loadtxt`` reads)."""
    with open(path, encoding="utf-8-sig") as f:
        for number, line in enumerate(f, start=1):
            if number >= first_line and line.strip() and \
                    not line.lstrip().startswith("#"):
                yield line


def _bad_value(row, line, cols, names, source):
    """The message for the first unusable cell of a row (None if none);
    empty cells are missing values, not errors."""
    for j in cols:
        if j >= len(row):
            return (f"line {line} of {source} has {len(row)} fields; column "
                    f"{_column_label(j, names)} is missing")
        value = row[j].strip()
        if value and not _is_number(value):
            shown = value if len(value) <= 30 else value[:27] + "..."
            return (f"column {_column_label(j, names)} of {source} is not "
                    f"numeric: {shown!r} on line {line}")
    return None


def _parse_with_gaps(path, delimiter, first_line, cols, names, source):
    """The table of ``cols`` read cell by cell: empty cells become NaN."""
    out = []
    for line, row in _csv_rows(path, delimiter):
        if line < first_line:
            continue
        bad = _bad_value(row, line, cols, names, source)
        if bad is not None:
            raise CLIError(bad)
        out.append([float(row[j]) if row[j].strip() else np.nan for j in cols])
    return np.array(out, dtype=np.float64).reshape(len(out), len(cols))


def _column_kinds(path, delimiter, first_line, n_columns):
    """Per column: True if its first non-empty cell is a number, False if it
    is text, None if the column is empty (scans until every column has a
    non-empty cell)."""
    kinds = [None] * n_columns
    todo = n_columns
    for line, row in _csv_rows(path, delimiter):
        if line < first_line:
            continue
        for j in range(min(n_columns, len(row))):
            if kinds[j] is None and row[j].strip():
                kinds[j] = _is_number(row[j].strip())
                todo -= 1
        if todo == 0:
            break
    return kinds


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
    kinds = None

    def numeric(j):
        # a column is numeric when its first non-empty cell is a number (the
        # others are checked when the table is read); empty cells are gaps
        nonlocal kinds
        if j < len(data_row) and data_row[j].strip():
            return _is_number(data_row[j])
        if kinds is None:
            kinds = _column_kinds(path, delimiter, data_line, n_columns)
        return bool(kinds[j])

    cols, wcol = _split_columns(names, n_columns, columns, weights_column, numeric,
                                source, prefer_names)
    use = cols + ([wcol] if wcol is not None else [])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "input contained no data"
            table = np.loadtxt(_data_lines(path, data_line), delimiter=delimiter,
                               usecols=use, dtype=np.float64, ndmin=2, comments=None,
                               quotechar='"')
    except ValueError:
        # empty cells (missing values) or a bad cell: read cell by cell,
        # which names the bad cell precisely
        table = _parse_with_gaps(path, delimiter, data_line, use, names, source)
    X = table[:, :len(cols)]
    weights = table[:, len(cols)] if wcol is not None else None
    feature_names = [names[j] for j in cols] if names is not None else None
    layout = {"path": path, "delimiter": delimiter, "first_line": data_line,
              "header": row0 if header else None, "columns": cols}
    return X, feature_names, weights, layout


def rewrite_delimited(layout, values, out):
    """Write a text table again with its missing feature cells (empty or
    NaN) replaced by ``values`` (one row per data row, in order; NaN written
    as an empty cell).  Every other cell keeps its text; the header and the
    delimiter are kept, comment and blank lines dropped."""
    delimiter = layout["delimiter"]
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    if layout["header"] is not None:
        writer.writerow(layout["header"])
    cols = layout["columns"]
    fmt = "%.9g" if values.dtype == np.float32 else "%.10g"
    i = 0
    for line, row in _csv_rows(layout["path"], delimiter):
        if line < layout["first_line"]:
            continue
        row = list(row)
        for c, j in enumerate(cols):
            cell = row[j].strip()
            if not cell or np.isnan(float(cell)):
                # a missing value: its completion (observed cells keep their text)
                v = values[i, c]
                row[j] = "" if np.isnan(v) else fmt % v
        writer.writerow(row)
        i += 1


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
              header=None, prefer_names=None, return_layout=False):
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
    return_layout : bool
        Also return how a text file was read (for :func:`rewrite_delimited`;
        None for array files and the bundled data).

    Text files: lines whose first field starts with ``#`` are comments; an
    empty cell (or ``nan``) of a numeric column is a missing value (NaN).  A
    column is numeric when its first non-empty cell is a number.

    Returns
    -------
    X : ndarray (n_samples, n_features)
    feature_names : list of str or None
    weights : ndarray (n_samples,) or None
    source : str
        How to name the data in messages.
    layout : dict or None
        Only with ``return_layout``.
    """
    layout = None
    if path is None:
        from .._datasets import load_iris

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
                X, names, weights, layout = _read_delimited(
                    path, delimiter, source, columns, weights_column, header,
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
    if return_layout:
        return X, names, weights, source, layout
    return X, names, weights, source


# ---------------------------------------------------------------- output
