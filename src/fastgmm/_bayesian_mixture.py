"""The BayesianGaussianMixture estimator: variational Bayes on the one-pass kernels.

scikit-learn's variational Gaussian mixture (Bishop, *Pattern Recognition
and Machine Learning*, section 10.2; Blei and Jordan 2006 for the truncated
Dirichlet process) needs, per iteration, one pass over the data for the
sufficient statistics of the responsibilities -- exactly what the mixture
core's kernels compute (``_mixture.BaseMixture``).  What is Bayesian lives
here and costs O(K d^2) per iteration on the client:

* the E-step's log-densities are Gaussian log-densities under
  ``precisions_cholesky_`` (the factors of the *expected* precisions
  ``dof_k W_k``: scikit-learn's covariances are normalised by the degrees
  of freedom) plus a per-component constant and the expected log-weights
  (digamma terms); the constant and the log-weights go into the kernels'
  per-component log-normaliser, so no new kernel is needed;
* the M-step updates the posterior hyperparameters from the pass's
  ``N_k``, first moments and centred scatter;
* the lower bound is scikit-learn's (constants dropped, not divided by the
  number of samples).  Its entropy term ``sum_i s_i sum_k r_ik log r_ik``
  follows from the same statistics: ``r log r = r (log p_ik - lse_i)``, so it
  is ``sum_k (N_k c_k - Q_k / 2) - sum_i s_i lse_i`` with ``c_k`` the
  component's log-normaliser, ``Q_k = sum_i s_i r_ik (x_i - m_k)^T Lambda_k
  (x_i - m_k)`` (a trace of the centred scatter) and the last sum the pass's
  total log-likelihood.

Hyperparameters of the posterior (``weight_concentration_``,
``mean_precision_``, ``degrees_of_freedom_``) are float64; the arrays of the
data's shape (means, covariances, precisions, priors) are in the data's
dtype, float32 fits staying float32 (the updates run in float64).
"""

import math

import numpy as np
from scipy import linalg
from scipy.special import betaln, digamma, gammaln

from ._base import check_is_fitted
from ._covariance import covariance_model, symmetrize
from ._initialization import column_mean_var, initial_statistics
from ._mixture import BaseMixture
from ._mstep import precision_cholesky, precisions_from_cholesky
from ._persistence import register_estimator
from ._validation import _as_float_array, check_definite

_LOG_2PI = math.log(2 * math.pi)
#: Weight from which a component counts as used (``effective_components``).
EFFECTIVE_WEIGHT = 0.01


class _BayesParams:
    """The variational posterior in the loop: float64 hyperparameters and
    means/covariances, precision factors in the data's dtype (as the kernels
    read them).  ``log_norm`` caches the kernels' normalisers of these
    parameters; ``expected_log_prob`` is ``sum_ik s_i r_ik log p_ik`` of the
    pass that produced them (for the lower bound)."""

    __slots__ = ("weight_concentration", "mean_precision", "means",
                 "degrees_of_freedom", "covariances", "prec_chol", "log_norm",
                 "expected_log_prob")

    def __init__(self, weight_concentration, mean_precision, means,
                 degrees_of_freedom, covariances, prec_chol):
        self.weight_concentration = weight_concentration
        self.mean_precision = mean_precision
        self.means = means
        self.degrees_of_freedom = degrees_of_freedom
        self.covariances = covariances
        self.prec_chol = prec_chol
        self.log_norm = None
        self.expected_log_prob = None


class _Priors:
    """The priors of one fit (float64), from the parameters and the data."""

    __slots__ = ("weight_concentration", "mean_precision", "mean",
                 "degrees_of_freedom", "covariance")

    def __init__(self, weight_concentration, mean_precision, mean,
                 degrees_of_freedom, covariance):
        self.weight_concentration = weight_concentration
        self.mean_precision = mean_precision
        self.mean = mean
        self.degrees_of_freedom = degrees_of_freedom
        self.covariance = covariance


