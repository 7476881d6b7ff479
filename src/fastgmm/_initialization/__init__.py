"""Initial parameters: the initial responsibilities' sufficient statistics.

scikit-learn's four initialisations and fastgmm's 'hierarchical', grouped by
what they compute:

* ``kmeans``: fastgmm's k-means (k-means++ seeding on a bounded sample,
  Lloyd iterations on all rows) and k-means++ / random seed rows;
* ``hierarchical``: Ward partitions of a bounded random sample;
* this module: the initial partition and the statistics of the initial
  responsibilities, from which the estimator's M-step makes its starting
  parameters.

Everything reads the data through a row source (``_sources``).
"""

import numpy as np

from .._covariance import covariance_model
from .._sources import ArraySource
from .hierarchical import hierarchical_partition
from .kmeans import column_mean_var, kmeans, nearest_centers, seed_rows

__all__ = ["column_mean_var", "initial_partition", "initial_statistics", "kmeans",
           "nearest_centers"]


def initial_partition(X, sample_weight, n_components, init_params, random_state,
                      n_threads):
    """The initial hard partition of 'kmeans' or 'hierarchical' for in-memory
    ``X`` and its validated ``sample_weight``.

    It does not depend on the covariance type, so model selection computes
    it once per number of components and shares it (see ``_selection``).

    Returns
    -------
    centers : ndarray (n_components, d), X's dtype
    labels : ndarray (n_samples,) int32, or None for "nearest centre"
        ('kmeans' assigns chunk by chunk and stores no labels).
    """
    if init_params == "kmeans":
        return kmeans(ArraySource(X, sample_weight), n_components, random_state,
                      n_threads), None
    if init_params == "hierarchical":
        return hierarchical_partition(X, sample_weight, n_components, random_state,
                                      n_threads)
    raise ValueError(f"init_params {init_params!r} has no hard partition")


def initial_statistics(source, n_components, covariance_type, init_params,
                       random_state, n_threads, use_blas, partition=None):
    """Sufficient statistics of scikit-learn's initial responsibilities.

    'kmeans' (fastgmm's k-means labels), 'hierarchical' (Ward on a sample,
    see ``hierarchical``), 'k-means++' and 'random_from_data' (one row per
    component), 'random' (uniform random responsibilities, normalised per
    row, drawn chunk by chunk in scikit-learn's order).  ``partition``, a
    precomputed ``initial_partition`` result, replaces the 'kmeans' or
    'hierarchical' clustering (``random_state`` is then not used).

    Parameters
    ----------
    source : row source (``_sources``) of the data and sample weights

    Returns
    -------
    N, S1, S2, centers, center : the statistics (float64) and the centres
    their second moments are taken about (see ``_em.em_statistics``).
    """
    d = source.n_features
    K = n_components
    cov_code = covariance_model(covariance_type).code
    dtype = source.dtype

    if init_params in ("k-means++", "random_from_data"):
        indices = seed_rows(source, K, init_params, random_state, n_threads)
        rows, w = source.take(indices)
        rows = rows.astype(np.float64)
        w = w.astype(np.float64) if w.shape[0] else np.ones(K)
        N = w.copy()
        S1 = rows * w[:, None]
        S2 = np.zeros(covariance_model(covariance_type).s2_size(K, d))
        # one row per component: zero scatter about itself (full, diag); the
        # tied scatter is about one centre
        centers = rows.astype(dtype)
        center = np.ascontiguousarray(centers.mean(axis=0))
        if not covariance_model(covariance_type).per_component:
            dev = rows - center.astype(np.float64)
            S2[:] = ((dev * w[:, None]).T @ dev).ravel()
        return N, S1, S2, centers, center

    if init_params in ("kmeans", "hierarchical"):
        if partition is None and init_params == "hierarchical":
            if not hasattr(source, "X"):
                raise ValueError("init_params='hierarchical' needs the data as one "
                                 "in-memory or memory-mapped array")
            partition = initial_partition(source.X, source.sample_weight, K,
                                          init_params, random_state, n_threads)
        if partition is None:
            partition = (kmeans(source, K, random_state, n_threads), None)
        centers, all_labels = partition
        center = np.ascontiguousarray(centers.mean(axis=0), dtype=dtype)
        if all_labels is None:
            # final hard assignment, chunk by chunk: no n_samples label array
            N, S1, S2 = source.label_statistics(centers, center, cov_code, use_blas,
                                                n_threads)
        else:
            # hierarchical: the given labels, chunk by chunk in row order
            seen = [0]

            def given(X, sw):
                i0 = seen[0]
                seen[0] += X.shape[0]
                return {"labels": all_labels[i0:seen[0]]}

            N, S1, S2 = source._given_statistics(cov_code, K, centers, center,
                                                 use_blas, n_threads, given)
        return N, S1, S2, centers, center

    if init_params == "random":
        # Random responsibilities average out near the data mean: centre the
        # second moments there (any centre is exact; this one is stable).
        mean, _ = column_mean_var(source)
        centers = np.ascontiguousarray(np.broadcast_to(mean, (K, d)), dtype=dtype)
        center = np.ascontiguousarray(mean, dtype=dtype)
        N, S1, S2 = source.random_statistics(random_state, centers, center, cov_code,
                                             use_blas, n_threads)
        return N, S1, S2, centers, center

    raise ValueError(f"unknown init_params {init_params!r}")
