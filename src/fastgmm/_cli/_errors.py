"""The CLI's error type and its one-line messages on stderr."""

import sys


class CLIError(Exception):
    """A user error, reported as one line and exit code 1."""


def _one_line(exc):
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = " ".join(lines) or type(exc).__name__
    return text if len(text) <= 400 else text[:397] + "..."


def _note(message):
    print(f"fastgmm: {message}", file=sys.stderr)


# ------------------------------------------------------------ reading data


def _report_warnings(caught):
    counts = {}
    for w in caught:
        message = _one_line(w.message)
        counts[message] = counts.get(message, 0) + 1
    for message, count in counts.items():
        times = f" ({count} times)" if count > 1 else ""
        _note(f"warning: {message}{times}")
