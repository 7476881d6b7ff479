import numpy as np
from numpy.typing import NDArray

SIMD: str  # what this build was compiled for (as _em.SIMD)

def lloyd_n_blocks(n_samples: int, n_features: int, n_clusters: int) -> int: ...
def min_sq_n_blocks(n_samples: int, n_candidates: int) -> int: ...
def lloyd_iteration(
    X: NDArray[np.floating],  # (n, d)
    sample_weight: NDArray[np.floating],  # (n,) or (0,)
    centers: NDArray[np.floating],  # (K, d)
    sums: NDArray[np.float64],  # out (K, d)
    weights: NDArray[np.float64],  # out (K,)
    labels: NDArray[np.int32] | None,  # out (n,)
    n_threads: int,
) -> float: ...
def min_sq_distances(
    X: NDArray[np.floating],
    sample_weight: NDArray[np.floating],
    candidates: NDArray[np.floating],  # (T, d)
    closest: NDArray[np.float64],  # (n,)
    potentials: NDArray[np.float64],  # out (T,)
    n_threads: int,
) -> None: ...
def update_min_sq_distances(
    X: NDArray[np.floating],
    center: NDArray[np.floating],  # (d,)
    closest: NDArray[np.float64],  # in/out (n,)
    n_threads: int,
) -> None: ...
def lloyd_accumulate(
    X: NDArray[np.floating],  # (n, d) the whole data
    sample_weight: NDArray[np.floating],
    centers: NDArray[np.floating],
    acc: NDArray[np.float64],  # in/out (lloyd_n_blocks(...), 1 + K + K*d)
    block_lo: int,
    block_hi: int,
    chunk_lo: int,
    chunk_hi: int,
    labels: NDArray[np.int32] | None,
    n_threads: int,
) -> None: ...
def lloyd_reduce(
    acc: NDArray[np.float64],
    sums: NDArray[np.float64],  # out (K, d)
    weights: NDArray[np.float64],  # out (K,)
) -> float: ...
def min_sq_accumulate(
    X: NDArray[np.floating],
    sample_weight: NDArray[np.floating],
    candidates: NDArray[np.floating],
    closest: NDArray[np.float64],
    acc: NDArray[np.float64],  # in/out (min_sq_n_blocks(...), T)
    block_lo: int,
    block_hi: int,
    chunk_lo: int,
    chunk_hi: int,
    n_threads: int,
) -> None: ...
def min_sq_reduce(
    acc: NDArray[np.float64],
    potentials: NDArray[np.float64],  # out (T,)
) -> None: ...
