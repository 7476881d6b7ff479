"""``fastgmm.show_config`` and the OpenMP runtime it reports.

The process usually holds more than one OpenMP runtime (scikit-learn bundles
its own libgomp), so these tests check that the library reported is the one
the compiled kernels actually call: changing its thread setting through
ctypes must change what the kernels see, changing another one's must not.
"""

import ctypes
import io
import os

import pytest
import threadpoolctl
from threadpoolctl import threadpool_info

import fastgmm
from fastgmm import _config
from fastgmm._config import openmp_runtime_info
from fastgmm._openmp_helpers import openmp_enabled, openmp_max_threads

needs_openmp = pytest.mark.skipif(not openmp_enabled(),
                                  reason="built without OpenMP")


@pytest.fixture
def other_openmp_loaded():
    """Load scikit-learn's OpenMP runtime too, when it is installed, so the
    runtime lookup has more than one candidate to choose from."""
    try:
        import sklearn.utils._openmp_helpers  # noqa: F401
    except ImportError:
        pass


def _set_threads_through(path, n):
    """``omp_set_num_threads(n)`` in the OpenMP library at ``path``."""
    ctypes.CDLL(path).omp_set_num_threads(ctypes.c_int(n))


@needs_openmp
def test_openmp_runtime_is_the_library_the_kernels_call(other_openmp_loaded):
    info = openmp_runtime_info()
    assert info is not None
    assert os.path.isfile(info["filepath"])
    assert info["filepath"] in [lib["filepath"] for lib in threadpool_info()
                                if lib["user_api"] == "openmp"]
    before = openmp_max_threads()
    try:
        for n in (3, 5):
            _set_threads_through(info["filepath"], n)
            assert openmp_max_threads() == n
        # Any other OpenMP runtime in the process leaves the kernels alone.
        others = {lib["filepath"] for lib in threadpool_info()
                  if lib["user_api"] == "openmp"
                  and os.path.realpath(lib["filepath"])
                  != os.path.realpath(info["filepath"])}
        for path in others:
            before_other = ctypes.CDLL(path).omp_get_max_threads()
            _set_threads_through(path, 7)
            assert openmp_max_threads() == 5
            _set_threads_through(path, before_other)
    finally:
        _set_threads_through(info["filepath"], before)
    assert openmp_max_threads() == before


@needs_openmp
def test_show_config_reports_the_openmp_runtime(other_openmp_loaded):
    buf = io.StringIO()
    info = fastgmm.show_config(file=buf)
    assert info["openmp"] is True
    runtime = info["openmp_runtime"]
    assert runtime == openmp_runtime_info()
    assert isinstance(runtime["bundled"], bool)
    text = buf.getvalue()
    assert "OpenMP:            on" in text
    line = next(ln for ln in text.splitlines() if "OpenMP runtime:" in ln)
    assert runtime["filepath"] in line
    assert ("[bundled]" in line) == runtime["bundled"]
    # Everything threadpoolctl sees is listed as well.
    assert any(lib["filepath"] == runtime["filepath"]
               for lib in info["threadpools"])


def _fake_openmp(path):
    return {"user_api": "openmp", "internal_api": "openmp", "prefix": "libgomp",
            "filepath": path, "version": None, "num_threads": 2}


@needs_openmp
def test_runtime_lookup_without_symbol_lookup(monkeypatch, tmp_path):
    """Where the symbol lookup is impossible (Windows), a runtime bundled in
    the wheel is taken, else a lone runtime; several unbundled ones are
    ambiguous and reported as not found."""
    monkeypatch.setattr(_config, "_omp_entry_address", lambda path: None)
    libs_dir = _config._bundle_dirs()[0]
    bundled = os.path.join(libs_dir, "libgomp-0123abcd.so.1.0.0")
    system = str(tmp_path / "libgomp.so.1")
    other = str(tmp_path / "other" / "libgomp-feedbeef.so.1.0.0")

    def use(*paths):
        monkeypatch.setattr(threadpoolctl, "threadpool_info",
                            lambda: [_fake_openmp(p) for p in paths])

    use(system, bundled)
    info = openmp_runtime_info()
    assert info["filepath"] == bundled and info["bundled"] is True
    use(system)
    info = openmp_runtime_info()
    assert info["filepath"] == system and info["bundled"] is False
    use(system, other)
    assert openmp_runtime_info() is None
    buf = io.StringIO()
    assert fastgmm.show_config(file=buf)["openmp_runtime"] is None
    assert "OpenMP runtime:    not found" in buf.getvalue()


@pytest.mark.skipif(openmp_enabled(), reason="built with OpenMP")
def test_show_config_without_openmp():  # pragma: no cover - OpenMP builds
    buf = io.StringIO()
    info = fastgmm.show_config(file=buf)
    assert info["openmp"] is False and info["openmp_runtime"] is None
    assert "OpenMP:            off" in buf.getvalue()
