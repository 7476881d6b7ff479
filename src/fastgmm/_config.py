"""Build facts and thread settings."""

import contextlib
import ctypes
import os
import threading

from . import _openmp_helpers
from ._openmp_helpers import openmp_enabled, openmp_max_threads
from ._version import __version__


# GNU libgomp's thread pool does not survive fork(): a child forked after
# the parent ran a parallel region hangs in its first parallel region with
# more than one thread (multiprocessing's 'fork' workers).  So a forked
# child of a process that may have run a team keeps to one thread; 'spawn'
# and 'forkserver' workers are fresh processes and use every core.
_parallel_used = False
_forked_after_parallel = False


def effective_n_threads(n_threads=None):
    """Threads a kernel will use for the requested ``n_threads``.

    ``None`` means every core OpenMP may use (``OMP_NUM_THREADS`` and
    threadpoolctl limits are honoured); a negative value counts back from the
    number of CPUs as in joblib (``-1`` = all of them).  Without OpenMP, and
    in a process forked after this one ran multi-threaded kernels, the
    answer is always 1.
    """
    global _parallel_used
    if not openmp_enabled() or _forked_after_parallel:
        return 1
    if n_threads is None:
        n = max(1, openmp_max_threads())
    elif n_threads < 0:
        n = max(1, (os.cpu_count() or 1) + 1 + n_threads)
    else:
        n = max(1, int(n_threads))
    if n > 1:
        _parallel_used = True
    return n


def _after_fork_in_child():
    global _forked_after_parallel, _blas_lock, _blas_users, _blas_limiter
    if _parallel_used:
        _forked_after_parallel = True
    # only the forking thread lives on: nobody holds the BLAS limit here
    _blas_lock = threading.Lock()
    _blas_users = 0
    _blas_limiter = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


_controller = None
# single_threaded_blas is entered by every fit/predict, possibly from several
# Python threads at once.  threadpoolctl's limiter saves "the current limits"
# on entry and restores them on exit, so overlapping limiters would restore
# each other's "1" and leave BLAS on one thread for good.  Only the first
# caller to enter limits BLAS and only the last to leave restores it.
_blas_lock = threading.Lock()
_blas_users = 0
_blas_limiter = None


@contextlib.contextmanager
def single_threaded_blas():
    """Hold BLAS to one thread while the OpenMP kernels call it per chunk.

    Without this, each OpenMP thread's BLAS call could start its own BLAS
    threads and the two pools would oversubscribe the cores.  Reentrant and
    thread-safe: the original limits come back when the last user leaves,
    also when it leaves by an exception (KeyboardInterrupt included).
    """
    global _controller, _blas_users, _blas_limiter
    with _blas_lock:
        if _blas_users == 0:
            if _controller is None:
                from threadpoolctl import ThreadpoolController

                _controller = ThreadpoolController()
            _take_openblas_control()
            _blas_limiter = _controller.limit(limits=1, user_api="blas")
        _blas_users += 1
    try:
        yield
    finally:
        with _blas_lock:
            _blas_users -= 1
            if _blas_users == 0:
                limiter, _blas_limiter = _blas_limiter, None
                _take_openblas_control()
                limiter.restore_original_limits()
                _take_openblas_control()


def _take_openblas_control():
    """Let the calling thread set OpenBLAS's (process-wide) thread count.

    threadpoolctl (>= 3.6) lets only one "controlling" Python thread change
    a pthreads OpenBLAS's limit and silently ignores the others; the first
    thread to limit keeps that role until its limiter's ``__exit__``.  The
    limit here is entered and left by whichever threads come first and last
    (under ``_blas_lock``), so it clears the role before acting: otherwise a
    fit or predict from another thread ran BLAS on several threads inside
    the OpenMP kernels (and 'tied' log-densities, through trmm, changed in
    their last bits).  Older threadpoolctl has no such role.
    """
    import threadpoolctl

    clear = getattr(getattr(threadpoolctl, "OpenBLASController", None),
                    "clear_controlling_thread", None)
    if clear is not None:
        clear(force=True)


def _omp_entry_address(path):
    """Address ``omp_get_max_threads`` resolves to from the shared object at
    ``path`` (searching its dependencies too), or None where that lookup is
    not possible (Windows looks only at a DLL's own exports)."""
    try:
        return ctypes.cast(ctypes.CDLL(path).omp_get_max_threads,
                           ctypes.c_void_p).value
    except (OSError, AttributeError):
        return None


def _bundle_dirs():
    """Where a repaired wheel keeps its runtime libraries: auditwheel and
    delvewheel use ``fastgmm.libs`` beside the package, delocate
    ``fastgmm/.dylibs`` inside it."""
    pkg_dir = os.path.dirname(os.path.realpath(_openmp_helpers.__file__))
    return (os.path.join(os.path.dirname(pkg_dir), "fastgmm.libs"),
            os.path.join(pkg_dir, ".dylibs"))


