"""fastgmm: Gaussian mixture models fitted by EM with fused Cython/OpenMP kernels.

Drop-ins for :class:`sklearn.mixture.GaussianMixture` and
:class:`~sklearn.mixture.BayesianGaussianMixture` that read the data
once per EM iteration, support sample weights and float32, never copy a
C-contiguous input, and give bitwise identical results for any number of
threads.
"""

from ._base import ConvergenceWarning, NotFittedError
# GaussianMixture first: the estimators register as loadable in import
# order, which is the order load()'s "not a fastgmm ... model" error names them
from ._gaussian_mixture import GaussianMixture
from ._bayesian_mixture import BayesianGaussianMixture
from ._config import show_config
from ._datasets import load_iris
from ._persistence import load
from ._selection import GaussianMixtureSelector
from ._version import __version__

__all__ = [
    "BayesianGaussianMixture",
    "ConvergenceWarning",
    "GaussianMixture",
    "GaussianMixtureSelector",
    "NotFittedError",
    "__version__",
    "load",
    "load_iris",
    "show_config",
]
