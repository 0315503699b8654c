#!/usr/bin/env bash
# Every shared library that Qt's platform (xcb, wayland, offscreen), multimedia (FFmpeg), TLS and
# image-format plugins and the Qt libraries the app imports need must resolve: `ldd` finds none
# "not found". Run inside the fresh root right after the app's bootstrap.
set -euo pipefail
cd "$(dirname "$0")/.."
qt=$(.venv/bin/python -c 'import PySide6, os; print(os.path.join(os.path.dirname(PySide6.__file__), "Qt"))')
files=("$qt"/plugins/platforms/*.so "$qt"/plugins/multimedia/*.so "$qt"/plugins/xcbglintegrations/*.so
       "$qt"/plugins/wayland-*/*.so "$qt"/plugins/tls/*.so "$qt"/plugins/imageformats/*.so
       "$qt"/lib/libQt6{Core,Gui,Widgets,Multimedia,MultimediaWidgets,Network,DBus,OpenGL,XcbQpa,WaylandClient}.so.6)
bad=0
for f in "${files[@]}"; do
  [ -e "$f" ] || continue
  missing=$(ldd "$f" 2>/dev/null | awk '/not found/ {print $1}' | tr '\n' ' ')
  if [ -n "$missing" ]; then
    echo "check-qt-libs: ${f#"$qt"/} needs: $missing" >&2
    bad=1
  fi
done
[ $bad -eq 0 ] && echo "  Qt plugins: every library they load is installed (${#files[@]} files checked)"
exit $bad
