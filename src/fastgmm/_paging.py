"""Bounded resident memory for passes over memory-mapped arrays.

Pages of a file mapping that have been read count in the process's resident
set until they are unmapped, so a plain pass over an ``np.memmap`` ends with
the whole file resident.  A pass here touches a bounded window of rows at a
time and then drops that window's pages with ``madvise(MADV_DONTNEED)``:
the data stays in the operating system's page cache (and on disk), the
process only unmaps it, and the next access faults it back in.

Only shared file mappings are released (``np.memmap`` modes 'r', 'r+',
'w+'); for a copy-on-write mapping ('c') dropping a page would discard
writes, and anonymous memory would be zeroed, so neither is ever touched.

The kernels' reductions depend on the problem's block layout only (see
``_common.stripe_first``), so a pass in stripes gives bitwise the numbers
of a pass in one call.
"""

import mmap

import numpy as np

from ._dispatch import em as _em
from ._utils import finite_status

CHUNK = _em.CHUNK
# Bytes of rows a pass touches before it releases their pages (more when
# more threads than STREAM_BYTES / PIECE_BYTES work in parallel).
STREAM_BYTES = 64 * 2**20
# Contiguous bytes one block reads per stripe: the page cache holds files in
# large folios (up to 2 MiB) and a fault may map a whole folio, so pieces
# much smaller than that would leave most of what is resident unused.
PIECE_BYTES = 8 * 2**20
# Releases are widened to this alignment, so folios mapped across a
# window's edges are dropped too.
_RELEASE_ALIGN = 2 * 2**20
_SHARED_MODES = ("r", "r+", "w+")


def _backing_memmap(arr):
    """The ``np.memmap`` whose mapping holds ``arr``'s data, or None."""
    a = arr
    while a is not None:
        if isinstance(a, np.memmap) and getattr(a, "_mmap", None) is not None:
            return a
        a = getattr(a, "base", None)
    return None


class MappedRows:
    """Releases the resident pages of rows of an array backed by a file mapping.

    Use :func:`mapped_rows` to build one (None for arrays that are not a
    shared file mapping).
    """

    def __init__(self, mm, offset, row_bytes, n_rows):
        self._mm = mm
        self._offset = offset
        self._row_bytes = row_bytes
        self._n_rows = n_rows

    def release(self, row0, row1):
        """Drop the pages holding rows [row0, row1) (and a small margin)."""
        if row1 <= row0:
            return
        size = len(self._mm)
        start = self._offset + row0 * self._row_bytes
        stop = self._offset + row1 * self._row_bytes
        start = max(0, start - start % _RELEASE_ALIGN)
        stop = min(size, -(-stop // _RELEASE_ALIGN) * _RELEASE_ALIGN)
        if stop > start:
            self._mm.madvise(mmap.MADV_DONTNEED, start, stop - start)

    def release_all(self):
        """Drop every page of the array."""
        self.release(0, self._n_rows)


def mapped_rows(arr):
    """A :class:`MappedRows` for a C-contiguous array (2-D or 1-D) whose data
    lives in a shared ``np.memmap`` mapping, else None."""
    if not hasattr(mmap, "MADV_DONTNEED") or not hasattr(mmap.mmap, "madvise"):
        return None
    if not isinstance(arr, np.ndarray) or not arr.flags.c_contiguous or arr.size == 0:
        return None
    mm_arr = _backing_memmap(arr)
    if mm_arr is None or mm_arr.mode not in _SHARED_MODES:
        return None
    mm = mm_arr._mmap
    try:
        if mm.closed:
            return None
        base = np.frombuffer(mm, dtype=np.uint8)
    except (TypeError, ValueError):
        return None
    start = base.ctypes.data
    del base
    offset = arr.ctypes.data - start
    if offset < 0 or offset + arr.nbytes > len(mm):
        return None
    row_bytes = arr.strides[0] if arr.ndim else arr.itemsize
    return MappedRows(mm, offset, row_bytes, arr.shape[0])


def stripe_plan(n_samples, n_blocks, row_bytes, n_threads=1, budget=None,
                piece=None):
    """Stripes ``(block_lo, block_hi, chunk_lo, chunk_hi)`` covering a pass.

    A stripe reads a piece of about ``piece`` bytes (whole 256-row chunks)
    from each of a group of blocks, at least ``n_threads`` blocks (they run
    in parallel) and as many as ``budget`` allows.  Visiting the stripes in
    order visits each block's chunks in increasing order, as the one-call
    kernels do; which stripes are used never changes a result.
    """
    budget = STREAM_BYTES if budget is None else budget
    piece = PIECE_BYTES if piece is None else piece
    n_chunks = -(-n_samples // CHUNK)
    per_block = -(-n_chunks // n_blocks)
    chunk_bytes = CHUNK * row_bytes
    step = max(1, min(per_block, piece // chunk_bytes))
    group = max(1, n_threads, budget // (step * chunk_bytes))
    return [(b, min(b + group, n_blocks), c, c + step)
            for b in range(0, n_blocks, group) for c in range(0, per_block, step)]


def stripe_rows(b, n_blocks, chunk_lo, chunk_hi, n_samples):
    """Rows [row0, row1) that stripe [chunk_lo, chunk_hi) of block ``b`` holds."""
    n_chunks = -(-n_samples // CHUNK)
    start = b * n_chunks // n_blocks
    end = (b + 1) * n_chunks // n_blocks
    c0 = start + min(chunk_lo, end - start)
    c1 = start + min(chunk_hi, end - start)
    return c0 * CHUNK, min(c1 * CHUNK, n_samples)


def finite_status_paged(X, n_threads):
    """``_utils.finite_status`` (0 finite, 1 NaN, 2 inf) for a 2-D array,
    in windows whose pages are released when ``X`` is a mapped file."""
    pages = mapped_rows(X)
    if pages is None:
        return finite_status(X, n_threads)
    n = X.shape[0]
    step = max(CHUNK, STREAM_BYTES // max(1, X.strides[0]))
    status = 0
    for i0 in range(0, n, step):
        i1 = min(i0 + step, n)
        s = finite_status(X[i0:i1], n_threads)
        pages.release(i0, i1)
        if s == 1:
            return 1
        status = max(status, s)
    return status
