"""Constructor parameters: one table of constraints for every estimator.

Each entry checks one constructor parameter and raises scikit-learn's
``InvalidParameterError`` with its message.  :func:`validate_params` checks
every constructor parameter of an estimator that the table names, so an
estimator and the model selector that builds estimators with the same
settings can never drift apart; a new estimator's parameters are new rows.
"""

from functools import partial

from ._covariance import COVARIANCE_TYPES
from ._validation import (
    check_array_like_or_none,
    check_bool_param,
    check_none_or_array_like,
    check_n_threads_param,
    check_options,
    check_positive_array_like_or_none,
    check_positive_or_none,
    check_random_state_param,
    check_scalar_param,
)

#: ``init_params`` values: scikit-learn's four and fastgmm's 'hierarchical'.
INIT_PARAMS = ("kmeans", "k-means++", "random", "random_from_data", "hierarchical")
#: ``weight_concentration_prior_type`` values of the Bayesian mixture.
WEIGHT_PRIOR_TYPES = ("dirichlet_process", "dirichlet_distribution")
#: The model selector's information criteria.
CRITERIA = ("bic", "aic")
#: ``missing`` values: NaN is an error (scikit-learn's behaviour), or a
#: missing entry that the EM marginalises (``_missing``).
MISSING_OPTIONS = ("raise", "marginalize")


def _options(values):
    return lambda value, name, owner: check_options(value, name, values, owner)


#: parameter name -> ``check(value, name, owner)``
PARAMETER_CONSTRAINTS = {
    "n_components": partial(check_scalar_param, kind="int", low=1),
    "covariance_type": _options(COVARIANCE_TYPES),
    "tol": partial(check_scalar_param, kind="real", low=0.0),
    "reg_covar": partial(check_scalar_param, kind="real", low=0.0),
    "max_iter": partial(check_scalar_param, kind="int", low=0),
    "n_init": partial(check_scalar_param, kind="int", low=1),
    "init_params": _options(INIT_PARAMS),
    "weights_init": check_array_like_or_none,
    "means_init": check_array_like_or_none,
    "precisions_init": check_array_like_or_none,
    "random_state": check_random_state_param,
    "warm_start": check_bool_param,
    # scikit-learn accepts True/False as verbosity levels
    "verbose": partial(check_scalar_param, kind="int", low=0, allow_bool=True),
    "verbose_interval": partial(check_scalar_param, kind="int", low=1),
    "n_threads": check_n_threads_param,
    "criterion": _options(CRITERIA),
    "missing": _options(MISSING_OPTIONS),
    # BayesianGaussianMixture's priors (checked against the data in fit)
    "weight_concentration_prior_type": _options(WEIGHT_PRIOR_TYPES),
    "weight_concentration_prior": check_positive_or_none,
    "mean_precision_prior": check_positive_or_none,
    "mean_prior": check_none_or_array_like,
    "degrees_of_freedom_prior": check_positive_or_none,
    "covariance_prior": check_positive_array_like_or_none,
}


def check_param(value, name, owner):
    """Check one value against the table's constraint for ``name``."""
    PARAMETER_CONSTRAINTS[name](value, name, owner=owner)


def validate_params(estimator, skip=()):
    """Check every constructor parameter of ``estimator`` the table names
    (in constructor order), except those in ``skip``."""
    owner = type(estimator).__name__
    for name, value in estimator.get_params(deep=False).items():
        if name in PARAMETER_CONSTRAINTS and name not in skip:
            check_param(value, name, owner)
