"""Differential tests: fastgmm against scikit-learn on many random problems.

Every case is generated from one numpy seed (its id names the seed and the
problem), and fitted by fastgmm and by scikit-learn from the same
``weights_init`` / ``means_init`` / ``precisions_init`` with the same
``max_iter`` and ``tol``.  Every fitted attribute and every prediction
method is compared, with the tolerances stated below.

* float64: fastgmm vs scikit-learn float64 on the same data.
* float32: fastgmm float32 vs scikit-learn *float64* on the same
  float32-rounded data (and float32-rounded initial parameters).
  scikit-learn's float32 path computes in float32 throughout and loses
  accuracy; fastgmm keeps float32 parameters but sums statistics and
  log-likelihoods in double.  Each float32 case also fits scikit-learn in
  float32 and asserts that fastgmm's float32 fit is at least as close to
  scikit-learn's float64 fit as scikit-learn's own float32 fit is, wherever
  float32 resolves the difference (``_claim_floor``); the cases where it
  is not strictly true are counted and bounded.
* sample weights: scikit-learn has none, so a fit with integer weights
  (zeros included) is compared with scikit-learn on the rows repeated as
  often as their weight says.
* large offsets (1e4 .. 1e6 added to every feature): scikit-learn's
  log-densities for 'diag' and 'spherical' expand ``(x - mu)^2`` into
  ``x^2 - 2 x mu + mu^2`` (and 'tied'/'full' evaluate ``x P - mu P``), which
  cancels catastrophically far from the origin.  A Gaussian mixture is
  translation-equivariant, so such a case is compared with scikit-learn
  fitted on the data and parameters shifted back by the offset (exactly
  representable shifts: the offset is a power of two times an integer),
  which is the accurate answer; see ``test_sklearn_loses_accuracy_far_from_
  the_origin`` for the demonstration that scikit-learn on the raw data is
  the less accurate of the two.

Disagreements these cases found:

* fastgmm (fixed): the BLAS path (d >= 9) summed ``S1 = R^T X`` in a
  float32 product for float32 data, uncentred: 1e4 from the origin its
  means were many ulp off and its probabilities up to 5e-2 (now centred on
  the mixture mean, as the other paths and the scatters are);
  test_hard_data's test_float32_means_far_from_the_origin_within_an_ulp.
* scikit-learn, far from the origin: float64 loses ~6 digits for
  'tied'/'diag'/'spherical' (expanded squares; compared on shifted data,
  see above); float32 fails ("ill-defined empirical covariance") or is
  far off (errors up to 1e6).
* the installed scikit-learn (1.9) ``score()`` returns a Python float
  whatever the dtype (its array-API code: ``float(xp.mean(...))``);
  fastgmm returns a scalar of X's dtype, as older scikit-learn did and as
  issue 14 asked.  Only the value is compared.

``python tests/test_differential.py`` prints every case's errors relative to
its tolerances (the largest first), to see the margins.
"""

import sys
import warnings
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning as SKConvergenceWarning
from sklearn.mixture import GaussianMixture as SKGaussianMixture

from fastgmm import ConvergenceWarning, GaussianMixture

TYPES = ("full", "tied", "diag", "spherical")

