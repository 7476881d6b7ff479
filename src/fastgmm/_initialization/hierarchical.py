"""Hierarchical (Ward) initial partitions for ``init_params='hierarchical'``.

The classic recipe (and R's mclust) starts EM from an agglomerative
clustering.  Ward's method is quadratic in the rows it clusters, so it runs
on a bounded random sample: about :data:`HIERARCHICAL_SAMPLE` rows drawn
uniformly from the rows with positive weight (all of them when there are
fewer).  One dendrogram holds the partition for every number of clusters;
cutting it at ``K`` and sending every other row to the nearest sample-cluster
centroid (a chunked, parallel kernel) gives the initial partition, from which
one M-step makes the starting parameters.

Nothing here allocates n_samples x n_clusters or n_samples x n_features
arrays: the assignment returns one int32 label per row.
"""

import numpy as np
from scipy.cluster.hierarchy import linkage

from .kmeans import nearest_centers

# Rows Ward's method clusters: its condensed distance matrix is
# m (m - 1) / 2 doubles (16 MB at 2000) and its time grows as m^2.
HIERARCHICAL_SAMPLE = 2000


def sample_rows(n_samples, sample_weight, n_rows, random_state):
    """Indices (sorted) of the rows Ward's method clusters.

    ``n_rows`` draws uniform over all rows, duplicates removed, zero-weight
    rows dropped; every positive-weight row when there are at most
    ``n_rows`` of them.  The draw depends on ``n_samples``, ``n_rows`` and
    ``random_state`` only, so every number of clusters sees the same sample.
    """
    positive = None if sample_weight.shape[0] == 0 else sample_weight > 0
    n_positive = n_samples if positive is None else int(np.count_nonzero(positive))
    if n_positive <= n_rows:
        return np.arange(n_samples) if positive is None else np.flatnonzero(positive)
    rows = np.unique(random_state.randint(0, n_samples, size=n_rows))
    if positive is not None:
        rows = rows[positive[rows]]
    return rows


def cut_labels(Z, n_leaves, n_clusters):
    """Cluster of every leaf when the dendrogram ``Z`` is cut at ``n_clusters``.

    The partition after the first ``n_leaves - n_clusters`` merges, which
    always has exactly ``n_clusters`` clusters (``fcluster``'s 'maxclust' may
    return fewer when merge heights tie).  Labels are 0..n_clusters-1 in the
    order of the clusters' dendrogram node ids.
    """
    n_merges = n_leaves - n_clusters
    parent = np.arange(2 * n_leaves - 1)
    merged = Z[:n_merges, :2].astype(np.intp)
    new_ids = n_leaves + np.arange(n_merges)
    parent[merged[:, 0]] = new_ids
    parent[merged[:, 1]] = new_ids
    # pointer jumping: every node ends up pointing at its cluster's root
    while True:
        grand = parent[parent]
        if np.array_equal(grand, parent):
            break
        parent = grand
    _, labels = np.unique(parent[:n_leaves], return_inverse=True)
    return labels.astype(np.int32)


class WardTree:
    """Ward dendrogram of a random sample of ``X``, cut for any number of clusters.

    Parameters
    ----------
    X : ndarray (n_samples, n_features), validated
    sample_weight : ndarray (n_samples,) or (0,) for unit weights
    random_state : numpy RandomState
        Draws the sample (one draw of ``n_rows`` integers).
    n_rows : int
        Sample size before duplicates are removed.

    Attributes
    ----------
    rows : ndarray of int
        Sampled row indices (sorted).
    Z : ndarray (len(rows) - 1, 4)
        scipy linkage matrix (Ward, Euclidean), None for a single row.
    """

    def __init__(self, X, sample_weight, random_state, n_rows=HIERARCHICAL_SAMPLE):
        self.rows = sample_rows(X.shape[0], sample_weight, n_rows, random_state)
        self._sample = X[self.rows].astype(np.float64)
        self._weights = sample_weight[self.rows].astype(np.float64) \
            if sample_weight.shape[0] else np.ones(self.rows.shape[0])
        self.Z = linkage(self._sample, method="ward") if self.rows.shape[0] > 1 else None

    @property
    def n_leaves(self):
        return self.rows.shape[0]

    def sample_labels(self, n_clusters):
        """Labels of the sampled rows for ``n_clusters`` clusters."""
        if n_clusters > self.n_leaves:
            raise ValueError(
                f"init_params='hierarchical' needs at least n_components="
                f"{n_clusters} rows with positive sample weight in its sample, "
                f"got {self.n_leaves}.")
        if n_clusters == self.n_leaves or self.Z is None:
            return np.arange(self.n_leaves, dtype=np.int32)
        return cut_labels(self.Z, self.n_leaves, n_clusters)

    def partition(self, X, sample_weight, n_clusters, n_threads):
        """Initial partition of all rows into ``n_clusters`` clusters.

        Sampled rows keep their Ward cluster; every other row goes to the
        nearest (Euclidean) sample-cluster centroid.

        Returns
        -------
        centers : ndarray (n_clusters, n_features), X's dtype
            Weighted centroids of the sample clusters.
        labels : ndarray (n_samples,) int32
        """
        sample_lab = self.sample_labels(n_clusters)
        w = self._weights
        wsum = np.bincount(sample_lab, weights=w, minlength=n_clusters)
        centers = np.empty((n_clusters, X.shape[1]))
        for j in range(X.shape[1]):
            centers[:, j] = np.bincount(sample_lab, weights=w * self._sample[:, j],
                                        minlength=n_clusters)
        centers /= wsum[:, None]
        centers = np.ascontiguousarray(centers, dtype=X.dtype)
        labels = nearest_centers(X, sample_weight, centers, n_threads)
        labels[self.rows] = sample_lab
        return centers, labels


def hierarchical_partition(X, sample_weight, n_clusters, random_state, n_threads):
    """The 'hierarchical' initial partition of one fit: one tree, one cut."""
    tree = WardTree(X, sample_weight, random_state)
    return tree.partition(X, sample_weight, n_clusters, n_threads)
