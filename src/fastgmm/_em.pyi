import numpy as np
from numpy.typing import NDArray

COVARIANCE_TYPES: dict[str, int]
CHUNK: int
SIMD: str  # what this build was compiled for: "avx512", "avx2" or "baseline"
FMA: bool  # whether its kernels use fused multiply-adds
BLAS_MIN_FEATURES: int  # from this many features, pass use_blas=True

def n_blocks_for(
    n_samples: int, n_features: int, n_components: int, cov_type: int, itemsize: int
) -> int: ...
def em_stride(n_features: int, n_components: int, cov_type: int) -> int: ...
def em_statistics(
    X: NDArray[np.floating],  # (n, d) C-contiguous, float32 or float64
    sample_weight: NDArray[np.floating],  # (n,) or (0,)
    means: NDArray[np.floating],  # (K, d)
    prec_chol: NDArray[np.floating],  # flat precision Cholesky factors
    log_norm: NDArray[np.float64],  # (K,)
    center: NDArray[np.floating],  # (d,)
    cov_type: int,
    use_blas: bool,
    n_threads: int,
    N: NDArray[np.float64],  # out (K,)
    S1: NDArray[np.float64],  # out (K, d)
    S2: NDArray[np.float64],  # out flat
    labels: NDArray[np.int32] | None = ...,
    resp: NDArray[np.floating] | None = ...,
) -> float: ...
def predict(
    X: NDArray[np.floating],
    means: NDArray[np.floating],
    prec_chol: NDArray[np.floating],
    log_norm: NDArray[np.float64],
    center: NDArray[np.floating],
    cov_type: int,
    use_blas: bool,
    n_threads: int,
    log_prob_norm: NDArray[np.float64] | None = ...,
    resp: NDArray[np.floating] | None = ...,
    labels: NDArray[np.intp] | None = ...,
) -> None: ...

def vector_exp(x: NDArray[np.floating], out: NDArray[np.floating]) -> None: ...

def em_accumulate(
    X: NDArray[np.floating],  # (n, d) the whole data
    sample_weight: NDArray[np.floating],  # (n,) or (0,)
    means: NDArray[np.floating],
    prec_chol: NDArray[np.floating],
    log_norm: NDArray[np.float64],
    center: NDArray[np.floating],
    cov_type: int,
    use_blas: bool,
    n_threads: int,
    acc: NDArray[np.float64],  # in/out (n_blocks_for(...), em_stride(...))
    block_lo: int,
    block_hi: int,
    chunk_lo: int,
    chunk_hi: int,
    labels: NDArray[np.int32] | None = ...,
    resp: NDArray[np.floating] | None = ...,
) -> None: ...
def em_reduce(
    acc: NDArray[np.float64],
    cov_type: int,
    N: NDArray[np.float64],  # out (K,)
    S1: NDArray[np.float64],  # out (K, d)
    S2: NDArray[np.float64],  # out flat
) -> float: ...
def em_missing_statistics(
    X: NDArray[np.floating],  # (n, d) rows with NaN entries
    sample_weight: NDArray[np.floating],  # (n,) or (0,)
    means: NDArray[np.float64],  # (K, d)
    prec_chol: NDArray[np.float64],  # flat, as em_statistics
    aux: NDArray[np.float64],  # full/tied: precisions; diag/sph.: [log prec_chol, variances]
    lw: NDArray[np.float64],  # (K,)
    centers: NDArray[np.float64],  # (K, d) centres of S2
    center: NDArray[np.float64],  # (d,) tied centre
    cov_type: int,
    n_threads: int,
    N: NDArray[np.float64],  # out (K,)
    S1: NDArray[np.float64],  # out (K, d)
    S2: NDArray[np.float64],  # out flat
) -> float: ...
def predict_missing(
    X: NDArray[np.floating],
    means: NDArray[np.float64],
    prec_chol: NDArray[np.float64],
    aux: NDArray[np.float64],
    lw: NDArray[np.float64],
    cov_type: int,
    n_threads: int,
    log_prob_norm: NDArray[np.float64] | None = ...,
    resp: NDArray[np.floating] | None = ...,
    labels: NDArray[np.intp] | None = ...,
    imputed: NDArray[np.floating] | None = ...,
) -> None: ...