# ---------------------------------------------------------------- tolerances
# Each error is measured in the problem's own units (see ``errors``): means
# in units of the data's spread, covariances / precisions / Cholesky factors
# relative to their largest entry, weights and probabilities absolutely,
# lower bounds and log-densities relative to max(1, |value|).
#
# float64: the two fits differ only in the order of floating-point sums
# (fastgmm sums chunk by chunk and centres second moments on the previous
# means; scikit-learn sums whole arrays with BLAS), ~1e-15 per step, which
# EM amplifies over iterations on overlapping clusters, and the data's own
# resolution eps64 * 1e6 far from the origin.  The largest error over these
# cases is 2.2e-9 (1e6 offset; 1.4e-12 without offset); 1e-7 keeps a margin
# of ~50 and is far below a real difference (a wrong formula or a missed
# term is >= 1e-4).
RTOL64 = 1e-7
# float32 vs scikit-learn float64, near the origin: fastgmm rounds its
# parameters to float32 after every M-step (relative 6e-8) and evaluates the
# E-step in float32, so the trajectories separate by float32 rounding
# amplified by EM over up to 25 iterations.  The largest error over these
# cases is 1.4e-5 (10 rows; a margin of 2), 2.9e-6 on a hundred rows or
# more (a margin of 10).
RTOL32 = 3e-5
# float32 far from the origin: a float32 mean cannot be closer than half an
# ulp of the offset, eps32 * |offset| / 2 in units of the clusters' spread
# (about 1 here), and the predictions and every later iteration inherit
# errors of that order (up to 4.4 times eps32 * |offset| over these cases
# but one, on overlapping clusters).  The float32 tolerance is RTOL32 plus
# OFFSET32_FACTOR * eps32 * max|offset| (and the two terms below).
OFFSET32_FACTOR = 5.0
# "fastgmm float32 is at least as close to scikit-learn float64 as
# scikit-learn float32 is" is asserted case by case down to this floor:
# below it both float32 fits are at float32 resolution (~80 eps32 after a
# few EM iterations on a handful of rows) and which one lands nearer is
# chance.  Far from the origin the floor is the problem's own float32
# resolution (see _claim_floor); test_float32_closer_than_sklearn_float32
# counts the cases.
CLAIM_FLOOR32 = 1e-5
CLAIM_ROUNDING_FACTOR = 4.0


# float32 with badly conditioned covariances (a handful of rows per
# component): rounding a covariance to float32 moves its inverse by up to
# cond * eps32 relative, and the precisions, their factors and the
# log-densities inherit it (0.7 cond * eps32 on 24 rows of 'full').  The
# float32 tolerance adds COND32_FACTOR * eps32 * the largest condition
# number of scikit-learn's fitted covariances.
COND32_FACTOR = 4.0


def _condition(sk):
    cov = np.asarray(sk.covariances_)
    if sk.covariance_type == "full":
        return float(np.linalg.cond(cov).max())
    if sk.covariance_type == "tied":
        return float(np.linalg.cond(cov))
    if sk.covariance_type == "diag":
        return float((cov.max(axis=1) / cov.min(axis=1)).max())
    return 1.0


# float32 far from the origin on ill-conditioned problems (a dozen rows of
# overlapping clusters): there EM itself amplifies perturbations, and
# fastgmm's float32 fit perturbs the means by float32 resolution at every
# iteration.  The float32 tolerance adds SENS32_FACTOR times the change of
# scikit-learn's float64 fit when its initial means move by half a float32
# ulp (measured per case; fastgmm's error is up to 9.5 times that here).
SENS32_FACTOR = 20.0


def float32_tolerance(offset, sk, sensitivity):
    """RTOL32 plus the float32 resolution of the offset, of inverting
    scikit-learn's covariances and the problem's sensitivity to float32
    rounding of the means (see the constants above)."""
    eps = float(np.finfo(np.float32).eps)
    return (RTOL32 + OFFSET32_FACTOR * eps * float(np.abs(offset).max(initial=0.0))
            + COND32_FACTOR * eps * _condition(sk) + SENS32_FACTOR * sensitivity)


@dataclass(frozen=True)
class Case:
    seed: int
    n: int
    d: int
    K: int
    covariance_type: str
    dtype: str
    order: str
    offset: float
    separation: float
    weighted: bool
    max_iter: int
    tol: float

    @property
    def id(self):
        parts = [f"s{self.seed}", self.covariance_type, self.dtype, self.order,
                 f"n{self.n}", f"d{self.d}", f"K{self.K}",
                 f"sep{self.separation:g}", f"it{self.max_iter}"]
        if self.tol:
            parts.append(f"tol{self.tol:g}")
        if self.offset:
            parts.append(f"off{self.offset:.0e}")
        if self.weighted:
            parts.append("weighted")
        return "-".join(parts)


