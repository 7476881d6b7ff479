# Definitions shared by the chunked kernels (_em, _kmeans): element types,
# the block and stripe arithmetic, the feature-major chunk copy.

from .tuning cimport CHUNK_SIZE, MAX_BLOCKS

ctypedef fused floating:
    float
    double

# The element type of a feature-major copy (independent of the data's).
ctypedef fused copy_t:
    float
    double

cdef inline Py_ssize_t pow2_blocks(Py_ssize_t n_chunks, Py_ssize_t block_bytes,
                                   Py_ssize_t budget_bytes) noexcept nogil:
    """Accumulation blocks: as many as the budget allows, at most MAX_BLOCKS
    and n_chunks, rounded down to a power of two so common thread counts
    share them evenly.  A function of the problem only, never of the thread
    count, so the summation order (and the result) is thread-independent."""
    cdef Py_ssize_t nb = min(<Py_ssize_t> MAX_BLOCKS, n_chunks)
    nb = min(nb, max(1, budget_bytes // max(1, block_bytes)))
    cdef Py_ssize_t p = 1
    while p * 2 <= nb:
        p *= 2
    return p


cdef inline Py_ssize_t stripe_first(Py_ssize_t b, Py_ssize_t n_chunks,
                                    Py_ssize_t n_blocks,
                                    Py_ssize_t chunk_lo) noexcept nogil:
    """First chunk of block ``b`` in the stripe [chunk_lo, chunk_hi), the
    stripe counted from the block's first chunk; see ``stripe_stop``.

    Block ``b`` holds chunks [b n_chunks / n_blocks, (b + 1) n_chunks /
    n_blocks).  A pass may visit a block's chunks in several calls
    (stripes), each adding to the block's accumulator: as long as every
    chunk is visited once and in order, the accumulator (and the result) is
    the same as in one call.

    Returned by value so that, inside ``prange``, the caller assigns it to a
    variable Cython makes private to the thread (a variable written through
    a pointer stays shared between the threads: a data race)."""
    cdef Py_ssize_t start = b * n_chunks // n_blocks
    cdef Py_ssize_t end = (b + 1) * n_chunks // n_blocks
    return start + min(chunk_lo, end - start)


cdef inline Py_ssize_t stripe_stop(Py_ssize_t b, Py_ssize_t n_chunks,
                                   Py_ssize_t n_blocks,
                                   Py_ssize_t chunk_hi) noexcept nogil:
    """One past the last chunk of block ``b`` in the stripe (see
    ``stripe_first``)."""
    cdef Py_ssize_t start = b * n_chunks // n_blocks
    cdef Py_ssize_t end = (b + 1) * n_chunks // n_blocks
    return start + min(chunk_hi, end - start)


cdef inline void transpose_chunk(const floating* X, Py_ssize_t C, Py_ssize_t Cp,
                                 Py_ssize_t d, copy_t* XT, Py_ssize_t ld) noexcept nogil:
    """The feature-major copy the component-major kernels read: XT[l ld + i]
    = X[i d + l] (in XT's type) for the C rows of a chunk, 0 for the
    padding rows C..Cp."""
    cdef Py_ssize_t i, l
    for i in range(C):
        for l in range(d):
            XT[l * ld + i] = X[i * d + l]
    for l in range(d):
        for i in range(C, Cp):
            XT[l * ld + i] = 0.0
