"""Build facts and thread settings."""

import contextlib
import os
import threading

from ._openmp_helpers import openmp_enabled, openmp_max_threads
from ._version import __version__


def effective_n_threads(n_threads=None):
    """Threads a kernel will use for the requested ``n_threads``.

    ``None`` means every core OpenMP may use (``OMP_NUM_THREADS`` and
    threadpoolctl limits are honoured); a negative value counts back from the
    number of CPUs as in joblib (``-1`` = all of them).  Without OpenMP the
    answer is always 1.
    """
    if not openmp_enabled():
        return 1
    if n_threads is None:
        return max(1, openmp_max_threads())
    if n_threads < 0:
        return max(1, (os.cpu_count() or 1) + 1 + n_threads)
    return max(1, int(n_threads))


_controller = None
# The limit is process-wide: nested or concurrent users (Dask tasks in
# threads, a prediction inside a fit) share one, set by the first to enter
# and restored by the last to leave.
_limit_lock = threading.Lock()
_limit_depth = 0
_limiter = None


@contextlib.contextmanager
def single_threaded_blas():
    """Hold BLAS to one thread while the OpenMP kernels call it per chunk.

    Without this, each OpenMP thread's BLAS call could start its own BLAS
    threads and the two pools would oversubscribe the cores.  Safe to use
    from several threads at once.
    """
    global _controller, _limit_depth, _limiter
    with _limit_lock:
        if _limit_depth == 0:
            if _controller is None:
                from threadpoolctl import ThreadpoolController

                _controller = ThreadpoolController()
            _limiter = _controller.limit(limits=1, user_api="blas")
        _limit_depth += 1
    try:
        yield
    finally:
        with _limit_lock:
            _limit_depth -= 1
            if _limit_depth == 0:
                _limiter.restore_original_limits()
                _limiter = None


def show_config(file=None):
    """Print and return fastgmm's build and runtime configuration.

    Returns
    -------
    info : dict
        ``version``, ``openmp`` (whether the kernels were compiled with
        OpenMP), ``default_n_threads`` (threads a fit uses with
        ``n_threads=None``) and ``blas`` (the BLAS libraries threadpoolctl
        sees, with their threading layers).
    """
    from ._dispatch import variant

    info = {
        "version": __version__,
        "openmp": openmp_enabled(),
        "default_n_threads": effective_n_threads(None),
        "kernels": variant,
    }
    try:
        from threadpoolctl import threadpool_info

        info["threadpools"] = [
            {k: v for k, v in lib.items() if k in ("user_api", "internal_api", "version",
                                                   "num_threads", "filepath")}
            for lib in threadpool_info()
        ]
    except Exception as exc:  # threadpoolctl is a dependency, but never fail here
        info["threadpools"] = f"unavailable: {exc}"
    lines = [f"fastgmm {info['version']}",
             f"  OpenMP:            {'on' if info['openmp'] else 'off'}",
             f"  default n_threads: {info['default_n_threads']}",
             f"  kernels:           {info['kernels']}"]
    if isinstance(info["threadpools"], list):
        for lib in info["threadpools"]:
            lines.append(f"  {lib.get('user_api')}: {lib.get('internal_api')} "
                         f"{lib.get('version')} ({lib.get('num_threads')} threads) "
                         f"{lib.get('filepath')}")
    print("\n".join(lines), file=file)
    return info
