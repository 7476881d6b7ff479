"""fastgmm's own k-means: k-means++ seeding and Lloyd iterations.

Every routine reads the data through a row source (``_sources``): whole
passes in chunks through the compiled kernels, plus a few rows by index.
Nothing of size n_samples x n_components or n_samples x n_features is
allocated (vectors of length n_samples only, and only for 'k-means++' and
weighted 'random_from_data' on sources that hold the data locally).
"""

import numpy as np

from .._dispatch import kmeans as _kmeans
from .._sources import ArraySource

# On large data 'kmeans' seeds k-means++ and lets Lloyd's iterations
# converge on a uniform sample of max(KMEANS_LLOYD_MIN,
# KMEANS_LLOYD_PER_CLUSTER * n_clusters) rows (with their sample weights), at
# most 1/KMEANS_LLOYD_FRACTION of the data (a fit's memory stays a few
# percent of its input), then takes KMEANS_FULL_ITER more iterations on all
# rows.  Where that sample would hold fewer than
# KMEANS_LLOYD_MIN_PER_CLUSTER rows per cluster, it seeds on a sample of at
# most max(KMEANS_SEED_MIN, KMEANS_SEED_PER_CLUSTER * n_clusters) rows and
# Lloyd's iterations converge on all rows.
KMEANS_SEED_MIN = 2048
KMEANS_SEED_PER_CLUSTER = 100
KMEANS_LLOYD_MIN = 32768
KMEANS_LLOYD_PER_CLUSTER = 1024
KMEANS_LLOYD_FRACTION = 32
KMEANS_LLOYD_MIN_PER_CLUSTER = 256
KMEANS_FULL_ITER = 1


def _seed_sample_size(n_clusters):
    return max(KMEANS_SEED_MIN, KMEANS_SEED_PER_CLUSTER * n_clusters)


