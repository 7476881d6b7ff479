"""The ``fastgmm`` command line: fit / predict / sample / info and its errors.

Most tests call ``fastgmm._cli.main`` in-process; a few run
``python -m fastgmm`` for real.  The ``--select`` and ``--plot`` tests skip
only while ``fastgmm.GaussianMixtureSelector`` / ``fastgmm.plotting`` (with
matplotlib) do not exist.
"""

import os
import re
import subprocess
import sys
import warnings

import numpy as np
import pytest

import fastgmm
from fastgmm import GaussianMixture
from fastgmm._cli import main


IRIS, SPECIES, NAMES = fastgmm.load_iris()


@pytest.fixture(autouse=True)
def _one_openmp_thread():
    # tiny fits: one thread avoids OpenMP start-up costs on a loaded machine
    # (results do not depend on the thread count)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="openmp"):
        yield


@pytest.fixture
def run(capsys):
    def run(*argv):
        code = main([str(a) for a in argv])
        out, err = capsys.readouterr()
        return code, out, err
    return run


def write_csv(path, names, columns, delimiter=","):
    with open(path, "w") as f:
        if names is not None:
            f.write(delimiter.join(names) + "\n")
        for row in zip(*columns):
            f.write(delimiter.join(str(v) for v in row) + "\n")
    return str(path)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    f = {}
    cols = [IRIS[:, j] for j in range(4)]
    f["iris_csv"] = write_csv(d / "iris.csv", ["species"] + NAMES,
                              [SPECIES] + cols)
    f["iris_tsv"] = write_csv(d / "iris.tsv", None, cols, "\t")
    f["iris_npy"] = str(d / "iris.npy")
    np.save(f["iris_npy"], IRIS)
    f["iris32_npy"] = str(d / "iris32.npy")
    np.save(f["iris32_npy"], IRIS.astype(np.float32))
    f["two_npz"] = str(d / "two.npz")
    np.savez(f["two_npz"], a=IRIS[:, :2], b=IRIS[:, 2:])
    f["x_npz"] = str(d / "x.npz")
    np.savez(f["x_npz"], X=IRIS, w=np.ones(150))
    f["model"] = str(d / "model.npz")
    GaussianMixture(3, random_state=0).fit(IRIS).save(f["model"])
    return d, f


def summary_numbers(gm, X):
    return (f"lower bound {gm.lower_bound_:.6f}  BIC {gm.bic(X):.3f}  "
            f"AIC {gm.aic(X):.3f}")


# ------------------------------------------------------------------ fit
def test_no_arguments_fits_the_bundled_iris_data(run):
    code, out, err = run()
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0] == ("GaussianMixture(n_components=3, covariance_type='full') on "
                        "150 x 4 (float64)")
    assert lines[1] == "  features: " + ", ".join(NAMES)
    assert sum(line.startswith("  component ") for line in lines) == 3
    gm = GaussianMixture(3, random_state=0).fit(IRIS)
    assert summary_numbers(gm, IRIS) in out
    assert f"iterations {gm.n_iter_}  converged True  time " in out


def test_the_original_options_still_work(run):
    code, out, _ = run("-k", 2, "--covariance-type", "diag", "--seed", 1,
                       "--threads", 1, "-v")
    assert code == 0
    assert "GaussianMixture(n_components=2, covariance_type='diag')" in out
    assert "  Iteration 1\t lower bound" in out          # per-iteration progress
    gm = GaussianMixture(2, covariance_type="diag", random_state=1).fit(IRIS)
    assert summary_numbers(gm, IRIS) in out
    assert main(["--help"]) == 0 and main(["fit", "--help"]) == 0
    assert main(["--version"]) == 0


def test_fit_csv_skips_text_columns_and_records_names(run, files, tmp_path):
    _, f = files
    model = tmp_path / "m.npz"
    code, out, err = run("fit", f["iris_csv"], "-k", 3, "-o", model)
    assert code == 0
    assert err == ("fastgmm: note: ignoring non-numeric column(s) 'species' of "
                   f"{f['iris_csv']!r}\n")
    assert "on 150 x 4 (float64)" in out and f"saved the model to {model}" in out
    loaded = fastgmm.load(model)
    direct = GaussianMixture(3, random_state=0).fit(IRIS)
    np.testing.assert_array_equal(loaded.means_, direct.means_)
    assert list(loaded.feature_names_in_) == NAMES