def make_cases():
    """The differential cases, each drawn from its own seed."""
    cases = []
    for seed in range(CASES_PER_TYPE):
        for covariance_type in TYPES:
            rng = np.random.default_rng([seed, TYPES.index(covariance_type)])
            size = rng.choice(["handful", "hundreds", "thousands"], p=[0.2, 0.5, 0.3])
            d = int(rng.choice([1, 2, 3, 5, 8, 13, 20, 33, 40]))
            K = int(rng.integers(1, 10))
            if size == "handful":
                d, K = min(d, 3), min(K, 2)
                n = int(rng.integers(4 * K + 2, 20))
            elif size == "hundreds":
                n = int(rng.integers(100, 800))
            else:
                n = int(rng.integers(1000, 4000))
            if covariance_type == "full":
                # enough rows per component for a well-defined covariance
                n = max(n, 3 * K * (d + 1))
            else:
                n = max(n, 3 * K + 2)
            dtype = str(rng.choice(["float64", "float32"]))
            offset = float(rng.choice([0.0, 0.0, 1e4, 1e6]))
            max_iter = int(rng.choice([1, 5, 25]))
            tol = 0.0
            if dtype == "float64" and rng.random() < 0.3:
                # run to convergence: n_iter_ and converged_ must agree.
                # (float32 runs a fixed number of iterations: its lower
                # bounds differ from float64's by ~1e-6, and a stop at tol
                # may fall one iteration apart)
                max_iter, tol = 200, 1e-3
            if dtype == "float32" and offset >= 1e6:
                # float32 resolves 1e6 + x only to 0.06, 6% of the clusters'
                # spread: after many iterations on overlapping clusters the
                # float32 and float64 trajectories part by O(1) (as
                # scikit-learn float64's does when its initial means move by
                # that much), so far from the origin float32 runs <= 5
                max_iter = min(max_iter, 5)
            cases.append(Case(
                seed=seed, n=n, d=d, K=K, covariance_type=covariance_type,
                dtype=dtype, order=str(rng.choice(["C", "F"])), offset=offset,
                separation=float(rng.choice([1.0, 3.0, 10.0])),
                weighted=bool(rng.random() < 0.3), max_iter=max_iter, tol=tol))
    return cases


CASES_PER_TYPE = 60


def _spd(rng, d, scale):
    B = rng.normal(size=(d, d))
    return scale ** 2 * (B @ B.T / d + 0.5 * np.eye(d))


def make_problem(case):
    """(X, sample_weight or None, X_repeated, init dict, offset vector)

    Everything float64 (float32-representable for float32 cases); X has
    ``case.order`` layout."""
    rng = np.random.default_rng(case.seed * 1000 + 7)
    n, d, K = case.n, case.d, case.K
    scale = 1.0
    centers = rng.uniform(-1, 1, size=(K, d)) * case.separation * scale * np.sqrt(K)
    labels = rng.permutation(np.arange(n) % K)
    A = np.stack([_spd(rng, d, scale) for _ in range(K)])
    X = centers[labels] + np.einsum("ni,nij->nj", rng.normal(size=(n, d)),
                                    np.linalg.cholesky(A)[labels].swapaxes(1, 2))
    # offsets exactly representable (so shifting back is exact in float64)
    offset = np.round(case.offset * rng.uniform(0.5, 1.0, size=d) / 64) * 64
    X = X + offset
    # initial parameters near the truth, not at it
    w = rng.uniform(0.5, 1.5, size=K)
    w /= w.sum()
    means = centers + rng.normal(scale=0.5 * scale, size=(K, d)) + offset
    if case.covariance_type == "full":
        cov = np.stack([_spd(rng, d, scale) for _ in range(K)])
        prec = np.linalg.inv(cov)
        prec = 0.5 * (prec + prec.swapaxes(1, 2))
    elif case.covariance_type == "tied":
        prec = np.linalg.inv(_spd(rng, d, scale))
        prec = 0.5 * (prec + prec.T)
    elif case.covariance_type == "diag":
        prec = 1.0 / rng.uniform(0.5, 2.0, size=(K, d))
    else:
        prec = 1.0 / rng.uniform(0.5, 2.0, size=K)
    if case.dtype == "float32":
        X, means, prec = (a.astype(np.float32).astype(np.float64)
                          for a in (X, means, prec))
        # float32 weights (as a float32 model's weights_ would be): they sum
        # to 1 within scikit-learn's float32 tolerance 1e-6 only
        w = w.astype(np.float32)
    init = dict(weights_init=w, means_init=means, precisions_init=prec)
    sample_weight = None
    X_rep = X
    if case.weighted:
        sample_weight = rng.integers(0, 4, size=n).astype(np.float64)
        sample_weight[rng.choice(n, size=min(n, 2 * K + 2), replace=False)] = 1.0
        X_rep = np.repeat(X, sample_weight.astype(int), axis=0)
    X = np.asfortranarray(X) if case.order == "F" else np.ascontiguousarray(X)
    return X, sample_weight, X_rep, init, offset


