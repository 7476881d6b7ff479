"""Model selection: fit a grid of mixtures and keep the best by BIC or AIC."""

import math
import numbers
import threading
import warnings
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from time import perf_counter

import numpy as np

from ._base import BaseEstimator, DensityMixin, check_is_fitted
from ._config import effective_n_threads, single_threaded_blas
from ._covariance import COVARIANCE_TYPES
from ._gaussian_mixture import GaussianMixture
from ._initialization import initial_partition, nearest_centers
from ._initialization.hierarchical import WardTree
from ._missing import NAN_HINT, check_init_params, check_observed_columns, scan_missing
from ._mixture import fit_validated, log_likelihood, n_parameters
from ._mstep import ILL_DEFINED_MESSAGE
from ._parameters import check_param, validate_params
from ._validation import check_random_state, check_sample_weight, check_X

# Below this many values in X the whole grid runs on one thread.
SMALL_DATA_SIZE = 1 << 16
RESULT_KEYS = ("n_components", "covariance_type", "bic", "aic", "lower_bound",
               "n_iter", "converged", "fit_time")


class _InlineExecutor:
    """``submit`` runs the call at once (one worker: no thread at all)."""

    def submit(self, fn, *args):
        future = Future()
        try:
            future.set_result(fn(*args))
        except BaseException as exc:
            future.set_exception(exc)
        return future

    def shutdown(self, wait=True, cancel_futures=False):
        pass