def test_fit_tsv_without_header(run, files, tmp_path):
    _, f = files
    code, out, err = run("fit", f["iris_tsv"], "-o", tmp_path / "m.npz")
    assert code == 0 and err == ""
    assert "on 150 x 4" in out and "features:" not in out
    gm = GaussianMixture(3, random_state=0).fit(IRIS)
    assert summary_numbers(gm, IRIS) in out
    assert not hasattr(fastgmm.load(tmp_path / "m.npz"), "feature_names_in_")


def test_header_can_be_forced(run, files):
    _, f = files
    # the first data row read as names: one row fewer
    code, out, _ = run("fit", f["iris_tsv"], "--header")
    assert code == 0 and "on 149 x 4" in out
    code, _, err = run("fit", f["iris_csv"], "--no-header", "--columns", "1-4")
    assert code == 1
    assert "column 1 of" in err and "is not numeric: 'sepal_length' on line 1" in err


@pytest.mark.parametrize("columns, expected", [
    (["sepal_length,petal_width"], [0, 3]),
    (["1,4"], [0, 3]),                      # 0-based, column 0 is species
    (["1-2"], [0, 1]),
    (["petal_length", "--columns", "1"], [2, 0]),
])
def test_columns(run, files, tmp_path, columns, expected):
    _, f = files
    code, out, _ = run("fit", f["iris_csv"], "--columns", *columns, "-k", 2,
                       "-o", tmp_path / "m.npz")
    assert code == 0
    X = IRIS[:, expected]
    assert f"on 150 x {len(expected)}" in out
    loaded = fastgmm.load(tmp_path / "m.npz")
    assert list(loaded.feature_names_in_) == [NAMES[j] for j in expected]
    direct = GaussianMixture(2, random_state=0).fit(X)
    np.testing.assert_array_equal(loaded.means_, direct.means_)


def test_npy_dtype_is_kept_or_converted(run, files, tmp_path):
    _, f = files
    code, out, _ = run("fit", f["iris32_npy"], "-o", tmp_path / "a.npz")
    assert code == 0 and "(float32)" in out
    assert fastgmm.load(tmp_path / "a.npz").means_.dtype == np.float32
    code, out, _ = run("fit", f["iris32_npy"], "--dtype", "float64", "-o",
                       tmp_path / "b.npz")
    assert code == 0 and "(float64)" in out
    code, out, _ = run("fit", f["iris_csv"], "--dtype", "float32", "-o",
                       tmp_path / "c.npz")
    assert code == 0 and "(float32)" in out
    loaded = fastgmm.load(tmp_path / "c.npz")
    direct = GaussianMixture(3, random_state=0).fit(IRIS.astype(np.float32))
    np.testing.assert_array_equal(loaded.means_, direct.means_)


def test_one_dimensional_npy(run, tmp_path):
    np.save(tmp_path / "x.npy", IRIS[:, 2])
    code, out, _ = run("fit", tmp_path / "x.npy", "-k", 2)
    assert code == 0 and "on 150 x 1" in out


def test_npz_arrays(run, files):
    _, f = files
    code, out, _ = run("fit", f["x_npz"])            # X is preferred
    assert code == 0 and "on 150 x 4" in out
    code, out, _ = run("fit", f["two_npz"], "--array", "b", "-k", 2)
    assert code == 0 and "on 150 x 2" in out
    gm = GaussianMixture(2, random_state=0).fit(IRIS[:, 2:])
    assert summary_numbers(gm, IRIS[:, 2:]) in out


def test_weights_column_is_sample_weight(run, tmp_path):
    rng = np.random.default_rng(0)
    w = rng.integers(1, 4, size=150).astype(float)
    path = write_csv(tmp_path / "w.csv", NAMES[:2] + ["weight"],
                     [IRIS[:, 0], IRIS[:, 1], w])
    code, out, _ = run("fit", path, "--weights-column", "weight", "-k", 2,
                       "-o", tmp_path / "m.npz")
    assert code == 0 and "on 150 x 2" in out and "(rows unweighted)" in out
    loaded = fastgmm.load(tmp_path / "m.npz")
    direct = GaussianMixture(2, random_state=0).fit(IRIS[:, :2], sample_weight=w)
    np.testing.assert_array_equal(loaded.means_, direct.means_)
    assert list(loaded.feature_names_in_) == NAMES[:2]


