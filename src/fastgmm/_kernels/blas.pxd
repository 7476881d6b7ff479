# BLAS on row-major arrays, the only way the kernels (_em, _kmeans) call it.
#
# A row-major (r x c) array is the column-major (c x r) array in the same
# memory, so the row-major product C = op(A) op(B) is the column-major
# C^T = op(B)^T op(A)^T: each wrapper below calls the Fortran routine with
# the operands swapped and the shapes transposed.  The data's precision
# (float or double) picks the s/d routine.

from scipy.linalg.cython_blas cimport sgemm, dgemm, ssyrk, dsyrk, strmm, dtrmm

from .common cimport floating


cdef inline void gemm(
    bint trans_a, bint trans_b, int m, int n, int k,
    const floating* A, int lda,     # IN (m, k), or (k, m) if trans_a
    const floating* B, int ldb,     # IN (k, n), or (n, k) if trans_b
    floating* C, int ldc,           # OUT (m, n) = op(A) @ op(B)
) noexcept nogil:
    """Row-major C := op(A) op(B), op(M) = M^T where asked."""
    cdef char ta = b'T' if trans_a else b'N'
    cdef char tb = b'T' if trans_b else b'N'
    cdef floating one = 1.0, zero = 0.0
    if floating is float:
        sgemm(&tb, &ta, &n, &m, &k, &one, <float*> B, &ldb, <float*> A, &lda,
              &zero, C, &ldc)
    else:
        dgemm(&tb, &ta, &n, &m, &k, &one, <double*> B, &ldb, <double*> A, &lda,
              &zero, C, &ldc)


cdef inline void times_upper(
    floating* D,            # IN/OUT (C, d): D := D @ P
    const floating* P,      # IN (d, d) upper triangular
    int C, int d,
) noexcept nogil:
    """Row-major D := D @ P for upper-triangular P (column-major:
    D^T := P^T D^T, P^T lower triangular)."""
    cdef char side = b'L', uplo = b'L', trans = b'N', diag = b'N'
    cdef floating one = 1.0
    if floating is float:
        strmm(&side, &uplo, &trans, &diag, &d, &C, &one, <float*> P, &d, D, &d)
    else:
        dtrmm(&side, &uplo, &trans, &diag, &d, &C, &one, <double*> P, &d, D, &d)


cdef inline void gram_lower(
    const floating* W,      # IN (C, d)
    floating* G,            # OUT (d, d): lower triangle of W^T W
    int C, int d,
) noexcept nogil:
    """Row-major G := W^T W; only G[a, b] with a >= b is written (the
    column-major upper triangle)."""
    cdef char uplo = b'U', trans = b'N'
    cdef floating one = 1.0, zero = 0.0
    if floating is float:
        ssyrk(&uplo, &trans, &d, &C, &one, <float*> W, &d, &zero, G, &d)
    else:
        dsyrk(&uplo, &trans, &d, &C, &one, <double*> W, &d, &zero, G, &d)
