#!/usr/bin/env bash
# Install a built bundle for the current user (no root): the app folder, a command on PATH, the
# menu entry and the icon.
#   bash packaging/linux/install.sh [APP_DIR]        # default packaging/out/dist/medispecs-desktop
#   bash packaging/linux/install.sh --uninstall
# Installs to ~/.local/opt/medispecs-desktop, ~/.local/bin/medispecs-desktop,
# ~/.local/share/applications/medispecs-desktop.desktop and the hicolor icon theme.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
data="${XDG_DATA_HOME:-$HOME/.local/share}"
opt="$HOME/.local/opt/medispecs-desktop"
bin="$HOME/.local/bin/medispecs-desktop"
desktop="$data/applications/medispecs-desktop.desktop"
icon="$data/icons/hicolor/scalable/apps/medispecs-desktop.svg"

refresh() {
  command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q "$data/applications" || true
  command -v gtk-update-icon-cache >/dev/null 2>&1 && gtk-update-icon-cache -q -t "$data/icons/hicolor" || true
}

if [ "${1:-}" = "--uninstall" ]; then
  rm -rf -- "$opt"
  rm -f -- "$bin" "$desktop" "$icon"
  refresh
  echo "MediSpecs Desktop removed (settings, logs and the upload queue stay in your profile)."
  exit 0
fi

src="${1:-$root/packaging/out/dist/medispecs-desktop}"
[ -x "$src/medispecs-desktop" ] || { echo "install: no bundle at $src (bash packaging/build_app.sh)" >&2; exit 1; }
mkdir -p "$(dirname "$opt")" "$(dirname "$bin")" "$(dirname "$desktop")" "$(dirname "$icon")"
tmp="$opt.new.$$"
rm -rf -- "$tmp"
cp -a "$src" "$tmp"
rm -rf -- "$opt"
mv "$tmp" "$opt"
ln -sfn "$opt/medispecs-desktop" "$bin"
# Absolute paths: menus do not always search ~/.local/bin.
sed -e "s|^Exec=medispecs-desktop|Exec=$opt/medispecs-desktop|" \
    -e "s|^TryExec=medispecs-desktop|TryExec=$opt/medispecs-desktop|" \
    "$here/medispecs-desktop.desktop" > "$desktop"
if [ -f "$src/share/icons/hicolor/scalable/apps/medispecs-desktop.svg" ]; then
  cp "$src/share/icons/hicolor/scalable/apps/medispecs-desktop.svg" "$icon"
elif [ -f "$root/resources/icons/app.svg" ]; then
  cp "$root/resources/icons/app.svg" "$icon"
fi
refresh
echo "Installed: $bin  (menu: MediSpecs Desktop)"