def test_labels_file(run, tmp_path):
    labels = tmp_path / "labels.csv"
    code, out, _ = run("fit", "--labels", labels)
    assert code == 0 and f"wrote labels and probabilities to {labels}" in out
    header = labels.read_text().splitlines()[0]
    assert header == "label,proba_0,proba_1,proba_2"
    table = np.loadtxt(labels, delimiter=",", skiprows=1)
    gm = GaussianMixture(3, random_state=0).fit(IRIS)
    np.testing.assert_array_equal(table[:, 0], gm.predict(IRIS))
    np.testing.assert_allclose(table[:, 1:], gm.predict_proba(IRIS), atol=1e-6)


def test_estimator_options_are_passed(run, tmp_path):
    code, out, err = run("fit", "--max-iter", 1)
    assert code == 0 and "iterations 1  converged False" in out
    assert err.startswith("fastgmm: warning: Best performing initialization did "
                          "not converge.") and err.count("\n") == 1
    code, out, _ = run("fit", "--init", "random_from_data", "--n-init", 2, "--tol",
                       1e-2, "--reg-covar", 1e-3, "--seed", 4, "--threads", 1,
                       "--covariance-type", "tied", "-o", tmp_path / "m.npz")
    assert code == 0
    params = fastgmm.load(tmp_path / "m.npz").get_params()
    assert (params["init_params"], params["n_init"], params["tol"],
            params["reg_covar"], params["random_state"], params["n_threads"],
            params["covariance_type"]) == ("random_from_data", 2, 1e-2, 1e-3, 4, 1,
                                           "tied")


# -------------------------------------------------------------- predict
def test_predict_labels_and_probabilities(run, files, tmp_path):
    _, f = files
    gm = fastgmm.load(f["model"])
    code, out, err = run("predict", f["model"], f["iris_npy"])
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0] == "label"
    np.testing.assert_array_equal(np.array(lines[1:], dtype=int), gm.predict(IRIS))
    code, out, _ = run("predict", f["model"], f["iris_tsv"], "--proba")
    assert code == 0
    assert out.splitlines()[0] == "label,proba_0,proba_1,proba_2"
    table = np.loadtxt(out.splitlines()[1:], delimiter=",")
    np.testing.assert_array_equal(table[:, 0], gm.predict(IRIS))
    np.testing.assert_allclose(table[:, 1:], gm.predict_proba(IRIS), atol=1e-6)
    code, _, _ = run("predict", f["model"], f["iris_npy"], "--proba", "-o",
                     tmp_path / "p.npy")
    assert code == 0
    np.testing.assert_array_equal(np.load(tmp_path / "p.npy"), gm.predict_proba(IRIS))


def test_predict_picks_the_models_columns_by_name(run, files, tmp_path):
    _, f = files
    model = tmp_path / "named.npz"
    assert run("fit", f["iris_csv"], "-o", model)[0] == 0
    # other order, an extra numeric column and the text column
    order = [3, 0, 2, 1]
    path = write_csv(tmp_path / "shuffled.csv",
                     ["id"] + [NAMES[j] for j in order] + ["species"],
                     [np.arange(150)] + [IRIS[:, j] for j in order] + [SPECIES])
    code, out, _ = run("predict", model, path, "-o", tmp_path / "l.csv")
    assert code == 0 and out == ""
    labels = np.loadtxt(tmp_path / "l.csv", skiprows=1, dtype=int)
    np.testing.assert_array_equal(labels, fastgmm.load(model).predict(IRIS))


