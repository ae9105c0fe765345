#!/usr/bin/env bash
# Runs the Python client tests: ccxt, bpx-py and backpack-exchange-sdk, unmodified, against a
# real `rucksack serve` (see conftest.py). Exits non-zero if any test fails.
#
#   tests/clients/run.sh [pytest options, e.g. -x -k "lifecycle"]
#
# Environment:
#   RUCKSACK_BIN       the server binary to test; when unset, `cargo build -p rucksack-node`
#                      builds it into $CARGO_TARGET_DIR (default ./target)/debug/rucksack
#   PYTHON             the interpreter to build the environments from (default python3)
#   RUCKSACK_CLIENT_ENVS  where the environments live (default <target>/client-venv)
#
# ccxt 4.5.90 needs cryptography>=50 while bpx-py 2.0.11 needs cryptography<44, so there are two
# environments, each made once from its pinned requirements and reused until they change.
set -euo pipefail
# Command substitutions (the environments below are made in one) stop at errors too.
shopt -s inherit_errexit 2>/dev/null || true

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
target="${CARGO_TARGET_DIR:-$repo/target}"
case "$target" in /*) ;; *) target="$repo/$target" ;; esac
python="${PYTHON:-python3}"
envs="${RUCKSACK_CLIENT_ENVS:-$target/client-venv}"

if [ -z "${RUCKSACK_BIN:-}" ]; then
  (cd "$repo" && cargo build --quiet -p rucksack-node)
  export RUCKSACK_BIN="$target/debug/rucksack"
fi
[ -x "$RUCKSACK_BIN" ] || { echo "run.sh: no server binary at $RUCKSACK_BIN" >&2; exit 1; }

# Prints the interpreter of an environment holding exactly the pins of requirements file $2.
environment() {
  local dir="$envs/$1" requirements="$here/$2" digest
  digest="$("$python" -c 'import hashlib, sys; print(hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest())' "$requirements")"
  if [ ! -x "$dir/bin/python" ] || [ "$(cat "$dir/.requirements" 2>/dev/null)" != "$digest" ]; then
    echo "run.sh: installing $2 into $dir" >&2
    rm -rf "$dir" && mkdir -p "$envs" || exit 1
    "$python" -m venv "$dir" >&2 || {
      echo "run.sh: '$python -m venv' failed (Debian and Ubuntu need the python3-venv package)" >&2
      exit 1
    }
    "$dir/bin/python" -m pip install --quiet --disable-pip-version-check --timeout 60 \
      --requirement "$requirements" >&2 || exit 1
    echo "$digest" >"$dir/.requirements" || exit 1
  fi
  echo "$dir/bin/python"
}

main_python="$(environment main requirements.txt)"
bpx_python="$(environment bpx-py requirements-bpx-py.txt)"

# No caches or bytecode left in the source tree; every test bounded in time.
export PYTHONDONTWRITEBYTECODE=1
pytest_args=(-p no:cacheprovider --timeout=180 -q -rfE)

# Runs pytest on files $2... with interpreter $1, remembering a failure. With options given, a
# session that selects no test (pytest's exit code 5) is not one.
status=0
session() {
  local interpreter="$1" code=0
  shift
  "$interpreter" -m pytest "${pytest_args[@]}" "$@" || code=$?
  if [ "$code" -ne 0 ] && ! { [ "$code" -eq 5 ] && [ "$extra" -gt 0 ]; }; then
    status=1
  fi
}

cd "$here"
extra=$#
session "$main_python" test_ccxt.py test_ccxt_pro.py test_backpack_sdk.py test_unified_account.py test_perpetuals.py "$@"
session "$bpx_python" test_bpx_py.py "$@"
exit "$status"
