"""The ``fastgmm`` command line (also ``python -m fastgmm``).

Subcommands ``fit``, ``predict``, ``sample`` and ``info``; with no subcommand
the arguments go to ``fit``, so ``fastgmm`` alone fits the bundled iris data.
Every failure the user can cause (bad files, columns, models, parameters) ends
in one ``fastgmm: error: ...`` line on stderr and exit code 1 (2 for a wrong
command line), never a traceback; ``FASTGMM_DEBUG=1`` re-raises instead.
"""

import os
import sys
import warnings

from ._errors import CLIError, _note, _one_line
from ._parser import COMMANDS, _check_fit_args, build_parser

__all__ = ["main", "CLIError"]


def main(argv=None):
    """Run the command line; returns the exit code.

    Parameters
    ----------
    argv : list of str or None
        Arguments without the program name (default ``sys.argv[1:]``).
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0].startswith("-") and argv[0] not in
                    ("-h", "--help", "--version")):
        argv.insert(0, "fit")
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            parser.error(f"choose a command: {', '.join(COMMANDS)}")
        if args.command == "fit":
            _check_fit_args(args.subparser, args)
    except SystemExit as exc:  # --help, --version or a usage error
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None
                                                            else 2)
    try:
        with warnings.catch_warnings():
            # The CLI matches a file's columns to the model's feature names
            # itself, then hands the estimator plain arrays.
            warnings.filterwarnings("ignore", message="X does not have valid feature names")
            return args.func(args)
    except BrokenPipeError:
        # the reader went away (``| head``): stop quietly
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError, AttributeError):
            pass
        return 141
    except KeyboardInterrupt:
        _note("interrupted")
        return 130
    except Exception as exc:
        if os.environ.get("FASTGMM_DEBUG"):
            raise
        if isinstance(exc, (CLIError, ValueError, TypeError, OSError, ImportError)):
            _note(f"error: {_one_line(exc)}")
        else:
            _note(f"error: {type(exc).__name__}: {_one_line(exc)}")
        return 1
