#!/usr/bin/env bash
# Build the desktop bundle (PyInstaller one-folder app) for this platform:
#   bash packaging/build_app.sh            -> packaging/out/dist/medispecs-desktop/
# Needs the app's virtual environment (.venv, see packaging/bootstrap.sh); brings it to exactly the
# lock file's versions with the `bundle` extra (PyInstaller, locked too), so the bundle ships what
# packaging/THIRD_PARTY_LICENSES.md lists. Prints the build time and the bundle's size.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
UV="$(dirname "$PY")/uv"
[ -x "$UV" ] || { echo "build_app: $UV missing: run bash packaging/bootstrap.sh first" >&2; exit 1; }
"$UV" sync --quiet --locked --inexact --system-certs --python "$PY" --extra demo --extra bundle
out=packaging/out
start=$(date +%s)
"$PY" -m PyInstaller --noconfirm --clean --log-level WARN \
  --distpath "$out/dist" --workpath "$out/build" packaging/medispecs-desktop.spec
app="$out/dist/medispecs-desktop"
[ -x "$app/medispecs-desktop" ] || { echo "build_app: no executable in $app" >&2; exit 1; }
# Licences travel with the binaries.
cp packaging/THIRD_PARTY_LICENSES.md "$app/"
"$PY" packaging/collect_licenses.py "$out/build/medispecs-desktop" "$app"
if [ "$(uname -s)" = "Linux" ]; then
  mkdir -p "$app/share/applications" "$app/share/icons/hicolor/scalable/apps"
  cp packaging/linux/medispecs-desktop.desktop "$app/share/applications/"
  if [ -f resources/icons/app.svg ]; then
    cp resources/icons/app.svg "$app/share/icons/hicolor/scalable/apps/medispecs-desktop.svg"
  fi
fi
echo "Built $app in $(( $(date +%s) - start )) s, $(du -sh "$app" | cut -f1)"
