"""The installed distribution: version, and (for a wheel) its contents.

The checks marked ``installed_wheel`` only mean something when fastgmm was
installed from a wheel; they run when ``FASTGMM_TEST_INSTALLED_WHEEL=1``
(``.ci/wheel_check.sh`` sets it while it runs the suite against the repaired
wheel) and are skipped otherwise.  Under that variable they fail, rather
than skip, if the fastgmm under test is not the installed copy.
"""

import importlib.metadata
import os
import re
import sys
import sysconfig

import pytest

import fastgmm
from fastgmm._config import openmp_runtime_info
from fastgmm._openmp_helpers import openmp_enabled

INSTALLED_WHEEL = os.environ.get("FASTGMM_TEST_INSTALLED_WHEEL", "") not in ("", "0")
installed_wheel = pytest.mark.skipif(
    not INSTALLED_WHEEL,
    reason="set FASTGMM_TEST_INSTALLED_WHEEL=1 to check an installed wheel")

EXTENSION_SUFFIXES = (".so", ".pyd")


def test_version_is_the_distribution_version():
    """One version: meson.build's, in both the metadata and ``__version__``."""
    assert fastgmm.__version__ == importlib.metadata.version("fastgmm")
    assert re.fullmatch(r"\d+\.\d+\.\d+(\.dev\d+|(a|b|rc)\d+)?",
                        fastgmm.__version__)


def _site_packages():
    paths = sysconfig.get_paths()
    return {os.path.realpath(paths[k]) for k in ("purelib", "platlib")}


def _inside(path, directory):
    return os.path.commonpath([os.path.realpath(path), directory]) == directory


def _installed_files():
    return [str(f).replace("\\", "/")
            for f in importlib.metadata.files("fastgmm")]


@installed_wheel
def test_fastgmm_is_the_installed_copy():
    assert sys.prefix != sys.base_prefix, "expected to run inside a venv"
    pkg_dir = os.path.realpath(os.path.dirname(fastgmm.__file__))
    assert any(_inside(pkg_dir, site) for site in _site_packages()), pkg_dir
    # No source checkout can shadow it: nothing else on sys.path holds a
    # fastgmm package.
    shadows = [p for p in sys.path
               if os.path.isfile(os.path.join(p or ".", "fastgmm", "__init__.py"))
               and os.path.realpath(os.path.join(p or ".", "fastgmm")) != pkg_dir]
    assert not shadows


@installed_wheel
def test_wheel_contents():
    files = _installed_files()
    pkg = [f for f in files if f.startswith("fastgmm/")]
    assert not [f for f in pkg if f.endswith((".pyx", ".pxd", ".c", ".cpp"))]
    assert "fastgmm/py.typed" in pkg
    # compiled modules sit directly in fastgmm/ (bundled libraries do not)
    extensions = [f for f in pkg
                  if f.count("/") == 1 and f.endswith(EXTENSION_SUFFIXES)]
    assert extensions
    for ext in extensions:  # a stub beside every compiled module
        stub = "fastgmm/" + os.path.basename(ext).split(".")[0] + ".pyi"
        assert stub in pkg, f"no {stub} for {ext}"
    assert "fastgmm/data/iris.csv" in pkg
    assert "fastgmm/_version.py" in pkg


@installed_wheel
def test_wheel_bundles_the_openmp_runtime():
    # A release wheel without OpenMP would be a broken build, not a variant.
    assert openmp_enabled()
    runtime = openmp_runtime_info()
    assert runtime is not None and runtime["bundled"], runtime
    # ... and it is a file the wheel installed.
    rel = os.path.relpath(os.path.realpath(runtime["filepath"]),
                          os.path.dirname(os.path.dirname(
                              os.path.realpath(fastgmm.__file__))))
    assert rel.replace("\\", "/") in _installed_files()
