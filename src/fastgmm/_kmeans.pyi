import numpy as np
from numpy.typing import NDArray

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
