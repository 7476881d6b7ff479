"""Initial parameters: fastgmm's own k-means, k-means++ and random inits.

Every routine passes over the data in chunks through the compiled kernels
and allocates nothing of size n_samples x n_components or
n_samples x n_features (vectors of length n_samples only).
"""

import numpy as np

from ._dispatch import em as _em, kmeans as _kmeans

# Rows per Python-level chunk (random responsibilities, k-means labels,
# moments): keeps every temporary of an initialisation far below the data.
INIT_CHUNK = 4096
# 'kmeans' seeds k-means++ on a uniform random sample of at most
# max(KMEANS_SEED_MIN, KMEANS_SEED_PER_CLUSTER * n_clusters) rows (with their
# sample weights); Lloyd's iterations then run on all rows.
KMEANS_SEED_MIN = 2048
KMEANS_SEED_PER_CLUSTER = 100


def _weights_or_ones(sample_weight, n_samples):
    if sample_weight.shape[0] == 0:
        return np.ones(n_samples, dtype=np.float64)
    return sample_weight.astype(np.float64)


def column_mean_var(X, sample_weight, chunk=INIT_CHUNK):
    """Weighted per-feature mean and variance, chunk by chunk (two passes)."""
    n, d = X.shape
    sw = sample_weight
    total = float(sw.sum()) if sw.shape[0] else float(n)
    s = np.zeros(d)
    for i0 in range(0, n, chunk):
        xc = X[i0:i0 + chunk]
        s += (sw[i0:i0 + chunk] @ xc) if sw.shape[0] else xc.sum(axis=0, dtype=np.float64)
    mean = s / total
    v = np.zeros(d)
    for i0 in range(0, n, chunk):
        dc = X[i0:i0 + chunk] - mean
        v += (sw[i0:i0 + chunk] @ (dc * dc)) if sw.shape[0] else (dc * dc).sum(axis=0)
    return mean, v / total


def kmeans_plusplus(X, n_clusters, sample_weight, random_state, n_threads):
    """Greedy k-means++ seeding (scikit-learn's scheme), chunked and parallel.

    Each new centre is the best of ``2 + log(k)`` candidates drawn with
    probability proportional to ``s_i D(x_i)^2``.

    Returns
    -------
    centers : ndarray (n_clusters, d), X's dtype
    indices : ndarray (n_clusters,) rows chosen as centres
    """
    n, d = X.shape
    w = _weights_or_ones(sample_weight, n)
    n_local_trials = 2 + int(np.log(n_clusters))
    indices = np.empty(n_clusters, dtype=np.intp)
    indices[0] = random_state.choice(n, p=w / w.sum())
    closest = np.full(n, np.inf)
    _kmeans.update_min_sq_distances(X, X[indices[0]], closest, n_threads)
    current_pot = float(w @ closest)
    potentials = np.empty(n_local_trials)
    for c in range(1, n_clusters):
        rand_vals = random_state.uniform(size=n_local_trials) * current_pot
        cumulative = np.cumsum(w * closest)
        candidates = np.searchsorted(cumulative, rand_vals)
        np.clip(candidates, None, n - 1, out=candidates)
        _kmeans.min_sq_distances(X, sample_weight, np.ascontiguousarray(X[candidates]),
                                 closest, potentials, n_threads)
        best = int(np.argmin(potentials))
        current_pot = float(potentials[best])
        indices[c] = candidates[best]
        _kmeans.update_min_sq_distances(X, X[indices[c]], closest, n_threads)
    return np.ascontiguousarray(X[indices]), indices


