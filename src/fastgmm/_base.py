"""Estimator base classes and exceptions.

With scikit-learn installed, fastgmm's estimators are genuine scikit-learn
estimators and raise/warn with scikit-learn's own exception classes, so code
that catches ``NotFittedError`` or filters ``ConvergenceWarning`` keeps
working.  Without it, small stand-ins with the same behaviour are used.
"""

import inspect

try:
    from sklearn.base import BaseEstimator, DensityMixin
    from sklearn.exceptions import ConvergenceWarning, NotFittedError

    HAVE_SKLEARN = True
except ImportError:  # pragma: no cover - exercised by a subprocess test
    HAVE_SKLEARN = False

    class NotFittedError(ValueError, AttributeError):
        """Raised when a method needs a fitted estimator."""

    class ConvergenceWarning(UserWarning):
        """Warned when EM stopped before meeting its tolerance."""

    class BaseEstimator:
        """Minimal get_params/set_params/repr, as scikit-learn's."""

        @classmethod
        def _get_param_names(cls):
            sig = inspect.signature(cls.__init__)
            return sorted(p.name for p in sig.parameters.values()
                          if p.name != "self" and p.kind != p.VAR_KEYWORD)

        def get_params(self, deep=True):
            return {name: getattr(self, name) for name in self._get_param_names()}

        def set_params(self, **params):
            valid = self._get_param_names()
            for key, value in params.items():
                if key not in valid:
                    raise ValueError(
                        f"Invalid parameter {key!r} for estimator {self!r}. "
                        f"Valid parameters are: {valid!r}.")
                setattr(self, key, value)
            return self

        def __repr__(self):
            sig = inspect.signature(type(self).__init__)
            changed = []
            for name, p in sig.parameters.items():
                if name == "self":
                    continue
                value = getattr(self, name)
                default = p.default
                same = value is default or (
                    not hasattr(value, "shape") and type(value) is type(default)
                    and value == default)
                if not same:
                    changed.append(f"{name}={value!r}")
            return f"{type(self).__name__}({', '.join(changed)})"

    class DensityMixin:
        """Marks density estimators."""

        _estimator_type = "DensityEstimator"


def check_is_fitted(estimator, attribute="means_"):
    """Raise NotFittedError unless ``estimator`` has ``attribute``."""
    if not hasattr(estimator, attribute):
        raise NotFittedError(
            f"This {type(estimator).__name__} instance is not fitted yet. Call "
            "'fit' with appropriate arguments before using this estimator.")