# --------------------------------------------------------------- sample
def test_sample(run, files, tmp_path):
    _, f = files
    code, out, err = run("sample", f["model"], "-n", 40)
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0] == "x0,x1,x2,x3" and len(lines) == 41
    gm = fastgmm.load(f["model"])
    np.testing.assert_allclose(np.loadtxt(lines[1:], delimiter=","),
                               gm.sample(40)[0], rtol=1e-9)
    assert run("sample", f["model"], "-n", 40)[1] == out          # reproducible
    assert run("sample", f["model"], "-n", 40, "--seed", 1)[1] != out
    code, out, _ = run("sample", f["model"], "-n", 5, "--with-labels")
    assert out.splitlines()[0] == "x0,x1,x2,x3,component"
    code, _, _ = run("sample", f["model"], "-n", 30, "-o", tmp_path / "s.npz")
    with np.load(tmp_path / "s.npz") as s:
        assert s["X"].shape == (30, 4) and s["labels"].shape == (30,)


def test_sample_float32_and_refit(run, files, tmp_path):
    _, f = files
    assert run("fit", f["iris32_npy"], "-o", tmp_path / "m32.npz")[0] == 0
    assert run("sample", tmp_path / "m32.npz", "-n", 300, "-o",
               tmp_path / "s.npy")[0] == 0
    assert np.load(tmp_path / "s.npy").dtype == np.float32
    # a named model writes its column names, and the samples fit again
    assert run("fit", f["iris_csv"], "-o", tmp_path / "named.npz")[0] == 0
    assert run("sample", tmp_path / "named.npz", "-n", 300, "-o",
               tmp_path / "s.csv")[0] == 0
    assert (tmp_path / "s.csv").read_text().splitlines()[0] == ",".join(NAMES)
    code, out, err = run("fit", tmp_path / "s.csv")
    assert code == 0 and err == "" and "features: " + ", ".join(NAMES) in out


# ----------------------------------------------------------------- info
def test_info(run, files):
    _, f = files
    code, out, err = run("info", f["model"])
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0] == (f"fastgmm model {f['model']!r} (format version 1, saved by "
                        f"fastgmm {fastgmm.__version__})")
    assert lines[1] == ("GaussianMixture(n_components=3, covariance_type='full') "
                        "with 4 features (float64)")
    gm = fastgmm.load(f["model"])
    assert f"  lower bound {gm.lower_bound_:.6f}" in lines
    assert sum(line.startswith("  component ") for line in lines) == 3
    assert "random_state=0" in lines[-1]