def kmeans(X, n_clusters, sample_weight, random_state, n_threads,
           max_iter=300, tol=1e-4):
    """Lloyd's k-means from k-means++ seeds, weighted, chunked and parallel.

    The k-means++ seeds are chosen on a uniform random subsample of at most
    ``max(2048, 100 * n_clusters)`` rows (all rows when there are fewer), so seeding
    needs no n_samples-sized buffers; the Lloyd iterations use every row.
    They stop when the squared shift of the centres falls below ``tol``
    times the mean feature variance (scikit-learn's rule) or after
    ``max_iter`` iterations.  Empty clusters are re-seeded on a random row.

    Returns
    -------
    centers : ndarray (n_clusters, d), X's dtype
    """
    n, d = X.shape
    _, var = column_mean_var(X, sample_weight)
    tol_abs = float(np.mean(var)) * tol
    n_seed = max(KMEANS_SEED_MIN, KMEANS_SEED_PER_CLUSTER * n_clusters)
    if n > n_seed:
        rows = np.unique(random_state.randint(0, n, size=n_seed))
        sub = np.ascontiguousarray(X[rows])
        sub_w = sample_weight[rows] if sample_weight.shape[0] else sample_weight
        if sub_w.shape[0] and not sub_w.sum() > 0:
            sub_w = np.ones_like(sub_w)
        centers, _ = kmeans_plusplus(sub, n_clusters, sub_w, random_state, n_threads)
    else:
        centers, _ = kmeans_plusplus(X, n_clusters, sample_weight, random_state,
                                     n_threads)
    sums = np.empty((n_clusters, d))
    wsum = np.empty(n_clusters)
    for _ in range(max_iter):
        _kmeans.lloyd_iteration(X, sample_weight, centers, sums, wsum, None, n_threads)
        empty = wsum <= 0
        new = sums / np.where(empty, 1.0, wsum)[:, None]
        if np.any(empty):
            new[empty] = X[random_state.randint(0, n, size=int(empty.sum()))]
        new = new.astype(X.dtype)
        shift = float(((new.astype(np.float64) - centers) ** 2).sum())
        centers = np.ascontiguousarray(new)
        if shift <= tol_abs:
            break
    return centers


def nearest_centers(X, sample_weight, centers, n_threads):
    """Index of the nearest centre for every row (chunked, parallel kernel).

    No n_samples x n_clusters array: the kernel keeps one chunk of
    distances per thread.

    Returns
    -------
    labels : ndarray (n_samples,) int32
    """
    K, d = centers.shape
    labels = np.empty(X.shape[0], dtype=np.int32)
    _kmeans.lloyd_iteration(X, sample_weight, np.ascontiguousarray(centers, dtype=X.dtype),
                            np.empty((K, d)), np.empty(K), labels, n_threads)
    return labels


def initial_partition(X, sample_weight, n_components, init_params, random_state,
                      n_threads):
    """The initial hard partition of 'kmeans' or 'hierarchical'.

    It does not depend on the covariance type, so model selection computes
    it once per number of components and shares it (see ``_selection``).

    Returns
    -------
    centers : ndarray (n_components, d), X's dtype
    labels : ndarray (n_samples,) int32, or None for "nearest centre"
        ('kmeans' assigns chunk by chunk and stores no labels).
    """
    if init_params == "kmeans":
        return kmeans(X, n_components, sample_weight, random_state, n_threads), None
    if init_params == "hierarchical":
        from ._hierarchical import hierarchical_partition

        return hierarchical_partition(X, sample_weight, n_components, random_state,
                                      n_threads)
    raise ValueError(f"init_params {init_params!r} has no hard partition")