def _lloyd_sample_size(n_samples, n_clusters):
    """Rows of the sample Lloyd's iterations converge on first, or 0 for
    all rows."""
    n = min(max(KMEANS_LLOYD_MIN, KMEANS_LLOYD_PER_CLUSTER * n_clusters),
            n_samples // KMEANS_LLOYD_FRACTION)
    return n if n >= KMEANS_LLOYD_MIN_PER_CLUSTER * n_clusters else 0


def _sample_source(source, random_state, n_rows):
    """An in-memory ArraySource of a uniform random sample of ``source``'s
    rows (all rows when it has at most ``n_rows``), and the rows taken."""
    n = source.n_samples
    if n > n_rows:
        rows = np.unique(random_state.randint(0, n, size=n_rows))
    else:
        rows = np.arange(n)
    sub, sub_w = source.take(rows)
    if sub_w.shape[0] and not sub_w.sum() > 0:
        sub_w = np.ones_like(sub_w)
    return ArraySource(sub, sub_w), rows


def column_mean_var(source):
    """Weighted per-feature mean and variance, chunk by chunk (two passes)."""
    total = source.total_weight
    mean = source.column_moment() / total
    return mean, source.column_moment(mean) / total


def kmeans_plusplus(source, n_clusters, random_state, n_threads):
    """Greedy k-means++ seeding (scikit-learn's scheme), chunked and parallel.

    Each new centre is the best of ``2 + log(k)`` candidates drawn with
    probability proportional to ``s_i D(x_i)^2``.  Holds three float64
    vectors of length n_samples (weights, distances, their cumulative sum).

    Parameters
    ----------
    source : RowSource that holds row vectors (``holds_row_vectors``)

    Returns
    -------
    centers : ndarray (n_clusters, d), the data's dtype
    indices : ndarray (n_clusters,) rows chosen as centres
    """
    n, d = source.n_samples, source.n_features
    w = source.weights_vector()
    n_local_trials = 2 + int(np.log(n_clusters))
    indices = np.empty(n_clusters, dtype=np.intp)
    centers = np.empty((n_clusters, d), dtype=source.dtype)
    indices[0] = random_state.choice(n, p=w / w.sum())
    centers[0] = source.take(indices[:1])[0][0]
    closest = np.full(n, np.inf)
    source.update_min_sq_distances(centers[0], closest, n_threads)
    current_pot = float(w @ closest)
    potentials = np.empty(n_local_trials)
    for c in range(1, n_clusters):
        rand_vals = random_state.uniform(size=n_local_trials) * current_pot
        cumulative = np.cumsum(w * closest)
        candidates = np.searchsorted(cumulative, rand_vals)
        del cumulative
        np.clip(candidates, None, n - 1, out=candidates)
        cand_rows = source.take(candidates)[0]
        source.min_sq_distances(cand_rows, closest, potentials, n_threads)
        best = int(np.argmin(potentials))
        current_pot = float(potentials[best])
        indices[c] = candidates[best]
        centers[c] = cand_rows[best]
        source.update_min_sq_distances(centers[c], closest, n_threads)
    return centers, indices


def kmeans(source, n_clusters, random_state, n_threads, max_iter=300, tol=1e-4):
    """Lloyd's k-means from k-means++ seeds, weighted, chunked and parallel.

    Lloyd's iterations stop when the squared shift of the centres falls
    below ``tol`` times the mean feature variance (scikit-learn's rule) or
    after ``max_iter`` iterations.  On large data the k-means++ seeds are
    chosen, and Lloyd's iterations converge, on a uniform sample of
    ``max(32768, 1024 * n_clusters)`` rows, at most 1/32 of the data and at
    least 256 per cluster, whose variance also sets the tolerance; then
    ``KMEANS_FULL_ITER`` (1) iteration runs on every row (each iteration a pass over the source:
    streamed for memory-mapped files and blocks, distributed for Dask).  A
    sample of hundreds of rows per cluster puts the centres within a few
    hundredths of a standard deviation of the full data's; the EM that
    follows starts from the partition of every row by those centres.
    Otherwise the seeds are chosen on a uniform sample of at most
    ``max(2048, 100 * n_clusters)`` rows (all rows when there are fewer),
    so seeding needs no n_samples-sized buffers, and Lloyd's iterations use
    every row.  Empty clusters are re-seeded on a random row.

    Returns
    -------
    centers : ndarray (n_clusters, d), the data's dtype
    """
    n = source.n_samples
    n_lloyd = _lloyd_sample_size(n, n_clusters)
    if not n_lloyd:
        n_seed = _seed_sample_size(n_clusters)
        if n > n_seed or not source.holds_row_vectors:
            sample, _ = _sample_source(source, random_state, n_seed)
            centers, _ = kmeans_plusplus(sample, n_clusters, random_state, n_threads)
        else:
            centers, _ = kmeans_plusplus(source, n_clusters, random_state, n_threads)
        _, var = column_mean_var(source)
        return _lloyd(source, centers, random_state, n_threads, max_iter,
                      float(np.mean(var)) * tol)
    # seeds, tolerance and converged centres from one sample (its variance
    # moves the threshold by ~1%, for two passes over the data fewer)
    sample, _ = _sample_source(source, random_state, n_lloyd)
    centers, _ = kmeans_plusplus(sample, n_clusters, random_state, n_threads)
    _, var = column_mean_var(sample)
    tol_abs = float(np.mean(var)) * tol
    centers = _lloyd(sample, centers, random_state, n_threads, max_iter, tol_abs)
    return _lloyd(source, centers, random_state, n_threads,
                  min(max_iter, KMEANS_FULL_ITER), tol_abs)


def _lloyd(source, centers, random_state, n_threads, max_iter, tol_abs):
    """At most ``max_iter`` Lloyd iterations over ``source`` from
    ``centers``, until the squared shift of the centres is <= ``tol_abs``."""
    n_clusters, d = centers.shape
    sums = np.empty((n_clusters, d))
    wsum = np.empty(n_clusters)
    for _ in range(max_iter):
        source.lloyd_iteration(centers, sums, wsum, n_threads)
        empty = wsum <= 0
        new = sums / np.where(empty, 1.0, wsum)[:, None]
        if np.any(empty):
            new[empty] = source.take(
                random_state.randint(0, source.n_samples, size=int(empty.sum())))[0]
        new = new.astype(source.dtype)
        shift = float(((new.astype(np.float64) - centers) ** 2).sum())
        centers = np.ascontiguousarray(new)
        if shift <= tol_abs:
            break
    return centers


def seed_rows(source, n_components, init_params, random_state, n_threads):
    """Rows (one per component) for 'k-means++' and 'random_from_data'.

    Sources that cannot hold per-row vectors (Dask) pick them within a
    uniform random sample of ``max(2048, 100 * n_components)`` rows.
    """
    n = source.n_samples
    if not source.holds_row_vectors:
        sample, rows = _sample_source(source, random_state,
                                      _seed_sample_size(n_components))
        return rows[seed_rows(sample, n_components, init_params, random_state,
                               n_threads)]
    if init_params == "k-means++":
        _, indices = kmeans_plusplus(source, n_components, random_state, n_threads)
        return indices
    if source.weighted:
        w = source.weights_vector()
        return random_state.choice(n, size=n_components, replace=False, p=w / w.sum())
    return random_state.choice(n, size=n_components, replace=False)


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