# --------------------------------------------------------------- errors
@pytest.fixture(scope="module")
def bad(files):
    d, f = files
    b = dict(f)

    def text(name, content):
        (d / name).write_text(content)
        b[name] = str(d / name)

    text("text.npy", "not an array")
    text("text.npz", "not an archive")
    text("empty.csv", "")
    text("header_only.csv", "a,b\n")
    text("mixed.csv", "a,b,c\n1,2,x\n3,4,5\n2,x,1\n")
    text("ragged.csv", "1,2,3\n3,4\n")
    text("gap.csv", "a,b\n1,2\n3,\n")
    text("words.csv", "a,b\nx,y\nz,w\n")
    text("nan.csv", "a,b\n1,2\nnan,3\n4,5\n")
    np.save(d / "nan.npy", np.array([[1.0, np.nan], [2.0, 3.0], [np.nan, 1.0]]))
    b["nan.npy"] = str(d / "nan.npy")
    text("data.xlsx", "")
    (d / "binary.csv").write_bytes(bytes(range(256)))
    b["binary.csv"] = str(d / "binary.csv")
    np.save(d / "obj.npy", np.array([1, "a"], dtype=object), allow_pickle=True)
    np.save(d / "cube.npy", np.zeros((2, 2, 2)))
    np.save(d / "str.npy", np.array([["a", "b"]]))
    np.save(d / "two_cols.npy", IRIS[:, :2])
    b["obj.npy"], b["cube.npy"] = str(d / "obj.npy"), str(d / "cube.npy")
    b["str.npy"], b["two_cols.npy"] = str(d / "str.npy"), str(d / "two_cols.npy")
    with open(f["model"], "rb") as src:
        raw = src.read()
    (d / "truncated.npz").write_bytes(raw[: len(raw) // 2])
    b["truncated.npz"] = str(d / "truncated.npz")
    with np.load(f["model"]) as m:
        arrays = {k: m[k] for k in m.files}
    arrays["precisions_"] = -arrays["precisions_"]
    np.savez(d / "not_pd.npz", **arrays)
    b["not_pd.npz"] = str(d / "not_pd.npz")
    b["dir"] = str(d)
    b["missing"] = str(d / "missing.csv")
    b["missing_model"] = str(d / "missing.npz")
    return b


ERRORS = [
    # bad files
    (["fit", "{text.npy}"], "is not a .npy file"),
    (["fit", "{text.npz}"], "is not a .npz file"),
    (["fit", "{binary.csv}"], "not a UTF-8 text file"),
    (["fit", "{empty.csv}"], "is empty"),
    (["fit", "{header_only.csv}"], "has no data rows"),
    (["fit", "{missing}"], "cannot read .*missing.csv': no such file"),
    (["fit", "{data.xlsx}"], "unsupported file type '.xlsx'"),
    (["fit", "{obj.npy}"], "cannot read .*obj.npy"),
    (["fit", "{cube.npy}"], "holds a 3-D array of float64, not a numeric table"),
    (["fit", "{str.npy}"], "not a numeric table"),
    (["fit", "{ragged.csv}"], "line 2 of .* has 2 fields; column 2 is missing"),
    (["fit", "{model}"], "is a fastgmm model, not a data file"),
    (["fit", "{two_npz}"], r"holds several arrays \(a, b\); choose one with --array"),
    (["fit", "{two_npz}", "--array", "c"], "has no array 'c'"),
    # missing columns
    (["fit", "{iris_csv}", "--columns", "petal"], "has no column 'petal' "
     r"\(columns: species, sepal_length"),
    (["fit", "{iris_csv}", "--columns", "9"], "has 5 columns; column 9 does not exist"),
    (["fit", "{iris_tsv}", "--columns", "a"], "has no column 'a' .*no header"),
    (["fit", "{iris_npy}", "--columns", "1,4"], "column 4 does not exist"),
    (["fit", "{iris_csv}", "--weights-column", "w"], "has no weights column 'w'"),
    (["fit", "{iris_csv}", "--columns", "1,2", "--weights-column", "2"],
     "column 'sepal_width' is both a feature and the weights column"),
    (["predict", "{model_named}", "{two_cols_csv}"], "has no column 'petal_length', "
     "a feature of the model"),
    # non-numeric columns
    (["fit", "{iris_csv}", "--columns", "species,petal_length"],
     "column 'species' of .* is not numeric: 'setosa' on line 2"),
    (["fit", "{mixed.csv}"], "column 'b' of .* is not numeric: 'x' on line 4"),
    (["fit", "{gap.csv}"], r"gap.csv' has 1 missing value\(s\) \(empty or NaN cells\) in "
     r"1 of 2 rows \(per column: 'b' 1\); fit them with --missing marginalize"),
    (["fit", "{words.csv}"], "has no numeric columns"),
    (["fit", "{nan.csv}"], r"has 1 missing value\(s\) .*per column: 'a' 1.*"
     "--missing marginalize"),
    (["fit", "{nan.npy}"], r"has 2 missing value\(s\) .*--missing marginalize"),
    # wrong feature counts
    (["predict", "{model}", "{two_cols.npy}"],
     "has 2 feature column.s. but the model expects 4"),
    (["predict", "{model}", "{iris_csv}", "--columns", "1-3"],
     "has 3 feature column.s. but the model expects 4"),
    # unreadable models
    (["predict", "{missing_model}", "{iris_npy}"], "cannot read model .*no such file"),
    (["info", "{iris_csv}"], "not a fastgmm model file"),
    (["info", "{x_npz}"], "no metadata"),
    (["info", "{truncated.npz}"], "not a readable fastgmm model file"),
    (["info", "{not_pd.npz}"], "precisions_ of component 0 is not positive definite"),
    (["info", "{dir}"], "cannot read model .*: is a directory"),
    (["sample", "{text.npz}", "-n", "3"], "not a fastgmm model file"),
    # parameters the estimator refuses, bad output files
    (["fit", "--init", "bogus"], "The 'init_params' parameter of GaussianMixture"),
    (["fit", "-k", "500"], "Expected n_samples >= n_components"),
    (["predict", "{model}", "{iris_npy}", "-o", "{dir}/out.xlsx"],
     "unsupported file type '.xlsx'"),
]


@pytest.mark.parametrize("argv, message", ERRORS,
                         ids=[" ".join(a) for a, _ in ERRORS])
def test_errors_are_one_line(run, bad, tmp_path, argv, message):
    paths = dict(bad)
    if "{model_named}" in argv or "{two_cols_csv}" in argv:
        paths["model_named"] = str(tmp_path / "named.npz")
        assert run("fit", bad["iris_csv"], "-o", paths["model_named"])[0] == 0
        paths["two_cols_csv"] = write_csv(tmp_path / "two.csv", NAMES[:2],
                                          [IRIS[:, 0], IRIS[:, 1]])
    argv = [re.sub(r"\{([^}]+)\}", lambda m: paths[m.group(1)], a) for a in argv]
    code, out, err = run(*argv)
    assert code == 1
    assert out == ""
    lines = err.splitlines()
    assert lines and lines[-1].startswith("fastgmm: error: ")
    # anything before the error is a note (e.g. skipped text columns)
    assert all(line.startswith("fastgmm: note: ") for line in lines[:-1])
    assert "Traceback" not in err
    assert re.search(message, lines[-1]), lines[-1]


USAGE_ERRORS = [
    ["fit", "-k", "0"],
    ["fit", "--select", "5-2"],
    ["fit", "--select", "x"],
    ["fit", "-k", "2", "--select", "1-3"],
    ["fit", "--covariance-type", "foo"],
    ["fit", "--covariance-type", "full,diag"],
    ["fit", "--criterion", "aic"],
    ["fit", "--dtype", "float16"],
    ["bogus"],
    ["predict", "model.npz"],
    ["sample", "model.npz"],
    ["sample", "model.npz", "-n", "0"],
]


@pytest.mark.parametrize("argv", USAGE_ERRORS, ids=[" ".join(a) for a in USAGE_ERRORS])
def test_usage_errors(run, argv):
    code, out, err = run(*argv)
    assert code == 2 and out == ""
    last = err.splitlines()[-1]
    assert last.startswith("fastgmm") and ": error: " in last
    assert "Traceback" not in err


# ------------------------------------------------------ select and plot
def test_select_fits_the_selectors_best_model(run, tmp_path):
    code, out, _ = run("fit", "--select", "1-4", "--covariance-type", "full",
                       "-o", tmp_path / "m.npz")
    assert code == 0
    assert "Model selection by BIC over 4 candidates:" in out
    selector = fastgmm.GaussianMixtureSelector(
        n_components=range(1, 5), covariance_type=("full",), criterion="bic",
        random_state=0).fit(IRIS)
    best = selector.best_params_
    assert (f"best: n_components={best['n_components']}, "
            f"covariance_type={best['covariance_type']!r}") in out
    loaded = fastgmm.load(tmp_path / "m.npz")
    np.testing.assert_array_equal(loaded.means_, selector.best_estimator_.means_)


def test_select_criterion_and_covariance_types(run):
    code, out, _ = run("fit", "--select", "1-3", "--criterion", "aic",
                       "--covariance-type", "full,diag")
    assert code == 0 and "Model selection by AIC over 6 candidates:" in out
    selector = fastgmm.GaussianMixtureSelector(
        n_components=range(1, 4), covariance_type=("full", "diag"), criterion="aic",
        random_state=0).fit(IRIS)
    best = selector.best_params_
    assert (f"best: n_components={best['n_components']}, "
            f"covariance_type={best['covariance_type']!r}") in out
    code, out, _ = run("fit", "--select", "2-3")      # all four types by default
    assert code == 0 and "over 8 candidates:" in out


def test_plot(run, tmp_path):
    png = tmp_path / "fit.png"
    code, out, _ = run("fit", "--columns", "2,3", "--plot", png)
    assert code == 0 and f"wrote the plot to {png}" in out
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_plot_with_select(run, tmp_path):
    png = tmp_path / "select.png"
    code, _, _ = run("fit", "--select", "1-3", "--covariance-type", "full",
                     "--plot", png)
    assert code == 0 and png.read_bytes()[:4] == b"\x89PNG"


def test_plot_without_matplotlib_is_a_clear_error(run, tmp_path, monkeypatch):
    # matplotlib is an optional extra: make it unimportable
    for name in list(sys.modules):
        if name == "matplotlib" or name.startswith("matplotlib.") \
                or name == "fastgmm.plotting":
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    code, out, err = run("fit", "--plot", tmp_path / "x.png")
    assert code == 1 and out == "" and err.count("\n") == 1
    assert err.startswith("fastgmm: error: --plot needs matplotlib (pip install "
                          "'fastgmm[plot]')")
    assert not (tmp_path / "x.png").exists()


# ----------------------------------------------------------- subprocess
def _python_m(*argv, cwd=None):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    env.pop("FASTGMM_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "fastgmm", *map(str, argv)],
                          capture_output=True, text=True, env=env, cwd=cwd,
                          timeout=300)


def test_python_m_fastgmm_without_arguments():
    proc = _python_m()
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("GaussianMixture(n_components=3, "
                                  "covariance_type='full') on 150 x 4 (float64)")
    assert "converged True" in proc.stdout and proc.stderr == ""


@pytest.mark.parametrize("argv, message", [
    (["predict", "missing.npz", "data.csv"],
     "fastgmm: error: cannot read model 'missing.npz': no such file"),
    (["fit", "bad.csv"], "fastgmm: error: column 'b' of 'bad.csv' is not numeric: "
     "'x' on line 3"),
])
def test_python_m_fastgmm_errors(tmp_path, argv, message):
    (tmp_path / "bad.csv").write_text("a,b\n1,2\n3,x\n")
    proc = _python_m(*argv, cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr == message + "\n"          # one line, no traceback


def test_unexpected_errors_have_no_traceback(run, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("kaboom\nsecond line")

    monkeypatch.setattr(GaussianMixture, "fit", boom)
    with warnings.catch_warnings():
        code, out, err = run("fit")
    assert code == 1 and err == "fastgmm: error: RuntimeError: kaboom second line\n"
    monkeypatch.setenv("FASTGMM_DEBUG", "1")
    with pytest.raises(RuntimeError):
        main(["fit"])


# -------------------------------------------------------------- bayesian
@pytest.mark.parametrize("prior", [None, "dirichlet_distribution"])
def test_fit_bayesian_info_and_predict(run, files, tmp_path, prior):
    _, f = files
    npy = f["iris_npy"]
    model = tmp_path / "bgmm.npz"
    argv = ["fit", npy, "--bayesian", "-k", "6", "--covariance-type", "diag",
            "-o", model]
    if prior:
        argv += ["--prior", prior]
    code, out, err = run(*argv)
    assert code == 0, err
    est = fastgmm.load(model)
    assert type(est) is fastgmm.BayesianGaussianMixture
    assert est.n_components == 6 and est.covariance_type == "diag"
    assert est.weight_concentration_prior_type == (prior or "dirichlet_process")
    # the same fit from Python
    X = IRIS
    ref = fastgmm.BayesianGaussianMixture(
        n_components=6, covariance_type="diag", random_state=0,
        weight_concentration_prior_type=prior or "dirichlet_process").fit(X)
    np.testing.assert_allclose(est.weights_, ref.weights_, rtol=1e-10)
    used = ref.effective_components()
    assert (f"  effective components: {used.shape[0]} of 6 (weight >= 0.01: "
            f"{', '.join(str(k) for k in used)})") in out.splitlines()
    assert out.startswith("BayesianGaussianMixture(n_components=6, covariance_type="
                          "'diag', weight_concentration_prior_type=")
    code, info, _ = run("info", model)
    assert code == 0 and "effective components:" in info
    code, pred, _ = run("predict", model, npy)
    labels = np.array(pred.split()[1:], dtype=int)
    np.testing.assert_array_equal(labels, ref.predict(X))


def test_bayesian_usage_errors(run):
    code, _, err = run("fit", "--prior", "dirichlet_process")
    assert code == 2 and "--prior needs --bayesian" in err
    code, _, err = run("fit", "--bayesian", "--select", "1-3")
    assert code == 2 and "needs no grid over K" in err


def test_bayesian_plot(run, tmp_path):
    png = tmp_path / "bgmm.png"
    code, out, _ = run("fit", "--bayesian", "-k", "5", "--plot", png)
    assert code == 0 and png.read_bytes()[:4] == b"\x89PNG"