class GaussianMixtureSelector(DensityMixin, BaseEstimator):
    """Fit Gaussian mixtures over a grid and keep the best by BIC or AIC.

    Every pair of ``n_components`` and ``covariance_type`` is fitted with
    :class:`fastgmm.GaussianMixture` and the given settings, and the
    candidate with the lowest criterion becomes :attr:`best_estimator_`.
    The grid is cheaper than a loop of independent fits: ``X`` is validated
    (and converted, if it needs it) once; the 'kmeans' initial partition is
    computed once per ``n_components`` and shared by all covariance types;
    'hierarchical' builds one Ward dendrogram per initialisation and cuts it
    for every ``n_components`` (as R's mclust does).  Candidates run side
    by side on ``n_threads`` threads, each with single-threaded kernels
    (data with fewer than 65,536 values: one thread in all); the results do
    not depend on this.

    With an integer ``random_state`` every candidate is exactly
    ``GaussianMixture(n_components=k, covariance_type=t, random_state=seed,
    ...).fit(X)`` and its ``bic``/``aic`` equal that model's ``bic(X)`` and
    ``aic(X)``.  Otherwise one integer seed is drawn from ``random_state``
    and used for every candidate.

    Parameters
    ----------
    n_components : int or iterable of int, default=(1, 2, ..., 10)
        Numbers of components to try.
    covariance_type : str or iterable of str, default=('full', 'tied', 'diag', 'spherical')
        Covariance types to try (any subset of the four).
    criterion : {'bic', 'aic'}, default='bic'
        Information criterion to minimise.
    tol, reg_covar, max_iter, n_init, init_params, n_threads
        As in :class:`fastgmm.GaussianMixture` (``init_params`` also accepts
        'hierarchical'), for every candidate.
    random_state : int, RandomState instance or None, default=None
        Seeds every candidate's initialisation (see above).
    verbose : int, default=0
        1 prints one line per candidate; 2 and more also pass
        ``verbose - 1`` to the candidates.
    missing : {'raise', 'marginalize'}, default='raise'
        As in :class:`fastgmm.GaussianMixture`, for every candidate; the
        criteria then use the observed-data log-likelihood.  With NaN
        entries every candidate runs its own initialisation (on mean-filled
        rows) instead of sharing one partition, and 'hierarchical' is not
        available.

    Attributes
    ----------
    best_estimator_ : fastgmm.GaussianMixture
        The fitted candidate with the lowest criterion.
    best_params_ : dict
        Its ``{'n_components': int, 'covariance_type': str}``.
    best_index_ : int
        Its row in :attr:`results_`.
    results_ : dict of 1-D arrays
        One row per candidate, in grid order (``n_components`` outer):
        ``n_components``, ``covariance_type``, ``bic``, ``aic``,
        ``lower_bound``, ``n_iter``, ``converged`` and ``fit_time`` (seconds,
        including an equal share of the initial partition the candidate
        shares with others).  A candidate whose fit failed with an
        ill-defined covariance has NaN criteria (and a warning is issued).
        :meth:`results_frame` gives it as a pandas DataFrame.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when fitted on a DataFrame with string column names.

    Notes
    -----
    With ``sample_weight`` the criteria use the weighted log-likelihood and
    the total weight as the number of observations (an integer weight w
    counts as w repeated rows).
    """

    # Run candidates side by side (True) or one after the other with
    # multi-threaded kernels (False); see benchmarks/bench_selection.py.
    _side_by_side = True

    def __init__(
        self,
        n_components=(1, 2, 3, 4, 5, 6, 7, 8, 9, 10),
        covariance_type=COVARIANCE_TYPES,
        criterion="bic",
        tol=1e-3,
        reg_covar=1e-6,
        max_iter=100,
        n_init=1,
        init_params="kmeans",
        random_state=None,
        n_threads=None,
        verbose=0,
        missing="raise",
    ):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.criterion = criterion
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.random_state = random_state
        self.n_threads = n_threads
        self.verbose = verbose
        self.missing = missing

    # ------------------------------------------------------------------ checks
    def _grid(self):
        """Validated, de-duplicated (n_components list, covariance_type list)."""
        name = type(self).__name__
        ks = self.n_components
        if isinstance(ks, numbers.Integral) and not isinstance(ks, bool):
            ks = [ks]
        try:
            ks = list(ks)
        except TypeError:
            raise ValueError(f"The 'n_components' parameter of {name} must be an int "
                             f"or an iterable of ints. Got {self.n_components!r} "
                             "instead.") from None
        if not ks:
            raise ValueError(f"The 'n_components' parameter of {name} is empty.")
        for k in ks:
            check_param(k, "n_components", name)
        types = self.covariance_type
        if isinstance(types, str):
            types = [types]
        try:
            types = list(types)
        except TypeError:
            types = [types]
        if not types:
            raise ValueError(f"The 'covariance_type' parameter of {name} is empty.")
        for t in types:
            check_param(t, "covariance_type", name)
        return [int(k) for k in dict.fromkeys(ks)], list(dict.fromkeys(types))

    def _check_params(self):
        # the candidates' settings are checked as GaussianMixture checks
        # them (one table); the grid's entries one by one in _grid
        validate_params(self, skip=("n_components", "covariance_type"))
        return self._grid()

    def _seed(self):
        rs = self.random_state
        if isinstance(rs, numbers.Integral) and not isinstance(rs, bool):
            return int(rs)
        return int(check_random_state(rs).randint(np.iinfo(np.int32).max))

    # ------------------------------------------------------------------- fit
    def fit(self, X, y=None, sample_weight=None):
        """Fit every candidate and keep the best.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            As for :meth:`fastgmm.GaussianMixture.fit` (float32 stays
            float32; a C-contiguous float array is used without a copy).
        y : Ignored
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights, used by every candidate and by the criteria.

        Returns
        -------
        self : GaussianMixtureSelector
        """
        ks, types = self._check_params()
        name = type(self).__name__
        n_threads = effective_n_threads(self.n_threads)
        counts = None
        if self.missing == "marginalize":
            X, feature_names, has_nan = check_X(X, name=name, ensure_min_samples=2,
                                                n_threads=n_threads, allow_nan=True)
            if has_nan:
                counts = scan_missing(X)
                check_observed_columns(counts, X.shape[0], feature_names)
                check_init_params(self.init_params)
        else:
            X, feature_names = check_X(X, name=name, ensure_min_samples=2,
                                       n_threads=n_threads, nan_hint=NAN_HINT)
        n_samples = X.shape[0]
        if max(ks) > n_samples:
            raise ValueError(
                "Expected n_samples >= n_components but got n_components = "
                f"{max(ks)}, n_samples = {n_samples}")
        sample_weight = check_sample_weight(sample_weight, n_samples, X.dtype)
        weighted = sample_weight.shape[0] > 0
        n_obs = float(sample_weight.sum(dtype=np.float64)) if weighted \
            else float(n_samples)
        seed = self._seed()
        # (a partition of rows with NaN entries: each candidate's own)
        shared_init = self.init_params in ("kmeans", "hierarchical") and counts is None

        # Candidates run side by side on `workers` threads, each with
        # single-threaded kernels: no OpenMP barrier per chunk, and one
        # candidate's Python M-step overlaps another's kernels.  Results do
        # not depend on this (the kernels are thread-count invariant).
        # Small data: one thread (a pass takes microseconds; threads would
        # cost more than they save).
        n_tasks = len(ks) * len(types)
        if X.size < SMALL_DATA_SIZE:
            workers = kernel_threads = 1
        else:
            workers = max(1, min(n_threads, n_tasks)) if self._side_by_side else 1
            kernel_threads = max(1, n_threads // workers)

        trees = None
        t_trees = 0.0
        if self.init_params == "hierarchical":
            t0 = perf_counter()
            rs = np.random.RandomState(seed)
            # the draws a single fit's initialisations make, in order
            trees = [WardTree(X, sample_weight, rs) for _ in range(self.n_init)]
            t_trees = perf_counter() - t0

        def make_partitions(k):
            t0 = perf_counter()
            partitions = None
            if trees is not None:
                partitions = [tree.partition(X, sample_weight, k, kernel_threads)
                              for tree in trees]
            elif shared_init:
                # the same draws GaussianMixture(random_state=seed) makes
                rs = np.random.RandomState(seed)
                partitions = []
                for _ in range(self.n_init):
                    centers, _ = initial_partition(X, sample_weight, k, "kmeans", rs,
                                                   kernel_threads)
                    # label every row once for all covariance types (the
                    # labels a single fit computes chunk by chunk: same
                    # kernel, same 256-row blocks)
                    partitions.append((centers, nearest_centers(
                        X, sample_weight, centers, kernel_threads)))
            return partitions, (perf_counter() - t0 + t_trees / len(ks)) / len(types)

        criterion_column = 2 if self.criterion == "bic" else 3
        grid_index = {(k, cov): i for i, (k, cov) in
                      enumerate((k, cov) for k in ks for cov in types)}
        best = [None, (np.inf, 0)]   # model, (criterion, grid index)
        best_lock = threading.Lock()

        def fit_candidate(k, cov, partitions_future):
            partitions, t_shared = partitions_future.result()
            t0 = perf_counter()
            model = GaussianMixture(
                n_components=k, covariance_type=cov, tol=self.tol,
                reg_covar=self.reg_covar, max_iter=self.max_iter,
                n_init=self.n_init, init_params=self.init_params,
                random_state=seed, verbose=max(0, self.verbose - 1),
                n_threads=kernel_threads, missing=self.missing)
            try:
                fit_validated(model, X, sample_weight, feature_names, partitions,
                              missing=counts)
            except ValueError as exc:
                if ILL_DEFINED_MESSAGE not in str(exc):
                    raise
                return exc, (k, cov, np.nan, np.nan, np.nan, 0, False,
                             perf_counter() - t0 + t_shared)
            ll, _ = log_likelihood(model, X, sample_weight)
            n_par = n_parameters(model)
            row = (k, cov, -2 * ll + n_par * math.log(n_obs), -2 * ll + 2 * n_par,
                   model.lower_bound_, model.n_iter_, model.converged_,
                   perf_counter() - t0 + t_shared)
            # keep only the best model so far (ties: the first in grid order)
            key = (row[criterion_column], grid_index[k, cov])
            with best_lock:
                if key < best[1]:
                    best[:] = [model, key]
            return None, row

        # Largest n_components first, so the cheap candidates fill the end
        # and the workers finish together.  The next n_components' partition
        # is queued before this one's candidates, so it is computed while
        # they run; a candidate waits only for its own partition, queued
        # (and so started) before it.
        futures = {}
        pool = ThreadPoolExecutor(workers) if workers > 1 else _InlineExecutor()
        try:
            # one BLAS thread for the whole grid (the candidates' own limits
            # nest inside this one and so never restore a multi-threaded BLAS
            # while another candidate runs)
            with single_threaded_blas():
                order = sorted(ks, reverse=True)
                parts = {order[0]: pool.submit(make_partitions, order[0])}
                for i, k in enumerate(order):
                    if i + 1 < len(order):
                        parts[order[i + 1]] = pool.submit(make_partitions, order[i + 1])
                    for cov in types:
                        futures[k, cov] = pool.submit(fit_candidate, k, cov,
                                                      parts[k])
                    del parts[k]
                if self.verbose:
                    for future in as_completed(futures.values()):
                        _, row = future.result()
                        print(f"n_components={row[0]:<4d} covariance_type="
                              f"{row[1]:<9s} bic={row[2]:.6g} aic={row[3]:.6g} "
                              f"n_iter={row[5]} converged={row[6]} "
                              f"time={row[7]:.3f}s")
                outcomes = [futures[k, cov].result() for k in ks for cov in types]
        finally:
            # on an error, drop the candidates that have not started
            pool.shutdown(wait=True, cancel_futures=True)
        del futures

        rows = {key: [] for key in RESULT_KEYS}
        last_error = None
        for exc, row in outcomes:
            for key, value in zip(RESULT_KEYS, row):
                rows[key].append(value)
            if exc is not None:
                warnings.warn(f"{name}: n_components={row[0]}, covariance_type="
                              f"{row[1]!r} failed and is skipped: {exc}",
                              UserWarning, stacklevel=2)
                last_error = exc
        if best[0] is None:
            raise last_error

        self.results_ = {
            "n_components": np.asarray(rows["n_components"], dtype=np.intp),
            "covariance_type": np.asarray(rows["covariance_type"], dtype=str),
            "bic": np.asarray(rows["bic"], dtype=np.float64),
            "aic": np.asarray(rows["aic"], dtype=np.float64),
            "lower_bound": np.asarray(rows["lower_bound"], dtype=np.float64),
            "n_iter": np.asarray(rows["n_iter"], dtype=np.intp),
            "converged": np.asarray(rows["converged"], dtype=bool),
            "fit_time": np.asarray(rows["fit_time"], dtype=np.float64),
        }
        self.best_estimator_, self.best_index_ = best[0], best[1][1]
        self.best_params_ = {"n_components": self.best_estimator_.n_components,
                             "covariance_type": self.best_estimator_.covariance_type}
        self.n_features_in_ = X.shape[1]
        if feature_names is not None:
            self.feature_names_in_ = feature_names
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        return self

    def results_frame(self):
        """:attr:`results_` as a pandas DataFrame (needs pandas).

        Returns
        -------
        frame : pandas.DataFrame
            One row per candidate, columns as the keys of :attr:`results_`.
        """
        check_is_fitted(self, "results_")
        try:
            import pandas as pd
        except ImportError:
            raise ImportError("GaussianMixtureSelector.results_frame() needs pandas; "
                              "install it with 'pip install pandas'.") from None
        return pd.DataFrame({key: self.results_[key] for key in RESULT_KEYS})

    # ------------------------------------------------------ best-model proxy
    def _best(self):
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_

    def predict(self, X):
        """Most likely component of every row under :attr:`best_estimator_`."""
        return self._best().predict(X)

    def predict_proba(self, X):
        """Component posteriors of every row under :attr:`best_estimator_`."""
        return self._best().predict_proba(X)

    def score_samples(self, X):
        """Log-likelihood of every row under :attr:`best_estimator_`."""
        return self._best().score_samples(X)

    def score(self, X, y=None):
        """Per-sample average log-likelihood under :attr:`best_estimator_`."""
        return self._best().score(X)

    def sample(self, n_samples=1):
        """Draw samples from :attr:`best_estimator_`; returns ``(X, y)``."""
        return self._best().sample(n_samples)

    def bic(self, X):
        """Bayesian information criterion of :attr:`best_estimator_` on ``X``."""
        return self._best().bic(X)

    def aic(self, X):
        """Akaike information criterion of :attr:`best_estimator_` on ``X``."""
        return self._best().aic(X)
