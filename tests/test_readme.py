"""Run the README's code so that its examples cannot rot.

Rules (written for README authors):

- Every ```python block runs.  Blocks under the same heading share one
  namespace and run in order, in a temporary directory.
- A ```text block right after a ```python block (only blank lines between)
  is that block's expected stdout, compared line by line (trailing spaces
  ignored).
- In ```console blocks every ``$ fastgmm ...`` (or ``$ python -m fastgmm
  ...``) line runs through ``fastgmm._cli.main`` and must exit with 0; the
  lines after a command, if any, are its expected stdout (``time 1.234s``
  matches any time).  All console blocks share one directory, in order.
- ``<!-- readme-test: skip ... -->`` on the line(s) before a block: not run
  (an illustration that needs the reader's own files).
- ``<!-- readme-test: requires NAME ... -->``: the block runs only when every
  NAME exists (``fastgmm.X`` as an attribute or module of fastgmm, otherwise
  an importable module); such a block is its own test, which first reruns the
  blocks before it under the same heading (console: all earlier console
  blocks).
"""

import contextlib
import importlib.util
import io
import os
import re
import shlex
from dataclasses import dataclass, field

import pytest

README = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                      "README.md")
MARKER = re.compile(r"^<!--\s*readme-test:\s*(.*?)\s*-->\s*$")
TIME = re.compile(r"time \d+(\.\d+)?s")


@dataclass
class Block:
    lang: str
    code: str
    line: int
    heading: str
    marker: str = ""
    output: list = field(default_factory=lambda: None)


def parse(text):
    """Fenced blocks with their heading, marker and expected output."""
    blocks = []
    heading, marker = "", ""
    lines = text.splitlines()
    i = 0
    last_closed = None   # the block whose closing fence is the last non-blank line
    while i < len(lines):
        line = lines[i]
        fence = re.match(r"^```(\S*)", line)
        if fence:
            start = i
            i += 1
            body = []
            while i < len(lines) and not lines[i].startswith("```"):
                body.append(lines[i])
                i += 1
            block = Block(fence.group(1), "\n".join(body) + "\n", start + 1, heading,
                          marker)
            if block.lang == "text" and last_closed is not None and \
                    last_closed.lang == "python" and not marker:
                last_closed.output = body
            else:
                blocks.append(block)
            last_closed = block
            marker = ""
        elif line.startswith("#"):
            heading = line.lstrip("#").strip()
            marker, last_closed = "", None
        elif MARKER.match(line):
            marker = MARKER.match(line).group(1)
            last_closed = None
        elif line.strip():
            marker, last_closed = "", None
        i += 1
    return blocks


def _available(name):
    import fastgmm

    if name.startswith("fastgmm."):
        attr = name.split(".", 1)[1]
        if hasattr(fastgmm, attr):
            return True
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def missing_requirements(block):
    words = block.marker.split()
    if not words or words[0] != "requires":
        return []
    return [name for name in words[1:] if not _available(name)]


def _compare(got, expected, where):
    got_lines = [line.rstrip() for line in got.rstrip("\n").splitlines()]
    want_lines = [line.rstrip() for line in expected]
    while want_lines and not want_lines[-1]:
        want_lines.pop()
    assert got_lines == want_lines, (
        f"{where}: output differs from the README\n--- README\n"
        + "\n".join(want_lines) + "\n--- got\n" + "\n".join(got_lines))


def run_python(block, namespace, check_output=True):
    out = io.StringIO()
    code = compile(block.code, f"README.md:{block.line}", "exec")
    with contextlib.redirect_stdout(out):
        exec(code, namespace)
    if check_output and block.output is not None:
        _compare(out.getvalue(), block.output, f"README.md:{block.line}")


def console_commands(block):
    """(argv, expected output lines or None, line) for every $ command."""
    commands = []
    for offset, line in enumerate(block.code.splitlines()):
        if line.startswith("$ "):
            words = shlex.split(line[2:])
            if words[:1] == ["fastgmm"]:
                argv = words[1:]
            elif words[:3] == ["python", "-m", "fastgmm"]:
                argv = words[3:]
            else:
                raise AssertionError(f"README.md:{block.line + offset + 1}: only "
                                     f"fastgmm commands can be run: {line!r}")
            commands.append([argv, [], block.line + offset + 1])
        elif commands:
            commands[-1][1].append(line)
    return [(argv, out or None, line) for argv, out, line in commands]


