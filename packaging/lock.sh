#!/usr/bin/env bash
# Refresh the lock file (uv.lock: every package of the app, the demo stack, the bundle builder and
# the test tools, each file pinned by SHA-256) to the newest versions pyproject.toml allows, then
# regenerate the licence notes from it. Review the diff, run the tests, commit both files.
#   bash packaging/lock.sh                 # upgrade everything
#   bash packaging/lock.sh --upgrade-package boto3   # or only some packages
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/uv ] || { echo "run bash packaging/bootstrap.sh first" >&2; exit 1; }
args=("$@")
[ ${#args[@]} -eq 0 ] && args=(--upgrade)
.venv/bin/uv lock --system-certs "${args[@]}"
.venv/bin/uv sync --quiet --locked --inexact --system-certs --python .venv/bin/python \
  --extra demo --extra test
.venv/bin/python packaging/licenses.py --write
echo "uv.lock and packaging/THIRD_PARTY_LICENSES.md refreshed; run the tests, then commit both."
