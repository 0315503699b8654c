#!/usr/bin/env bash
# Build the desktop bundle (PyInstaller one-folder app) for this platform:
#   bash packaging/build_app.sh            -> packaging/out/dist/medispecs-desktop/
# Needs the app's virtual environment (.venv, see packaging/bootstrap.sh); installs PyInstaller
# into it if missing. Prints the build time and the bundle's size.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
if ! "$PY" -c "import PyInstaller" 2>/dev/null; then
  echo "Installing PyInstaller into $("$PY" -c 'import sys; print(sys.prefix)')"
  "$PY" -m pip install -q "pyinstaller>=6.10"
fi
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
