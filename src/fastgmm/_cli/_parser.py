"""The argument parser and the checks argparse cannot express."""

import argparse
import re

from .._covariance import COVARIANCE_TYPES
from ._commands import _cmd_fit, _cmd_impute, _cmd_info, _cmd_predict, _cmd_sample

COMMANDS = ("fit", "predict", "impute", "sample", "info")


def _k_range(text):
    m = re.fullmatch(r"\s*(\d+)\s*-\s*(\d+)\s*", text)
    if not m or not 1 <= int(m.group(1)) <= int(m.group(2)):
        raise argparse.ArgumentTypeError(
            f"expected K1-K2 with 1 <= K1 <= K2 (e.g. 1-10), got {text!r}")
    return int(m.group(1)), int(m.group(2))


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _add_data_options(p):
    p.add_argument("--columns", action="append", metavar="COLS",
                   help="feature columns: names, 0-based numbers or ranges a-b, "
                        "comma-separated (default: every numeric column)")
    p.add_argument("--header", action=argparse.BooleanOptionalAction, default=None,
                   help="whether a .csv/.tsv file starts with a header line "
                        "(default: guessed)")
    p.add_argument("--array", metavar="NAME",
                   help="array of an .npz file (default: its only array, or 'X')")
    p.add_argument("--dtype", choices=["float32", "float64"],
                   help="compute in this dtype (default: the file's float dtype, "
                        "float64 for text)")


def build_parser():
    parser = argparse.ArgumentParser(
        prog="fastgmm",
        description="Fit Gaussian mixtures, predict, sample and inspect saved "
                    "models. Without a subcommand, the arguments go to 'fit' "
                    "(so 'fastgmm' alone fits the bundled iris data).")
    from .._version import __version__

    parser.add_argument("--version", action="version",
                        version=f"fastgmm {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("fit", help="fit a mixture and print it",
                       description="Fit a Gaussian mixture to DATA (.csv, .tsv, "
                                   ".npy or .npz; default: the bundled iris "
                                   "measurements) and print a summary.")
    p.add_argument("data", nargs="?", metavar="DATA")
    p.add_argument("-k", "--n-components", type=_positive_int, metavar="K",
                   help="number of components (default 3)")
    p.add_argument("--covariance-type", action="append", metavar="TYPE",
                   help="full, tied, diag or spherical (default full); with "
                        "--select several may be given, repeated or comma-"
                        "separated (default: all four)")
    p.add_argument("--select", type=_k_range, metavar="K1-K2",
                   help="fit K1..K2 components and keep the best by --criterion")
    p.add_argument("--criterion", choices=["bic", "aic"],
                   help="selection criterion for --select (default bic)")
    p.add_argument("--bayesian", action="store_true",
                   help="fit a BayesianGaussianMixture: -k is an upper bound and "
                        "the summary reports the effective components")
    p.add_argument("--prior", choices=["dirichlet_process", "dirichlet_distribution"],
                   help="with --bayesian: weight_concentration_prior_type "
                        "(default dirichlet_process)")
    p.add_argument("--init", metavar="METHOD",
                   help="init_params: kmeans, k-means++, random, random_from_data...")
    p.add_argument("--n-init", type=_positive_int, metavar="N")
    p.add_argument("--max-iter", type=int, metavar="N")
    p.add_argument("--tol", type=float)
    p.add_argument("--reg-covar", type=float)
    p.add_argument("--seed", type=int, default=0, help="random_state (default 0)")
    p.add_argument("--threads", type=int, metavar="N")
    p.add_argument("--weights-column", metavar="COL",
                   help="column holding sample weights (name or 0-based number)")
    p.add_argument("--missing", choices=["raise", "marginalize"],
                   help="what empty (or NaN) cells are: 'raise' (default) stops "
                        "with an error; 'marginalize' fits them as missing values "
                        "(EM over each row's observed values)")
    _add_data_options(p)
    p.add_argument("-o", "--output", metavar="MODEL", help="save the fitted model")
    p.add_argument("--labels", metavar="FILE",
                   help="write each row's label and probabilities as CSV")
    p.add_argument("--plot", metavar="FILE.png",
                   help="draw the mixture (and the selection curve) to a PNG")
    p.add_argument("-v", "--verbose", action="count", default=0,
                   help="print every EM iteration")
    p.set_defaults(func=_cmd_fit, subparser=p)

    p = sub.add_parser("predict", help="label data with a saved model",
                       description="Print the component of every row of DATA "
                                   "(with --proba: also the probabilities) as CSV.")
    p.add_argument("model", metavar="MODEL")
    p.add_argument("data", metavar="DATA")
    p.add_argument("--proba", action="store_true",
                   help="also write the probability of each component")
    _add_data_options(p)
    p.add_argument("-o", "--output", metavar="FILE",
                   help=".csv, .tsv, .npy or .npz (default: CSV to stdout)")
    p.set_defaults(func=_cmd_predict)

    p = sub.add_parser("impute", help="fill the empty cells of data with a saved model",
                       description="Write DATA with every missing (empty or NaN) "
                                   "feature value replaced by its conditional mean "
                                   "under the model, given the row's observed "
                                   "values. A .csv/.tsv is written back with its "
                                   "other columns unchanged.")
    p.add_argument("model", metavar="MODEL")
    p.add_argument("data", metavar="DATA")
    _add_data_options(p)
    p.add_argument("-o", "--output", metavar="FILE",
                   help=".csv, .tsv, .npy or .npz (default: CSV to stdout)")
    p.set_defaults(func=_cmd_impute)

    p = sub.add_parser("sample", help="generate data from a saved model",
                       description="Draw N rows from a saved model.")
    p.add_argument("model", metavar="MODEL")
    p.add_argument("-n", "--n-samples", type=_positive_int, required=True,
                   metavar="N")
    p.add_argument("--seed", type=int, help="default: the model's random_state")
    p.add_argument("--with-labels", action="store_true",
                   help="add a 'component' column (CSV) / 'labels' array (.npz)")
    p.add_argument("-o", "--output", metavar="FILE",
                   help=".csv, .tsv, .npy or .npz (default: CSV to stdout)")
    p.set_defaults(func=_cmd_sample)

    p = sub.add_parser("info", help="describe a saved model")
    p.add_argument("model", metavar="MODEL")
    p.set_defaults(func=_cmd_info)
    return parser


def _check_fit_args(parser, args):
    types = []
    for value in args.covariance_type or []:
        types += [t.strip() for t in value.split(",") if t.strip()]
    for t in types:
        if t not in COVARIANCE_TYPES:
            parser.error(f"argument --covariance-type: invalid choice {t!r} "
                         f"(choose from {', '.join(COVARIANCE_TYPES)})")
    args.covariance_type = types or None
    if args.prior is not None and not args.bayesian:
        parser.error("--prior needs --bayesian")
    if args.bayesian and args.select is not None:
        parser.error("--select and --bayesian cannot be used together (a Bayesian "
                     "mixture needs no grid over K: give an upper bound with -k and "
                     "read its effective components)")
    if args.select is None:
        if len(types) > 1:
            parser.error("several --covariance-type values need --select")
        if args.criterion is not None:
            parser.error("--criterion needs --select")
    elif args.n_components is not None:
        parser.error("-k/--n-components and --select cannot be used together")
