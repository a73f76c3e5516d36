#!/usr/bin/env bash
# Offline install check, as a secure research environment would do it (docs/offline_install.md):
# build the bundle for linux-py311 (with the test extra), then, in a network namespace with no
# network at all (unshare --net) and an environment cleared of every pip setting, verify the
# checksums, create a fresh virtual environment, install from the wheelhouse with --no-index,
# check that exactly the locked versions are installed, and run the project from the bundle's own
# source: her2meta --help, her2meta config check, the whole demo workflow, and a few tests.
#
#   bash tools/check_offline_install.sh [--keep DIR]     # DIR: keep the bundle and the venv there
#
# Needs the internet (PyPI) for the build only. The no-network namespace needs root (CI runs as
# root); without it the check still runs with pip's --no-index and a bogus index, and says so,
# except under CI=true, where it stops.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

if [[ "${1:-}" == "--keep" ]]; then
    WORK=$(mkdir -p "$2" && cd "$2" && pwd)
else
    WORK=$(mktemp -d /tmp/her2meta-offline.XXXXXX)
    trap 'rm -rf "$WORK"' EXIT
fi
# The interpreter itself, not a shim (pyenv's shims need variables the clean environment lacks).
PYTHON=$(python3 -c 'import sys; print(sys.executable)')

t0=$SECONDS
python3 tools/offline_bundle.py build --with-test --out "$WORK/bundle"
build_s=$((SECONDS - t0))
bundle_mb=$(du -sm "$WORK/bundle" | cut -f1)
wheels=$(ls "$WORK/bundle/wheelhouse" | wc -l)

if unshare --net true 2>/dev/null; then
    ISOLATE=(unshare --net)
    isolation="no network (unshare --net)"
elif [[ "${CI:-}" == "true" ]]; then
    echo "check_offline_install: cannot create a network namespace (unshare --net) in CI" >&2
    exit 1
else
    ISOLATE=()
    isolation="network present; pip --no-index and a bogus index only"
fi

# Everything below runs with no network, no pip configuration and a fresh home folder: anything
# that tried to fetch would fail.
mkdir -p "$WORK/home" "$WORK/run"
t1=$SECONDS
"${ISOLATE[@]}" env -i PATH="$WORK/venv/bin:/usr/bin:/bin" HOME="$WORK/home" LANG=C.UTF-8 \
    PIP_CONFIG_FILE=/dev/null PIP_NO_INDEX=1 PIP_INDEX_URL=http://127.0.0.1:9/no-index-here \
    PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHON="$PYTHON" WORK="$WORK" bash -euo pipefail -c '
cd "$WORK"
"$PYTHON" bundle/offline_bundle.py verify bundle
"$PYTHON" -m venv venv
venv/bin/python -m pip install --quiet --no-index --find-links bundle/wheelhouse -r bundle/requirements.txt her2meta
venv/bin/python -m pip check
venv/bin/python bundle/offline_bundle.py installed bundle/requirements.txt
'
install_s=$((SECONDS - t1))

t2=$SECONDS
"${ISOLATE[@]}" env -i PATH="$WORK/venv/bin:/usr/bin:/bin" HOME="$WORK/home" LANG=C.UTF-8 \
    PIP_CONFIG_FILE=/dev/null PIP_NO_INDEX=1 PIP_INDEX_URL=http://127.0.0.1:9/no-index-here \
    WORK="$WORK" bash -euo pipefail -c '
cd "$WORK/run"
python -m zipfile -e "$WORK/bundle/her2meta-src.zip" .
cd her2meta
test "$(command -v her2meta)" = "$WORK/venv/bin/her2meta"
her2meta --help >/dev/null
her2meta config check
snakemake --cores 2 --dry-run --quiet rules >/dev/null
snakemake --cores 2 > "$WORK/workflow.log" 2>&1 || { tail -n 60 "$WORK/workflow.log"; exit 1; }
tail -n 2 "$WORK/workflow.log"
test -s results/report/index.html
python -m pytest -q -p no:cacheprovider tests/test_offline_bundle.py tests/test_portability.py tests/test_config.py
'
smoke_s=$((SECONDS - t2))

echo "offline install check passed: bundle ${bundle_mb} MB (${wheels} wheels), build ${build_s} s," \
     "offline install ${install_s} s, workflow and tests from the bundle ${smoke_s} s; ${isolation}"