def _shifted_init(init, offset):
    return dict(init, means_init=init["means_init"] - offset)


def _quietly(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", SKConvergenceWarning)
        return fn(*args, **kwargs)


def _float32_rounded(sk, offset):
    """A fastgmm model holding scikit-learn's float64 parameters rounded to
    float32 (means moved back by the offset): the closest any float32 model
    can be to them."""
    m = GaussianMixture(sk.n_components, covariance_type=sk.covariance_type)
    for name in ("weights_", "covariances_", "precisions_", "precisions_cholesky_"):
        setattr(m, name, getattr(sk, name).astype(np.float32))
    m.means_ = (sk.means_ + offset).astype(np.float32)
    for name in ("lower_bound_", "lower_bounds_", "n_iter_", "converged_",
                 "n_features_in_"):
        setattr(m, name, getattr(sk, name))
    return m


def fit_all(case):
    """fastgmm's fit (``gm``), scikit-learn's float64 reference (``sk``,
    fitted on the data shifted back by the offset) and, for float32 cases,
    scikit-learn's float32 fit (``sk32``, None when it failed), the
    problem's sensitivity to float32 rounding of the means (``sens``) and
    the error of ``sk`` rounded to float32 (``floor32``)."""
    X, sample_weight, X_rep, init, offset = make_problem(case)
    dtype = np.dtype(case.dtype)
    kw = dict(n_components=case.K, covariance_type=case.covariance_type,
              max_iter=case.max_iter, tol=case.tol, init_params="random",
              random_state=0)
    gm = _quietly(GaussianMixture(n_threads=1, **kw, **init).fit,
                  X.astype(dtype, order="K"), sample_weight=sample_weight)
    init64 = _shifted_init(init, offset)
    # scikit-learn float64 wants float64 weights summing to 1 within 1e-8
    init64["weights_init"] = init["weights_init"] / init["weights_init"].sum(
        dtype=np.float64)
    sk = _quietly(SKGaussianMixture(**kw, **init64).fit, X_rep - offset)
    fit = SimpleNamespace(X=X, X_rep=X_rep, offset=offset, gm=gm, sk=sk, sk32=None,
                          sens=0.0, floor32=0.0)
    if dtype == np.float64:
        return fit
    if case.offset:
        # how far scikit-learn's float64 fit moves when its initial means
        # move by up to half a float32 ulp (of their values far from the
        # origin)
        ulp = np.spacing(np.abs(init["means_init"]).astype(np.float32))
        moved = dict(init64, means_init=init64["means_init"] + ulp * np.random.default_rng(
            case.seed).uniform(-0.5, 0.5, size=ulp.shape))
        sk_moved = _quietly(SKGaussianMixture(**kw, **moved).fit, X_rep - offset)
        fit.sens = max(errors(sk_moved, sk, X - offset, X_rep - offset, 0.0).values())
    fit.floor32 = max(errors(_float32_rounded(sk, offset), sk, X, X_rep,
                             offset).values())
    init32 = {k: v.astype(np.float32) for k, v in init.items()}
    try:
        fit.sk32 = _quietly(SKGaussianMixture(**kw, **init32).fit,
                            X_rep.astype(np.float32))
    except ValueError:
        # "ill-defined empirical covariance": scikit-learn's float32
        # covariances cancel to <= 0 far from the origin
        fit.sk32 = None
    return fit


def _rel(a, b):
    """max |a - b| relative to max |b|."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    scale = np.abs(b).max()
    return float(np.abs(a - b).max() / scale) if scale > 0 else float(np.abs(a).max())


def _rel1(a, b):
    """|a - b| relative to max(1, |b|), elementwise, the largest."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float((np.abs(a - b) / np.maximum(1.0, np.abs(b))).max())


def errors(model, sk, X, X_rep, offset, shift_model=True):
    """Every compared quantity's error of ``model`` against the reference
    ``sk`` (fitted on the data shifted by ``-offset``), in the units stated
    at the top of the module.  ``X`` the data ``model`` saw (unweighted rows
    for predictions), ``X_rep`` the repeated rows for bic/aic."""
    spread = float(np.sqrt(np.mean(np.var(X_rep, axis=0)))) or 1.0
    m_off = offset if shift_model else 0.0
    Xq = X.astype(model.means_.dtype)
    Xq_rep = X_rep.astype(model.means_.dtype)
    Xs = X - offset
    Xs_rep = X_rep - offset
    out = {
        "weights_": float(np.abs(model.weights_ - sk.weights_).max()),
        "means_": float(np.abs((model.means_.astype(np.float64) - m_off)
                               - sk.means_).max() / spread),
        "covariances_": _rel(model.covariances_, sk.covariances_),
        "precisions_": _rel(model.precisions_, sk.precisions_),
        "precisions_cholesky_": _rel(model.precisions_cholesky_,
                                     sk.precisions_cholesky_),
        "lower_bound_": _rel1(model.lower_bound_, sk.lower_bound_),
        "lower_bounds_": _rel1(model.lower_bounds_, sk.lower_bounds_)
        if len(sk.lower_bounds_) else 0.0,
        "score_samples": _rel1(model.score_samples(Xq), sk.score_samples(Xs)),
        "predict_proba": float(np.abs(model.predict_proba(Xq)
                                      - sk.predict_proba(Xs)).max()),
        "bic": _rel1(model.bic(Xq_rep) / len(X_rep), sk.bic(Xs_rep) / len(X_rep)),
        "aic": _rel1(model.aic(Xq_rep) / len(X_rep), sk.aic(Xs_rep) / len(X_rep)),
    }
    return out


CASES = make_cases()
_FITS = {}


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    # scikit-learn's BLAS on all cores of a loaded shared machine is up to
    # 100 times slower than on one; fastgmm's results do not depend on it
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield


def fitted(case):
    """``fit_all(case)``, computed once per case."""
    if case not in _FITS:
        _FITS[case] = fit_all(case)
    return _FITS[case]


def _claim_floor(fit):
    """Below this, which float32 fit is nearer scikit-learn float64 is not
    resolved by float32: CLAIM_FLOOR32, the problem's sensitivity to float32
    rounding of the means (SENS32_FACTOR times), or CLAIM_ROUNDING_FACTOR
    times the error of scikit-learn's float64 parameters rounded to float32."""
    return max(CLAIM_FLOOR32, SENS32_FACTOR * fit.sens,
               CLAIM_ROUNDING_FACTOR * fit.floor32)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_matches_sklearn(case):
    fit = fitted(case)
    X, X_rep, offset, gm, sk = fit.X, fit.X_rep, fit.offset, fit.gm, fit.sk
    dtype = np.dtype(case.dtype)
    for name in ("weights_", "means_", "covariances_", "precisions_",
                 "precisions_cholesky_"):
        assert getattr(gm, name).dtype == dtype, name
        assert getattr(gm, name).shape == getattr(sk, name).shape, name
    assert gm.n_iter_ == sk.n_iter_
    assert gm.converged_ == sk.converged_
    assert len(gm.lower_bounds_) == len(sk.lower_bounds_) == gm.n_iter_
    Xq = X.astype(dtype)
    # score() is a scalar of the data's dtype (issue 14, as older
    # scikit-learn; the installed one returns a Python float whatever the
    # dtype), its value scikit-learn's
    score = gm.score(Xq)
    assert type(score) is dtype.type
    err = errors(gm, sk, X, X_rep, offset)
    err["score"] = _rel1(score, sk.score(X - offset))
    rtol = RTOL64 if dtype == np.float64 else float32_tolerance(offset, sk, fit.sens)
    bad = {k: v for k, v in err.items() if not v <= rtol}
    assert not bad, f"errors above {rtol:g}: {bad}"
    if dtype == np.float64:
        np.testing.assert_array_equal(gm.predict(Xq), sk.predict(X - offset))
    if fit.sk32 is not None:
        # fastgmm's float32 fit is at least as close to scikit-learn's
        # float64 fit as scikit-learn's own float32 fit is, wherever float32
        # resolves the difference (see _claim_floor and the count below)
        mine = max(err.values())
        theirs = max(errors(fit.sk32, sk, X, X_rep, offset).values())
        assert mine <= max(theirs, _claim_floor(fit)), (mine, theirs)


FLOAT32_CASES = [c for c in CASES if c.dtype == "float32"]


def test_float32_closer_than_sklearn_float32():
    """Over all float32 cases: scikit-learn's float32 fit fails outright
    (ill-defined covariances from cancellation, far from the origin) or is
    less accurate than fastgmm's, except in at most 5% of the cases, and
    there only below the float32 resolution of the problem (asserted per
    case above).  With these seeds: 2 of the 74 cases scikit-learn float32
    fits, both on 18-24 rows 1e6 from the origin, where float32 resolves
    the data to 6% of the clusters' spread."""
    failed = closer = 0
    worse = []
    for case in FLOAT32_CASES:
        fit = fitted(case)
        if fit.sk32 is None:
            failed += 1
            continue
        mine = max(errors(fit.gm, fit.sk, fit.X, fit.X_rep, fit.offset).values())
        theirs = max(errors(fit.sk32, fit.sk, fit.X, fit.X_rep, fit.offset).values())
        if mine <= theirs:
            closer += 1
        else:
            worse.append((case.id, mine, theirs))
    total = len(FLOAT32_CASES)
    assert total >= 100 and failed >= 20
    assert len(worse) <= 0.05 * (total - failed), worse


FAR_CASES = [c for c in CASES if c.dtype == "float64" and c.offset >= 1e6
             and c.covariance_type != "full"][:6]


@pytest.mark.parametrize("case", FAR_CASES, ids=[c.id for c in FAR_CASES])
def test_sklearn_loses_accuracy_far_from_the_origin(case):
    """Why offset cases are compared with scikit-learn on shifted data:
    on the raw data, scikit-learn's 'tied'/'diag'/'spherical' log-densities
    (expanded squares) lose ~6 digits at a 1e6 offset, fastgmm's (centred)
    do not."""
    fit = fitted(case)
    X, X_rep, offset, gm, sk = fit.X, fit.X_rep, fit.offset, fit.gm, fit.sk
    _, _, _, init, _ = make_problem(case)
    init = dict(init, weights_init=init["weights_init"] / init["weights_init"].sum())
    raw = _quietly(SKGaussianMixture(
        n_components=case.K, covariance_type=case.covariance_type,
        max_iter=case.max_iter, tol=case.tol, init_params="random", random_state=0,
        **init).fit, X_rep)
    mine = max(errors(gm, sk, X, X_rep, offset).values())
    theirs = max(errors(raw, sk, X, X_rep, offset).values())
    assert mine <= RTOL64 and theirs > 1e3 * mine, (mine, theirs)


def _main():
    rows = []
    for case in CASES:
        fit = fit_all(case)
        rtol = RTOL64 if case.dtype == "float64" else float32_tolerance(
            fit.offset, fit.sk, fit.sens)
        err = errors(fit.gm, fit.sk, fit.X, fit.X_rep, fit.offset)
        worst = max(err, key=err.get)
        e32 = float("nan") if fit.sk32 is None else max(
            errors(fit.sk32, fit.sk, fit.X, fit.X_rep, fit.offset).values())
        rows.append((err[worst] / rtol, case.id, worst, err[worst], fit.sens,
                     fit.floor32, e32))
    rows.sort(reverse=True)
    for r in rows:
        print(f"{r[0]:9.2e} {r[1]:70s} {r[2]:22s} {r[3]:9.2e}  sens {r[4]:9.2e} "
              f"floor32 {r[5]:9.2e} sk32 {r[6]:9.2e}")


if __name__ == "__main__":
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        sys.exit(_main())
