"""What the commands print and write: label tables, model and selection summaries."""

import os
import sys

import numpy as np

from ._errors import CLIError


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
    bayesian = hasattr(gm, "effective_components")
    prior = (f", weight_concentration_prior_type="
             f"{gm.weight_concentration_prior_type!r}") if bayesian else ""
    lines = [f"{type(gm).__name__}(n_components={gm.n_components}, "
             f"covariance_type={gm.covariance_type!r}{prior}) {on}"]
    names = getattr(gm, "feature_names_in_", None)
    if names is not None:
        lines.append(f"  features: {', '.join(str(n) for n in names)}")
    scales = _scales(gm)
    for k in range(K):
        lines.append(f"  component {k}: weight {gm.weights_[k]:.4f}  mean "
                     f"{np.array2string(np.asarray(gm.means_[k]), precision=3)}  std "
                     f"{np.array2string(scales[k], precision=3)}")
    if bayesian:
        used = gm.effective_components()
        lines.append(f"  effective components: {used.shape[0]} of {K} (weight >= "
                     f"0.01: {', '.join(str(k) for k in used)})")
        # BIC/AIC count every component: not a Bayesian mixture's criterion
        lines.append(f"  lower bound {gm.lower_bound_:.6f} (evidence lower bound, "
                     "not per sample)")
    elif X is not None:
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