def run_console(block, check_output=True):
    from fastgmm._cli import main

    for argv, expected, line in console_commands(block):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(argv)
        assert code == 0, f"README.md:{line}: exit code {code}: {err.getvalue()}"
        if check_output and expected is not None:
            _compare(TIME.sub("time <t>", out.getvalue()),
                     [TIME.sub("time <t>", e) for e in expected], f"README.md:{line}")


# ------------------------------------------------------------------ items
with open(README, encoding="utf-8") as _f:
    BLOCKS = parse(_f.read())
RUNNABLE = [b for b in BLOCKS if b.lang in ("python", "console")
            and not b.marker.startswith("skip")]


def _items():
    """One test per heading (its unmarked blocks), one per `requires` block."""
    items, seen = [], set()
    for b in RUNNABLE:
        if b.marker.startswith("requires"):
            items.append(pytest.param(b.lang, b.heading, b,
                                      id=f"{b.lang}:{b.heading}:line{b.line}"))
        elif b.lang == "console" and "console" not in seen:
            seen.add("console")
            items.append(pytest.param("console", None, None, id="console"))
        elif b.lang == "python" and b.heading not in seen:
            seen.add(b.heading)
            items.append(pytest.param("python", b.heading, None,
                                      id=f"python:{b.heading}"))
    return items


@pytest.fixture(autouse=True)
def _one_openmp_thread():
    # Results do not depend on the thread count; one thread keeps these tiny
    # fits fast on a loaded machine.
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="openmp"):
        yield


@pytest.mark.parametrize("lang, heading, target", _items())
def test_readme_block(lang, heading, target, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    if target is not None:
        missing = missing_requirements(target)
        if missing:
            pytest.skip(f"README.md:{target.line} needs {', '.join(missing)}")
    namespace = {"__name__": "__readme__"}
    for b in RUNNABLE:
        if b.lang != lang or (lang == "python" and b.heading != heading):
            continue
        if target is None and b.marker.startswith("requires"):
            continue  # its own test
        if target is not None and b.line > target.line:
            break
        is_setup = target is not None and b is not target
        if is_setup and b.marker.startswith("requires") and missing_requirements(b):
            continue
        if lang == "python":
            run_python(b, namespace, check_output=not is_setup)
        else:
            run_console(b, check_output=not is_setup)


def test_readme_has_the_walkthroughs():
    """The parser finds the sections and outputs these tests rely on."""
    headings = {b.heading for b in RUNNABLE if b.lang == "python"}
    for title in ("Two Gaussians in one dimension",
                  "Clusters in two dimensions with K = 2, 3 and 4",
                  "Iris: the first two columns, three components",
                  "Choosing the number of components with BIC and AIC",
                  "`predict` against `predict_proba`",
                  "Generating new data with `sample`",
                  "Saving and loading a model"):
        assert title in headings
    assert sum(b.output is not None for b in RUNNABLE) >= 5
    commands = [argv[0] for b in RUNNABLE if b.lang == "console"
                for argv, _, _ in console_commands(b)]
    assert {"fit", "predict", "sample", "info"} <= set(commands)
    selector = [b for b in RUNNABLE if "GaussianMixtureSelector" in b.code]
    assert selector and not any(b.marker for b in selector)


def test_runner_detects_a_wrong_output(tmp_path, monkeypatch):
    text = ("# t\n\n```python\nprint(1 + 1)\n```\n\n```text\n3\n```\n"
            "<!-- readme-test: requires no_such_module_xyz -->\n```python\nx\n```\n")
    blocks = parse(text)
    assert [b.lang for b in blocks] == ["python", "python"]
    assert blocks[0].output == ["3"]
    with pytest.raises(AssertionError, match="output differs"):
        run_python(blocks[0], {})
    assert missing_requirements(blocks[1]) == ["no_such_module_xyz"]
    console = parse("```console\n$ fastgmm info missing-model.npz\n```\n")[0]
    monkeypatch.chdir(tmp_path)
    with pytest.raises(AssertionError, match="exit code 1"):
        run_console(console)