def _is_inside(path, directory):
    try:
        return os.path.commonpath([path, directory]) == directory
    except ValueError:  # different drives on Windows
        return False


def openmp_runtime_info():
    """The OpenMP runtime library fastgmm's kernels call.

    Other packages in the process may load their own OpenMP runtime
    (scikit-learn bundles one), so threadpoolctl can list several; the one
    reported is the library whose ``omp_get_max_threads`` the compiled
    kernels are linked to.

    Returns
    -------
    info : dict or None
        threadpoolctl's entry for that library (``filepath``, ``prefix``,
        ``internal_api``, ``version``, ``num_threads``) plus ``bundled``:
        whether the file ships inside the fastgmm wheel.  None when the
        kernels were built without OpenMP or the library cannot be found.
    """
    if not openmp_enabled():
        return None
    from threadpoolctl import threadpool_info

    keys = ("filepath", "prefix", "internal_api", "version", "num_threads")
    candidates = [{k: lib.get(k) for k in keys} for lib in threadpool_info()
                  if lib.get("user_api") == "openmp"]
    target = _omp_entry_address(_openmp_helpers.__file__)
    found = None
    if target is not None:
        found = next((lib for lib in candidates
                      if _omp_entry_address(lib["filepath"]) == target), None)
    if found is None:
        # No symbol lookup here: a bundled copy is ours; else a lone runtime.
        bundled = [lib for lib in candidates
                   if any(_is_inside(os.path.realpath(lib["filepath"]), d)
                          for d in _bundle_dirs())]
        pool = bundled or candidates
        found = pool[0] if len(pool) == 1 else None
    if found is not None:
        path = os.path.realpath(found["filepath"])
        found["bundled"] = any(_is_inside(path, os.path.realpath(d))
                               for d in _bundle_dirs())
    return found


def show_config(file=None):
    """Print and return fastgmm's build and runtime configuration.

    Returns
    -------
    info : dict
        ``version``, ``openmp`` (whether the kernels were compiled with
        OpenMP), ``openmp_runtime`` (the OpenMP library the kernels call,
        see :func:`openmp_runtime_info`; None without OpenMP),
        ``default_n_threads`` (threads a fit uses with ``n_threads=None``),
        ``kernels`` (the kernel build in use), ``kernel_fma`` (whether it
        was compiled with fused multiply-adds), ``blas_min_features`` (from
        how many features its E-step uses BLAS), ``cpu_features`` (the SIMD
        features of this CPU the builds are chosen by) and ``threadpools``
        (every BLAS/OpenMP library threadpoolctl sees in the process).
    """
    from ._cpu import cpu_features
    from ._dispatch import em, variant

    info = {
        "version": __version__,
        "openmp": openmp_enabled(),
        "default_n_threads": effective_n_threads(None),
        "kernels": variant,
        "kernel_fma": em.FMA,
        "blas_min_features": em.BLAS_MIN_FEATURES,
        "cpu_features": cpu_features(),
    }
    try:
        info["openmp_runtime"] = openmp_runtime_info()
    except Exception as exc:  # threadpoolctl is a dependency, but never fail here
        info["openmp_runtime"] = f"unavailable: {exc}"
    try:
        from threadpoolctl import threadpool_info

        info["threadpools"] = [
            {k: v for k, v in lib.items() if k in ("user_api", "internal_api", "version",
                                                   "num_threads", "filepath")}
            for lib in threadpool_info()
        ]
    except Exception as exc:
        info["threadpools"] = f"unavailable: {exc}"
    runtime = info["openmp_runtime"]
    if isinstance(runtime, dict):
        runtime = (f"{runtime['prefix']}"
                   f"{' ' + runtime['version'] if runtime['version'] else ''}"
                   f" ({runtime['num_threads']} threads) {runtime['filepath']}"
                   f"{' [bundled]' if runtime['bundled'] else ''}")
    elif runtime is None:
        runtime = "none" if not info["openmp"] else "not found"
    lines = [f"fastgmm {info['version']}",
             f"  OpenMP:            {'on' if info['openmp'] else 'off'}",
             f"  OpenMP runtime:    {runtime}",
             f"  default n_threads: {info['default_n_threads']}",
             (f"  kernels:           {info['kernels']}"
              f"{' (FMA)' if info['kernel_fma'] else ''},"
              f" BLAS from {info['blas_min_features']} features"),
             "  CPU features:      "
             + (" ".join(k for k, v in info["cpu_features"].items() if v) or "none")]
    if isinstance(info["threadpools"], list):
        for lib in info["threadpools"]:
            lines.append(f"  {lib.get('user_api')}: {lib.get('internal_api')} "
                         f"{lib.get('version')} ({lib.get('num_threads')} threads) "
                         f"{lib.get('filepath')}")
    print("\n".join(lines), file=file)
    return info
