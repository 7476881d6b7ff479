"""Estimator base classes and exceptions.

With scikit-learn installed, fastgmm's estimators are genuine scikit-learn
estimators (``BaseEstimator``, ``DensityMixin``: ``get_params``,
``set_params``, ``__sklearn_tags__``, ``clone`` ...) and raise/warn with
scikit-learn's own exception classes, so code that catches
``NotFittedError``, filters ``ConvergenceWarning`` or catches a bad
parameter keeps working.  Without it, small stand-ins with the same
behaviour are used (``tests/test_sklearn_compat.py`` runs fastgmm with
scikit-learn's import blocked).
"""

import inspect

try:
    from sklearn.base import BaseEstimator, DensityMixin
    from sklearn.exceptions import ConvergenceWarning, NotFittedError

    HAVE_SKLEARN = True
except ImportError:  # pragma: no cover - exercised by a subprocess test
    HAVE_SKLEARN = False

try:
    # scikit-learn's error for a bad constructor parameter (a ValueError and
    # a TypeError).  It lives in a private module: fall back to our own class
    # should it ever move.
    from sklearn.utils._param_validation import InvalidParameterError
except ImportError:  # pragma: no cover - exercised by a subprocess test

    class InvalidParameterError(ValueError, TypeError):
        """Raised when a constructor parameter has a bad type or value."""


if not HAVE_SKLEARN:  # pragma: no cover - exercised by a subprocess test

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
            out = {}
            for name in self._get_param_names():
                value = getattr(self, name)
                # nested estimators' parameters as 'name__param', as scikit-learn
                if deep and hasattr(value, "get_params") and not isinstance(value, type):
                    out.update((f"{name}__{k}", v)
                               for k, v in value.get_params().items())
                out[name] = value
            return out

        def set_params(self, **params):
            valid = self._get_param_names()
            nested = {}
            for key, value in params.items():
                name, _, sub = key.partition("__")
                if name not in valid:
                    raise ValueError(
                        f"Invalid parameter {name!r} for estimator {self!r}. "
                        f"Valid parameters are: {valid!r}.")
                if sub:
                    nested.setdefault(name, {})[sub] = value
                else:
                    setattr(self, name, value)
            for name, sub_params in nested.items():
                getattr(self, name).set_params(**sub_params)
            return self

        def __repr__(self):
            sig = inspect.signature(type(self).__init__)
            changed = []
            for name, p in sig.parameters.items():
                if name == "self" or p.kind == p.VAR_KEYWORD:
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

        _estimator_type = "density_estimator"


def check_is_fitted(estimator, attribute="means_"):
    """Raise NotFittedError unless ``estimator`` has ``attribute``."""
    if not hasattr(estimator, attribute):
        raise NotFittedError(
            f"This {type(estimator).__name__} instance is not fitted yet. Call "
            "'fit' with appropriate arguments before using this estimator.")