def initial_statistics(X, sample_weight, n_components, covariance_type, init_params,
                       random_state, n_threads, use_blas, partition=None):
    """Sufficient statistics of scikit-learn's initial responsibilities.

    'kmeans' (fastgmm's k-means labels), 'hierarchical' (Ward on a sample,
    see ``_hierarchical``), 'k-means++' and 'random_from_data' (one row per
    component), 'random' (uniform random responsibilities, normalised per
    row, drawn chunk by chunk in scikit-learn's order).  ``partition``, a
    precomputed ``initial_partition`` result, replaces the 'kmeans' or
    'hierarchical' clustering (``random_state`` is then not used).

    Returns
    -------
    N, S1, S2, centers, center : the statistics (float64) and the centres
    their second moments are taken about (see ``_em.em_statistics``).
    """
    n, d = X.shape
    K = n_components
    cov_code = _em.COVARIANCE_TYPES[covariance_type]
    s2_shape = {"full": K * d * d, "tied": d * d}.get(covariance_type, K * d)
    N = np.zeros(K)
    S1 = np.zeros((K, d))
    S2 = np.zeros(s2_shape)
    # dummy parameters: unused when responsibilities are given
    prec = np.zeros({"full": K * d * d, "tied": d * d, "diag": K * d,
                     "spherical": K}[covariance_type], dtype=X.dtype)
    log_norm = np.zeros(K)

    if init_params in ("k-means++", "random_from_data"):
        if init_params == "k-means++":
            _, indices = kmeans_plusplus(X, K, sample_weight, random_state, n_threads)
        elif sample_weight.shape[0]:
            w = sample_weight.astype(np.float64)
            indices = random_state.choice(n, size=K, replace=False, p=w / w.sum())
        else:
            indices = random_state.choice(n, size=K, replace=False)
        rows = X[indices].astype(np.float64)
        w = sample_weight[indices].astype(np.float64) if sample_weight.shape[0] \
            else np.ones(K)
        N[:] = w
        S1[:] = rows * w[:, None]
        # one row per component: zero scatter about itself (full, diag); the
        # tied scatter is about one centre
        centers = rows.astype(X.dtype)
        center = np.ascontiguousarray(centers.mean(axis=0))
        if covariance_type == "tied":
            dev = rows - center.astype(np.float64)
            S2[:] = ((dev * w[:, None]).T @ dev).ravel()
        return N, S1, S2, centers, center

    n_part, s1_part, s2_part = np.empty(K), np.empty((K, d)), np.empty(s2_shape)

    def weights_of(i0, i1):
        return sample_weight[i0:i1] if sample_weight.shape[0] else sample_weight

    def add_chunk(i0, i1, centers, center, **resp_source):
        _em.em_statistics(X[i0:i1], weights_of(i0, i1), centers, prec, log_norm, center, cov_code,
                          use_blas, n_threads, n_part, s1_part, s2_part,
                          **resp_source)
        N[:] += n_part
        S1[:] += s1_part
        S2[:] += s2_part

    if init_params in ("kmeans", "hierarchical"):
        if partition is None:
            partition = initial_partition(X, sample_weight, K, init_params,
                                          random_state, n_threads)
        centers, all_labels = partition
        center = np.ascontiguousarray(centers.mean(axis=0), dtype=X.dtype)
        # k-means: final hard assignment, chunk by chunk (no n_samples label
        # array); otherwise the given labels (hierarchical, or the labels
        # GaussianMixtureSelector computed once with the same kernel)
        labels = np.empty(min(n, INIT_CHUNK), dtype=np.int32)
        sums, wsum = np.empty((K, d)), np.empty(K)
        for i0 in range(0, n, INIT_CHUNK):
            i1 = min(i0 + INIT_CHUNK, n)
            if all_labels is None:
                _kmeans.lloyd_iteration(X[i0:i1], weights_of(i0, i1), centers, sums,
                                        wsum, labels[:i1 - i0], n_threads)
                chunk_labels = labels[:i1 - i0]
            else:
                chunk_labels = all_labels[i0:i1]
            add_chunk(i0, i1, centers, center, labels=chunk_labels)
        return N, S1, S2, centers, center

    if init_params == "random":
        # Random responsibilities average out near the data mean: centre the
        # second moments there (any centre is exact; this one is stable).
        mean, _ = column_mean_var(X, sample_weight)
        centers = np.ascontiguousarray(np.broadcast_to(mean, (K, d)), dtype=X.dtype)
        center = np.ascontiguousarray(mean, dtype=X.dtype)
        for i0 in range(0, n, INIT_CHUNK):
            i1 = min(i0 + INIT_CHUNK, n)
            resp = random_state.uniform(size=(i1 - i0, K))
            resp /= resp.sum(axis=1)[:, None]
            add_chunk(i0, i1, centers, center,
                      resp=np.ascontiguousarray(resp, dtype=X.dtype))
        return N, S1, S2, centers, center

    raise ValueError(f"unknown init_params {init_params!r}")