def _log_lambda(dof, n_features):
    """``E[log |Lambda_k|]`` less ``d log dof_k`` (Bishop 10.65 with the
    normalised precision): ``d log 2 + sum_j digamma((dof - j) / 2)``."""
    dof = np.asarray(dof, dtype=np.float64)
    j = np.arange(n_features).reshape((-1,) + (1,) * dof.ndim)
    return n_features * math.log(2.0) + digamma(0.5 * (dof - j)).sum(axis=0)


def _log_wishart_norm(dof, log_det_chol, n_features):
    """scikit-learn's log Wishart normaliser (without the log pi term)."""
    dof = np.asarray(dof, dtype=np.float64)
    j = np.arange(n_features).reshape((-1,) + (1,) * dof.ndim)
    return -(dof * log_det_chol + dof * n_features * 0.5 * math.log(2.0)
             + gammaln(0.5 * (dof - j)).sum(axis=0))


@register_estimator
class BayesianGaussianMixture(BaseMixture):
    """Variational Bayesian estimation of a Gaussian mixture.

    A drop-in for :class:`sklearn.mixture.BayesianGaussianMixture` (same
    parameters, defaults, attributes and numbers) whose iterations run in
    fastgmm's one-pass kernels: one pass over the data per iteration, no
    n_samples x n_components array, float32 fits in float32, sample
    weights, memory-mapped and block-wise data, Dask arrays, and results
    bitwise identical for any thread count.  Components the data does not
    need get weights near zero, so ``n_components`` is an upper bound.

    Parameters
    ----------
    n_components : int, default=1
        Number of components (an upper bound on those the model uses).
    covariance_type : {'full', 'tied', 'diag', 'spherical'}, default='full'
    tol : float, default=1e-3
        Convergence threshold on the change of the lower bound (which is
        not divided by the number of samples, as scikit-learn's).
    reg_covar : float, default=1e-6
        Non-negative regularisation added to the diagonal of the empirical
        covariances in the updates.
    max_iter : int, default=100
    n_init : int, default=1
        Initialisations to run; the best lower bound is kept.
    init_params : {'kmeans', 'k-means++', 'random', 'random_from_data', \
'hierarchical'}, default='kmeans'
        The initial responsibilities, as for :class:`GaussianMixture`.
    weight_concentration_prior_type : {'dirichlet_process', \
'dirichlet_distribution'}, default='dirichlet_process'
        Stick-breaking (truncated Dirichlet process) or finite Dirichlet
        prior on the weights.
    weight_concentration_prior : float or None, default=None
        The concentration (gamma); None means ``1 / n_components``.  Smaller
        values leave more components unused.
    mean_precision_prior : float or None, default=None
        Precision of the prior on the means (beta_0); None means 1.
    mean_prior : array-like of shape (n_features,), default=None
        Prior mean of the means; None means the (weighted) data mean.
    degrees_of_freedom_prior : float or None, default=None
        Wishart degrees of freedom (nu_0), > n_features - 1; None means
        n_features.
    covariance_prior : float or array-like, default=None
        Wishart prior covariance: (n_features, n_features) for 'full' and
        'tied', (n_features,) for 'diag', a float for 'spherical'.  None means
        the (weighted, ``ddof=1``) covariance of the data.
    random_state : int, RandomState instance or None, default=None
    warm_start : bool, default=False
    verbose : int, default=0
    verbose_interval : int, default=10
    n_threads : int or None, default=None
        OpenMP threads for the kernels, as for :class:`GaussianMixture`.

    Attributes
    ----------
    weights_ : ndarray of shape (n_components,)
        Expected weights under the posterior.
    means_ : ndarray of shape (n_components, n_features)
    covariances_, precisions_, precisions_cholesky_ : ndarray
        Shapes per covariance type as :class:`GaussianMixture`'s; the
        covariances are the Wishart scale normalised by the degrees of
        freedom, the precisions their inverses (scikit-learn's convention).
    weight_concentration_prior_ : float
    weight_concentration_ : ndarray of shape (n_components,), or a tuple of two
        The Dirichlet parameters, or the Beta parameters of the sticks
        ('dirichlet_process').
    mean_precision_prior_ : float
    mean_precision_ : ndarray of shape (n_components,)
    mean_prior_ : ndarray of shape (n_features,)
    degrees_of_freedom_prior_ : float
    degrees_of_freedom_ : ndarray of shape (n_components,) (a float for 'tied')
    covariance_prior_ : float or ndarray
    converged_ : bool
    n_iter_ : int
    lower_bound_ : float
        scikit-learn's lower bound on the evidence of the best
        initialisation (constants dropped).
    lower_bounds_ : list of float
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when fitted on a DataFrame with string column names.
    """

    def __init__(
        self,
        *,
        n_components=1,
        covariance_type="full",
        tol=1e-3,
        reg_covar=1e-6,
        max_iter=100,
        n_init=1,
        init_params="kmeans",
        weight_concentration_prior_type="dirichlet_process",
        weight_concentration_prior=None,
        mean_precision_prior=None,
        mean_prior=None,
        degrees_of_freedom_prior=None,
        covariance_prior=None,
        random_state=None,
        warm_start=False,
        verbose=0,
        verbose_interval=10,
        n_threads=None,
    ):
        super().__init__(
            n_components=n_components, tol=tol, reg_covar=reg_covar,
            max_iter=max_iter, n_init=n_init, init_params=init_params,
            random_state=random_state, warm_start=warm_start, verbose=verbose,
            verbose_interval=verbose_interval, n_threads=n_threads)
        self.covariance_type = covariance_type
        self.weight_concentration_prior_type = weight_concentration_prior_type
        self.weight_concentration_prior = weight_concentration_prior
        self.mean_precision_prior = mean_precision_prior
        self.mean_prior = mean_prior
        self.degrees_of_freedom_prior = degrees_of_freedom_prior
        self.covariance_prior = covariance_prior

    # ------------------------------------------------------------------ priors
    @property
    def _process(self):
        return self.weight_concentration_prior_type == "dirichlet_process"

    def _covariance_prior_shape(self, n_features):
        """(d, d) 'full'/'tied', (d,) 'diag', () 'spherical'."""
        model = self._covariance
        if model.matrix:
            return (n_features, n_features)
        return (n_features,) if self.covariance_type == "diag" else ()

    def _check_init_arrays(self, n_features):
        """The priors given as parameters, checked against ``n_features``
        (scikit-learn's messages); the data-dependent defaults come later."""
        model = self._covariance
        t = self.covariance_type
        mean = None if self.mean_prior is None else _as_float_array(
            self.mean_prior, "means", (n_features,))
        dof = self.degrees_of_freedom_prior
        if dof is not None and not dof > n_features - 1.0:
            raise ValueError(
                "The parameter 'degrees_of_freedom_prior' should be greater than "
                f"{n_features - 1}, but got {dof:.3f}.")
        cov = self.covariance_prior
        if cov is not None:
            cov = _as_float_array(cov, f"{t} covariance_prior",
                                  self._covariance_prior_shape(n_features))
            check_definite(cov, t, [cov] if model.matrix else None)
            if t == "spherical":
                cov = float(cov)
        return mean, cov

    def _priors(self, source, given):
        """The fit's priors: the given ones, the data's mean and covariance
        (one or two passes over the source) for those left to None."""
        mean_given, cov_given = given
        d = source.n_features
        alpha0 = (1.0 / self.n_components if self.weight_concentration_prior is None
                  else float(self.weight_concentration_prior))
        beta0 = 1.0 if self.mean_precision_prior is None \
            else float(self.mean_precision_prior)
        nu0 = float(d) if self.degrees_of_freedom_prior is None \
            else float(self.degrees_of_freedom_prior)
        mean = cov = None
        if mean_given is None or cov_given is None:
            mean, var = column_mean_var(source)
        if cov_given is None:
            W = source.total_weight
            # ddof=1 as np.cov / np.var: an integer sample weight counts as
            # that many repeated rows
            if not W > 1.0:
                raise ValueError(
                    "The default covariance_prior (the data covariance with ddof=1) "
                    f"needs a total sample weight above 1, got {W!r}: pass "
                    "covariance_prior or rescale sample_weight.")
            if self._covariance.matrix:
                cov = self._data_scatter(source, mean) / (W - 1.0)
            else:
                cov = var * (W / (W - 1.0))
                if self.covariance_type == "spherical":
                    cov = float(cov.mean())
        else:
            cov = cov_given
        if mean_given is not None:
            mean = mean_given
        return _Priors(alpha0, beta0, np.asarray(mean, dtype=np.float64), nu0, cov)

    def _data_scatter(self, source, mean):
        """``sum_i s_i (x_i - mean)(x_i - mean)^T`` in one kernel pass: a
        single full component (every responsibility is 1) centred on
        ``mean``, moved exactly to ``mean`` in float64."""
        d, dtype = source.n_features, source.dtype
        full = covariance_model("full")
        centre = np.ascontiguousarray(mean[None, :], dtype=dtype)
        prec = np.eye(d, dtype=dtype).ravel()
        N, S1, S2 = np.empty(1), np.empty((1, d)), np.empty(full.s2_size(1, d))
        source.em_statistics(centre, prec, np.zeros(1), centre[0], full.code,
                             self._use_blas(d), self._n_threads_fit, N, S1, S2)
        s = S1[0] - N[0] * centre[0].astype(np.float64)
        delta = mean - centre[0].astype(np.float64)
        scatter = S2.reshape(d, d) - np.outer(delta, s) - np.outer(s, delta) \
            + N[0] * np.outer(delta, delta)
        return symmetrize(scatter)

    def _fit_source(self, source, feature_names, n_threads, partitions=None):
        given = self._check_init_arrays(source.n_features)
        self._n_threads_fit = n_threads
        try:
            self._fit_priors = self._priors(source, given)
            super()._fit_source(source, feature_names, n_threads, partitions)
        finally:
            self.__dict__.pop("_fit_priors", None)
            self.__dict__.pop("_n_threads_fit", None)

    # --------------------------------------------------------------- updates
    def _update(self, N, S1, S2, centers, center, dtype):
        """The variational M-step (Bishop 10.58-10.63, scikit-learn's
        normalisation) from one pass's statistics; float64 throughout, the
        precision factors then cast to ``dtype``."""
        pr = self._fit_priors
        model = self._covariance
        K = self.n_components
        # scikit-learn's _estimate_gaussian_parameters: 10 eps on N_k, the
        # empirical covariances with reg_covar on the diagonal
        nk = N + 10 * np.finfo(dtype).eps
        xk = S1 / nk[:, None]
        sk = model.covariances(N, S1, S2, nk, xk, centers, center, self.reg_covar,
                               np.float64)
        if self._process:
            tail = np.hstack((np.cumsum(nk[::-1])[-2::-1], 0.0))
            concentration = (1.0 + nk, pr.weight_concentration + tail)
        else:
            concentration = pr.weight_concentration + nk
        beta = pr.mean_precision + nk
        means = (pr.mean_precision * pr.mean + nk[:, None] * xk) / beta[:, None]
        diff = xk - pr.mean
        shrink = pr.mean_precision / beta
        t = self.covariance_type
        if t == "full":
            dof = pr.degrees_of_freedom + nk
            cov = np.empty_like(sk)
            for k in range(K):
                cov[k] = pr.covariance + nk[k] * sk[k] + \
                    nk[k] * shrink[k] * np.outer(diff[k], diff[k])
                cov[k] /= dof[k]
        elif t == "tied":
            n_bar = nk.sum() / K
            dof = pr.degrees_of_freedom + n_bar
            cov = pr.covariance + sk * n_bar + \
                pr.mean_precision / K * ((nk / beta) * diff.T) @ diff
            cov /= dof
        elif t == "diag":
            dof = pr.degrees_of_freedom + nk
            cov = pr.covariance + nk[:, None] * (sk + shrink[:, None] * diff ** 2)
            cov /= dof[:, None]
        else:
            dof = pr.degrees_of_freedom + nk
            cov = pr.covariance + nk * (sk + shrink * np.mean(diff ** 2, axis=1))
            cov /= dof
        if model.matrix:
            symmetrize(cov)
        prec_chol = precision_cholesky(cov, t, dtype).astype(dtype, copy=False)
        return _BayesParams(concentration, beta, means, dof, cov, prec_chol)

    def _log_weights(self, concentration):
        """``E[log pi_k]`` under the Dirichlet or the stick-breaking posterior."""
        if self._process:
            a, b = concentration
            dg_sum = digamma(a + b)
            return digamma(a) - dg_sum + np.hstack(
                (0.0, np.cumsum(digamma(b) - dg_sum)[:-1]))
        return digamma(concentration) - digamma(np.sum(concentration))

    def _log_normalisers(self, params):
        """The kernels' per-component constant: expected log-weight, log |P_k|,
        -d/2 log(2 pi) and the Wishart/Gaussian expectations."""
        d = params.means.shape[1]
        dof = params.degrees_of_freedom
        log_det = self._covariance.log_det_cholesky(params.prec_chol, d)
        const = (-0.5 * d * np.log(dof)
                 + 0.5 * (_log_lambda(dof, d) - d / params.mean_precision))
        c = self._log_weights(params.weight_concentration) + log_det \
            - 0.5 * d * _LOG_2PI + const
        return np.ascontiguousarray(np.broadcast_to(c, (self.n_components,)),
                                    dtype=np.float64)

    def _weights(self, concentration):
        """``weights_``: expected weights, normalised (scikit-learn's)."""
        if self._process:
            a, b = concentration
            total = a + b
            w = a / total * np.hstack((1.0, np.cumprod(b / total)[:-1]))
            return w / w.sum()
        return concentration / np.sum(concentration)

    def _quadratic(self, params, N, S1, S2, means, center):
        """``sum_k Q_k``: the responsibility-weighted squared Mahalanobis
        distances of the pass, from its statistics (see the module docstring)."""
        model = self._covariance
        K, d = means.shape
        m = np.asarray(means, dtype=np.float64)
        chol = np.asarray(params.prec_chol, dtype=np.float64)
        if not model.matrix:
            prec = model.stack(chol) ** 2                      # (K, d) or (K, 1)
            return float(np.sum(prec * S2.reshape(K, d)))
        if model.per_component:
            S2 = S2.reshape(K, d, d)
            return float(sum(np.sum((S2[k] @ chol[k]) * chol[k]) for k in range(K)))
        c = np.asarray(center, dtype=np.float64)
        prec = chol @ chol.T
        s = S1 - N[:, None] * c
        delta = m - c
        pd = delta @ prec
        return float(np.sum(prec * S2.reshape(d, d)) - 2 * np.sum(s * pd)
                     + np.sum(N * np.sum(delta * pd, axis=1)))

    # ------------------------------------------------------------- core hooks
    def _kernel_args(self, params, dtype):
        means = np.ascontiguousarray(params.means, dtype=dtype)
        prec = np.ascontiguousarray(params.prec_chol, dtype=dtype).ravel()
        if params.log_norm is None:
            params.log_norm = self._log_normalisers(params)
        w = self._weights(params.weight_concentration)
        center = np.ascontiguousarray(w @ np.asarray(params.means, dtype=np.float64),
                                      dtype=dtype)
        return means, prec, params.log_norm, center

    def _loop_statistics(self, n_features, dtype):
        K = self.n_components
        return (np.empty(K), np.empty((K, n_features)),
                np.empty(self._covariance.s2_size(K, n_features)))

    def _m_step(self, N, S1, S2, means, center, dtype, reuse=None):
        new = self._update(N, S1, S2, means, center, dtype)
        if reuse is not None:
            # sum_ik s_i r_ik log p_ik under the parameters the pass ran with
            new.expected_log_prob = float(N @ reuse.log_norm) - 0.5 * self._quadratic(
                reuse, N, S1, S2, means, center)
        return new

    def _lower_bound(self, log_likelihood, source, params):
        """scikit-learn's lower bound: the responsibilities' entropy from the
        pass and the posterior's normalisers from the new parameters."""
        d = params.means.shape[1]
        r_log_r = params.expected_log_prob - log_likelihood
        dof = params.degrees_of_freedom
        log_det = self._covariance.log_det_cholesky(params.prec_chol, d) \
            - 0.5 * d * np.log(dof)
        wishart = _log_wishart_norm(dof, log_det, d)
        log_wishart = (self.n_components * float(wishart)
                       if self.covariance_type == "tied" else float(np.sum(wishart)))
        if self._process:
            log_norm_weight = -float(np.sum(betaln(*params.weight_concentration)))
        else:
            wc = params.weight_concentration
            log_norm_weight = float(gammaln(np.sum(wc)) - np.sum(gammaln(wc)))
        return (-r_log_r - log_wishart - log_norm_weight
                - 0.5 * d * float(np.sum(np.log(params.mean_precision))))

    def _initial_params(self, source, init_arrays, random_state, n_threads, use_blas,
                        partition=None):
        N, S1, S2, centers, center = initial_statistics(
            source, self.n_components, self.covariance_type, self.init_params,
            random_state, n_threads, use_blas, partition)
        return self._update(N, S1, S2, centers, center, source.dtype)

    def _warm_params(self, dtype):
        wc = self.weight_concentration_
        wc = tuple(np.array(a, dtype=np.float64) for a in wc) if self._process \
            else np.array(wc, dtype=np.float64)
        return _BayesParams(wc, np.array(self.mean_precision_, dtype=np.float64),
                            np.array(self.means_, dtype=np.float64),
                            np.array(self.degrees_of_freedom_, dtype=np.float64),
                            np.array(self.covariances_, dtype=np.float64),
                            np.array(self.precisions_cholesky_, dtype=dtype))

    def _fitted_params(self):
        return _BayesParams(self.weight_concentration_, self.mean_precision_,
                            self.means_, self.degrees_of_freedom_, self.covariances_,
                            self.precisions_cholesky_)

    def _set_fitted(self, params, n_features, feature_names):
        # everything that can fail first: a failed fit changes no attribute
        dtype = params.prec_chol.dtype
        pr = self._fit_priors
        precisions = precisions_from_cholesky(params.prec_chol, self.covariance_type)
        weights = self._weights(params.weight_concentration).astype(dtype)
        means = params.means.astype(dtype)
        cov = params.covariances.astype(dtype)
        dof = params.degrees_of_freedom
        dof = float(dof) if np.ndim(dof) == 0 else dof
        cov_prior = pr.covariance if np.ndim(pr.covariance) == 0 else \
            np.asarray(pr.covariance, dtype=dtype)
        self.weights_ = weights
        self.means_ = means
        self.covariances_ = cov
        self.precisions_cholesky_ = params.prec_chol
        self.precisions_ = precisions
        self.weight_concentration_ = params.weight_concentration
        self.mean_precision_ = params.mean_precision
        self.degrees_of_freedom_ = dof
        self.weight_concentration_prior_ = pr.weight_concentration
        self.mean_precision_prior_ = pr.mean_precision
        self.mean_prior_ = pr.mean.astype(dtype)
        self.degrees_of_freedom_prior_ = pr.degrees_of_freedom
        self.covariance_prior_ = cov_prior
        self.n_features_in_ = n_features
        if feature_names is not None:
            self.feature_names_in_ = feature_names
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_

    # ------------------------------------------------------------- criteria
    def effective_components(self, threshold=EFFECTIVE_WEIGHT):
        """Indices of the components the fit uses: ``weights_ >= threshold``.

        The variational posterior drives the weights of components the data
        does not need towards zero, so their number is the model's answer to
        "how many components" (no grid over ``n_components`` is needed).

        Returns
        -------
        indices : ndarray of int, ascending
        """
        check_is_fitted(self)
        return np.flatnonzero(np.asarray(self.weights_, dtype=np.float64) >= threshold)

    # ---------------------------------------------------- persistence state
    _STATE_SCALARS = ("weight_concentration_prior_", "mean_precision_prior_",
                      "degrees_of_freedom_prior_")

    def _saved_state(self):
        """Arrays and scalars :func:`fastgmm.load` needs to restore the
        posterior (``_persistence``)."""
        check_is_fitted(self)
        wc = self.weight_concentration_
        arrays = {
            "weight_concentration_": np.vstack(wc) if self._process else
            np.asarray(wc, dtype=np.float64),
            "mean_precision_": np.asarray(self.mean_precision_, dtype=np.float64),
            "degrees_of_freedom_": np.asarray(self.degrees_of_freedom_,
                                              dtype=np.float64),
            "mean_prior_": np.asarray(self.mean_prior_),
            "covariance_prior_": np.asarray(self.covariance_prior_),
        }
        scalars = {n: float(getattr(self, n)) for n in self._STATE_SCALARS}
        return arrays, scalars

    def _restore_state(self, arrays, scalars, n_features):
        """Check and set what :meth:`_saved_state` wrote; raises ValueError."""
        K, d = self.n_components, n_features
        model = self._covariance
        tied = not model.per_component
        expected = {
            "weight_concentration_": (2, K) if self._process else (K,),
            "mean_precision_": (K,),
            "degrees_of_freedom_": () if tied else (K,),
            "mean_prior_": (d,),
            "covariance_prior_": self._covariance_prior_shape(d),
        }
        state = {}
        for name, shape in expected.items():
            a = arrays.get(name)
            if a is None:
                raise ValueError(f"missing array {name}")
            if a.shape != tuple(shape) or a.dtype.kind != "f" or \
                    not np.all(np.isfinite(a)):
                raise ValueError(f"{name} must be finite floats of shape "
                                 f"{tuple(shape)}")
            state[name] = a
        for name in ("weight_concentration_", "mean_precision_",
                     "degrees_of_freedom_"):
            if np.any(state[name] <= 0):
                raise ValueError(f"{name} must be positive")
        if np.any(state["degrees_of_freedom_"] <= d - 1):
            raise ValueError(f"degrees_of_freedom_ must exceed {d - 1}")
        for name in self._STATE_SCALARS:
            v = scalars.get(name)
            if not isinstance(v, (int, float)) or isinstance(v, bool) or \
                    not (math.isfinite(v) and v > 0):
                raise ValueError(f"{name} must be a positive number")
        if model.matrix:
            try:
                linalg.cholesky(state["covariance_prior_"].astype(np.float64))
            except linalg.LinAlgError:
                raise ValueError("covariance_prior_ is not positive definite") \
                    from None
        elif np.any(state["covariance_prior_"] <= 0):
            raise ValueError("covariance_prior_ must be positive")
        wc = state["weight_concentration_"]
        self.weight_concentration_ = (wc[0].copy(), wc[1].copy()) if self._process \
            else wc
        self.mean_precision_ = state["mean_precision_"]
        dof = state["degrees_of_freedom_"]
        self.degrees_of_freedom_ = float(dof) if tied else dof
        self.mean_prior_ = state["mean_prior_"]
        cp = state["covariance_prior_"]
        self.covariance_prior_ = float(cp) if cp.ndim == 0 else cp
        for name in self._STATE_SCALARS:
            setattr(self, name, float(scalars[name]))
