"""The covariance models: every fact about a covariance type, in one table.

A covariance model says how big its parameters and statistics are, how many
free parameters it has, which kernel code the compiled passes know it by,
and how its covariances follow from one pass's sufficient statistics (the
M-step).  Every other module asks :data:`MODELS` (or
:func:`covariance_model`) instead of testing the type's name; adding a
covariance model means adding one class here (and its kernel code).

The statistics of a pass (``_kernels``) are ``N_k = sum_i s_i r_ik``,
``S1_k = sum_i s_i r_ik x_i`` and second moments centred on the means the
pass ran with (``centers``, or one ``center`` for 'tied')::

    full       S2_k = sum_i s_i r_ik (x_i - m_k)(x_i - m_k)^T      (K, d, d)
    tied       S2   = sum_i s_i (x_i - c)(x_i - c)^T                (d, d)
    diag/sph.  S2_k = sum_i s_i r_ik (x_i - m_k)**2                 (K, d)

Moving them to the new means ``mu`` is the exact shift (with
``s = S1 - N c`` and ``delta = mu - c``)::

    sum_i r_i (x_i - mu)(x_i - mu)^T = S2 - delta s^T - s delta^T + N delta delta^T
"""

import numpy as np

from ._dispatch import em as _em


def symmetrize(mats):
    """Make each trailing d x d matrix exactly symmetric, in place.

    ``(A + A^T) / 2`` is exactly symmetric in IEEE arithmetic (addition
    commutes), and moves entries only by the rounding the products that
    built ``A`` left (``S2 - delta s^T - s delta^T`` and ``P P^T`` are
    symmetric in exact arithmetic only).  A fitted model is then exactly
    symmetric, as a saved model file must be.
    """
    # one matrix at a time: numpy buffers an overlapping transpose, and a
    # buffer of the whole stack would be one more model-sized array
    for m in mats.reshape(-1, *mats.shape[-2:]):
        np.add(m, m.T, out=m)
        m *= 0.5
    return mats


class CovarianceModel:
    """One covariance type.

    Attributes
    ----------
    name : str
        The ``covariance_type`` string.
    code : int
        The kernels' code for it (``_em.COVARIANCE_TYPES``).
    matrix : bool
        Whether its parameters are d x d matrices ('full', 'tied'): their
        precision factors are triangular, not elementwise square roots.
    per_component : bool
        Whether each component has its own covariance (all but 'tied').
    """

    name = None
    matrix = False
    per_component = True

    @property
    def code(self):
        return _em.COVARIANCE_TYPES[self.name]

    def shape(self, n_components, n_features):
        """Shape of ``covariances_``, ``precisions_`` and ``precisions_cholesky_``."""
        raise NotImplementedError

    def size(self, n_components, n_features):
        """Number of values in one of those arrays (flat, as the kernels take them)."""
        return int(np.prod(self.shape(n_components, n_features)))

    def s2_size(self, n_components, n_features):
        """Length of the flat second-moment statistic ``S2`` of one pass."""
        return self.size(n_components, n_features) if self.matrix \
            else n_components * n_features

    def stack(self, a):
        """A view of a parameter array with one leading entry per distinct
        covariance: (K, d, d) 'full', (1, d, d) 'tied', (K, d) 'diag',
        (K, 1) 'spherical'."""
        a = np.asarray(a)
        return a.reshape(a.shape[0], -1)

    def unstack(self, a):
        """The inverse of :meth:`stack` (a view)."""
        return a

    def dense(self, covariances, n_components, n_features):
        """(K, d, d) float64 matrices, one per component (a view where it can be)."""
        raise NotImplementedError

    def n_covariance_parameters(self, n_components, n_features):
        """Free parameters of the covariances."""
        raise NotImplementedError

    def n_parameters(self, n_components, n_features):
        """Free parameters of the mixture (for BIC/AIC): covariances, means
        and the weights (which sum to 1)."""
        K, d = n_components, n_features
        return self.n_covariance_parameters(K, d) + d * K + K - 1

    def log_det_cholesky(self, prec_chol, n_features):
        """``log |P_k|`` per component (float64; a scalar for 'tied')."""
        raise NotImplementedError

    def covariances(self, N, S1, S2, nk, means, centers, center, reg_covar, dtype,
                    out=None):
        """The M-step's covariances from one pass's statistics.

        ``nk`` is ``N`` plus scikit-learn's ``10 eps``, ``means`` the new
        means (float64).  ``out`` ('full'/'tied'): where to write them, which
        may share memory with ``S2`` (each matrix is read before its own slot
        is written).  Returns ``dtype`` matrices for 'full'/'tied', float64
        otherwise.
        """
        raise NotImplementedError


