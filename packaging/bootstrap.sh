#!/usr/bin/env bash
# Prepares a fresh Debian 12 / Ubuntu 24.04 machine (or newer) and installs MediSpecs Desktop
# into .venv from the lock file (uv.lock, every file pinned by its SHA-256):
#   bash packaging/bootstrap.sh          # the app + the embedded demo stack
#   bash packaging/bootstrap.sh --test   # the same + everything the test suite needs
#
# Steps: check Python (3.11 or newer); install the system libraries Qt's xcb, wayland and
# multimedia (FFmpeg) plugins load, and python3-venv, with apt-get (as root, or through sudo);
# create .venv; install uv from packaging/uv-requirements.txt (hash-checked); `uv sync --locked`
# installs exactly the locked versions (it fails if pyproject.toml changed without a new lock:
# refresh both with `bash packaging/lock.sh`).
set -euo pipefail
cd "$(dirname "$0")/.."

mode=app
case "${1:-}" in
  "") ;;
  --test) mode=test ;;
  *) echo "usage: bash packaging/bootstrap.sh [--test]" >&2; exit 2 ;;
esac

die() { echo "bootstrap: $*" >&2; exit 1; }
# a real (not purely virtual) package apt can install
has_candidate() { [[ "$(apt-cache policy "$1" 2>/dev/null)" == *"Candidate: "[0-9]* ]]; }

# --- 1. Python --------------------------------------------------------------------------------
PY=${PYTHON:-python3}
command -v "$PY" >/dev/null 2>&1 || die "python3 is not installed. Install it first: sudo apt-get install python3"
if ! "$PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)'; then
  found=$("$PY" -c 'import sys; print(".".join(map(str, sys.version_info[:3])))')
  die "MediSpecs Desktop needs Python 3.11 or newer; $PY is $found.
  Debian 12 and Ubuntu 24.04 ship a new enough python3. On an older system install a newer
  Python (for example python3.11 from your distribution's backports) and run:
    PYTHON=python3.11 bash packaging/bootstrap.sh"
fi
pyver=$("$PY" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')

# --- 2. System libraries ----------------------------------------------------------------------
# What PySide6's wheels dlopen but do not ship, found by `ldd` over every library and plugin of
# PySide6 (Qt/lib, Qt/plugins/{platforms,multimedia,wayland-*,xcbglintegrations,tls,imageformats})
# on a bare `debootstrap --variant=minbase bookworm` root; .ci/run checks this list stays enough.
debs=(
  # Qt GUI core, fonts, OpenGL/EGL, D-Bus, GLib
  libegl1 libgl1 libopengl0 libfontconfig1 libfreetype6 libglib2.0-0 libdbus-1-3
  libxkbcommon0 libharfbuzz0b
  # xcb platform plugin
  libx11-6 libx11-xcb1 libxcb1 libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1
  libxcb-image0 libxcb-render-util0 libxcb-randr0 libxcb-shape0 libxcb-xfixes0 libxcb-sync1
  libxcb-xkb1 libxcb-render0 libxcb-shm0 libxcb-glx0 libxcb-xinerama0 libxcb-util1 libsm6 libice6
  # wayland platform plugin
  libwayland-client0 libwayland-cursor0 libwayland-egl1
  # multimedia: Qt's FFmpeg plugin (libffmpegmediaplugin.so needs libXrandr, VA-API, libdrm),
  # PulseAudio/PipeWire output
  libxrandr2 libxext6 libxfixes3 libxrender1 libxi6 libdrm2 libva2 libva-drm2 libva-x11-2
  libvdpau1 libpulse0 libasound2
  # keyring (Secret Service over D-Bus) and the OS certificate store
  ca-certificates
)
venv_pkg="python3-venv"
"$PY" -c 'import ensurepip' >/dev/null 2>&1 || debs+=("$venv_pkg" "python${pyver}-venv")
[ "$mode" = test ] && debs+=(xvfb xauth xkb-data curl openssl)

if command -v dpkg-query >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  missing=()
  for p in "${debs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    as_root=()
    if [ "$(id -u)" -ne 0 ]; then
      command -v sudo >/dev/null 2>&1 || die "these system packages are missing and you are not root:
  ${missing[*]}
  Install them as root (apt-get install ${missing[*]}) or install sudo, then run this again."
      as_root=(sudo)
    fi
    echo "Installing system libraries: ${missing[*]}"
    "${as_root[@]}" apt-get update -qq
    # packages this release does not have (e.g. pythonX.Y-venv where python3-venv is enough)
    # are dropped rather than failing the whole install
    available=()
    for p in "${missing[@]}"; do
      if has_candidate "$p"; then available+=("$p")
      elif has_candidate "${p}t64"; then available+=("${p}t64")  # Ubuntu 24.04's 64-bit time_t names
      else echo "  (not in this release: $p)"; fi
    done
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
      apt-get install -y -qq --no-install-recommends "${available[@]}" >/dev/null
  fi
else
  echo "bootstrap: not a Debian/Ubuntu system; install Qt 6's runtime libraries (xcb, EGL," \
       "fontconfig, libXrandr, PulseAudio) and Python's venv module yourself." >&2
fi
"$PY" -c 'import ensurepip' >/dev/null 2>&1 || die "Python's venv support is missing: apt-get install python3-venv"

# --- 3. The virtual environment, from the lock ------------------------------------------------
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import sys' >/dev/null 2>&1; then
  rm -rf .venv
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check --require-hashes --no-deps \
  -r packaging/uv-requirements.txt
extras=(--extra demo)
[ "$mode" = test ] && extras+=(--extra test)
# --system-certs: the OS certificate store (hospital proxies that inspect TLS add their CA there)
UV_PYTHON_DOWNLOADS=never .venv/bin/uv sync --quiet --locked --inexact --system-certs \
  --python .venv/bin/python "${extras[@]}"
echo "Ready: .venv/bin/medispecs-desktop"
