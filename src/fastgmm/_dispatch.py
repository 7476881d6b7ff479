"""Pick the kernel build for this CPU.

Each kernel module is compiled three times on x86-64: for the portable
baseline, with AVX2 + FMA, and with AVX-512 (F, CD, BW, DQ, VL, as in
x86-64-v4); other platforms have the baseline only.  The widest build the
CPU supports (as ``_cpu.cpu_features`` detects them) is used.
``FASTGMM_DISABLE_AVX512=1`` caps the choice at AVX2 and
``FASTGMM_DISABLE_AVX2=1`` forces the baseline.  Within one build the
results are bitwise identical for any thread count; different builds may
differ in the last bits (FMA rounding, summation lanes).
"""

import importlib
import os

from ._cpu import cpu_features

# Build name -> CPU features it needs, widest first.
_BUILDS = (
    ("avx512", ("AVX512F", "AVX512CD", "AVX512BW", "AVX512DQ", "AVX512VL",
                "AVX2", "FMA3")),
    ("avx2", ("AVX2", "FMA3")),
)


def _disabled(name):
    return os.environ.get("FASTGMM_DISABLE_" + name.upper(), "") not in ("", "0")


def available_builds(skip=()):
    """Names of the kernel builds this machine can run, widest first
    (``"baseline"`` always last).  Builds named in ``skip`` are not even
    imported (their module start-up code needs the instructions)."""
    cpu = cpu_features()
    names = []
    for name, needs in _BUILDS:
        if name in skip or not all(cpu.get(f) for f in needs):
            continue
        try:
            importlib.import_module(f"{__package__}._em_{name}")
            importlib.import_module(f"{__package__}._kmeans_{name}")
        except ImportError:  # not built (other platform or compiler)
            continue
        names.append(name)
    return names + ["baseline"]


def load(name):
    """The (em, kmeans) kernel modules of build ``name``."""
    suffix = "" if name == "baseline" else "_" + name
    return (importlib.import_module(f"{__package__}._em{suffix}"),
            importlib.import_module(f"{__package__}._kmeans{suffix}"))


def _choose():
    # FASTGMM_DISABLE_AVX2 also disables the wider builds
    if _disabled("avx2"):
        return "baseline"
    return available_builds(skip=("avx512",) if _disabled("avx512") else ())[0]


variant = _choose()
em, kmeans = load(variant)