class Full(CovarianceModel):
    """Each component has its own covariance matrix."""

    name = "full"
    matrix = True

    def stack(self, a):
        return a

    def unstack(self, a):
        return a

    def dense(self, covariances, n_components, n_features):
        return np.asarray(covariances, dtype=np.float64)

    def shape(self, n_components, n_features):
        return (n_components, n_features, n_features)

    def n_covariance_parameters(self, n_components, n_features):
        return n_components * n_features * (n_features + 1) // 2

    def log_det_cholesky(self, prec_chol, n_features):
        # the diagonals only are converted: a float64 copy of float32 'full'
        # factors would be twice the model's size
        diag = np.diagonal(prec_chol, axis1=1, axis2=2).astype(np.float64)
        return np.log(diag).sum(axis=1)

    def covariances(self, N, S1, S2, nk, means, centers, center, reg_covar, dtype,
                    out=None):
        K, d = S1.shape
        diag = np.arange(d), np.arange(d)
        centers = np.asarray(centers, dtype=np.float64)
        s = S1 - N[:, None] * centers
        delta = means - centers
        S2 = S2.reshape(K, d, d)
        cov = np.empty((K, d, d), dtype=dtype) if out is None else out
        # one component at a time: temporaries of d x d, not K x d x d
        tmp = np.empty((d, d))
        for k in range(K):
            ds = np.outer(delta[k], s[k])
            np.subtract(S2[k], ds, out=tmp)
            tmp -= ds.T
            tmp += N[k] * np.outer(delta[k], delta[k])
            tmp /= nk[k]
            tmp[diag] += reg_covar
            symmetrize(tmp)
            cov[k] = tmp
        return cov


class Tied(CovarianceModel):
    """All components share one covariance matrix."""

    name = "tied"
    matrix = True
    per_component = False

    def stack(self, a):
        return a[None]

    def unstack(self, a):
        return a[0]

    def dense(self, covariances, n_components, n_features):
        d = n_features
        return np.broadcast_to(np.asarray(covariances, dtype=np.float64),
                               (n_components, d, d))

    def shape(self, n_components, n_features):
        return (n_features, n_features)

    def n_covariance_parameters(self, n_components, n_features):
        return n_features * (n_features + 1) // 2

    def log_det_cholesky(self, prec_chol, n_features):
        return np.log(np.diag(np.asarray(prec_chol, dtype=np.float64))).sum()

    def covariances(self, N, S1, S2, nk, means, centers, center, reg_covar, dtype,
                    out=None):
        d = S1.shape[1]
        diag = np.arange(d), np.arange(d)
        c = np.asarray(center, dtype=np.float64)
        s = S1 - N[:, None] * c
        delta = means - c
        tmp = (S2.reshape(d, d) - delta.T @ s - s.T @ delta
               + (N[:, None] * delta).T @ delta)
        tmp /= nk.sum()
        tmp[diag] += reg_covar
        symmetrize(tmp)
        cov = np.empty((d, d), dtype=dtype) if out is None else out
        cov[...] = tmp
        return cov


class Diag(CovarianceModel):
    """Each component has a diagonal covariance."""

    name = "diag"

    def dense(self, covariances, n_components, n_features):
        return np.asarray(covariances, dtype=np.float64)[:, :, None] * np.eye(n_features)

    def shape(self, n_components, n_features):
        return (n_components, n_features)

    def n_covariance_parameters(self, n_components, n_features):
        return n_components * n_features

    def log_det_cholesky(self, prec_chol, n_features):
        return np.log(np.asarray(prec_chol, dtype=np.float64)).sum(axis=1)

    def _variances(self, N, S1, S2, nk, means, centers, reg_covar):
        K, d = S1.shape
        centers = np.asarray(centers, dtype=np.float64)
        s = S1 - N[:, None] * centers
        delta = means - centers
        cov = (S2.reshape(K, d) - 2 * delta * s + N[:, None] * delta * delta)
        cov /= nk[:, None]
        cov += reg_covar
        return cov

    def covariances(self, N, S1, S2, nk, means, centers, center, reg_covar, dtype,
                    out=None):
        return self._variances(N, S1, S2, nk, means, centers, reg_covar)


class Spherical(Diag):
    """Each component has a single variance (the mean of its diagonal)."""

    name = "spherical"

    def unstack(self, a):
        return a.reshape(a.shape[0])

    def dense(self, covariances, n_components, n_features):
        return np.asarray(covariances, dtype=np.float64)[:, None, None] * \
            np.eye(n_features)

    def shape(self, n_components, n_features):
        return (n_components,)

    def n_covariance_parameters(self, n_components, n_features):
        return n_components

    def log_det_cholesky(self, prec_chol, n_features):
        return n_features * np.log(np.asarray(prec_chol, dtype=np.float64))

    def covariances(self, N, S1, S2, nk, means, centers, center, reg_covar, dtype,
                    out=None):
        return self._variances(N, S1, S2, nk, means, centers, reg_covar).mean(axis=1)


#: name -> model, in scikit-learn's order of ``covariance_type`` values.
MODELS = {m.name: m for m in (Full(), Tied(), Diag(), Spherical())}
#: The ``covariance_type`` values.
COVARIANCE_TYPES = tuple(MODELS)


def covariance_model(covariance_type):
    """The model of a (validated) ``covariance_type`` name."""
    return MODELS[covariance_type]


def model_of_code(code):
    """The model the kernels call ``code``."""
    for model in MODELS.values():
        if model.code == code:
            return model
    raise ValueError(f"unknown covariance code {code!r}")
