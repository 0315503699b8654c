#!/usr/bin/env bash
# Build the bundle (unless --no-build) and start it headless far enough to show the main window.
#   bash packaging/check_bundle.sh [--no-build]
# Passes when the frozen app's `--version` works, its CLI answers `--help`, the GUI started
# with QT_QPA_PLATFORM=offscreen shows its main window (a QMainWindow, reported by the runtime
# hook packaging/bundle_probe.py when MEDISPECS_BUNDLE_PROBE is set) and plays a real clip
# through the bundled Qt Multimedia, and the frozen demo stack (moto + gateway + handler)
# serves its sample recordings to the frozen CLI after a real Cognito sign-in.
# Not part of the default test run: it takes minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
app=packaging/out/dist/medispecs-desktop/medispecs-desktop
if [ "${1:-}" != "--no-build" ]; then
  bash packaging/build_app.sh
fi
[ -x "$app" ] || { echo "check_bundle: $app not built" >&2; exit 1; }

tmp=$(mktemp -d)
stack_pid=""
cleanup() {
  if [ -n "$stack_pid" ]; then kill "$stack_pid" 2>/dev/null || true; wait "$stack_pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
export MEDISPECS_HOME="$tmp/home" QT_QPA_PLATFORM=offscreen QT_LOGGING_RULES="qt.multimedia.*=false"
# Nothing from the build machine's Python may leak into the frozen app.
unset PYTHONPATH PYTHONHOME VIRTUAL_ENV

echo "+ $app --version"
"$app" --version
echo "+ $app --help"
"$app" --help >/dev/null

# The GUI: a dummy (unreachable) deployment so the app opens without the demo stack; the
# probe (packaging/bundle_probe.py, frozen into the bundle as a runtime hook) reports the
# window titles as JSON once the event loop has shown them, then quits.
export MEDISPECS_API_URL=http://127.0.0.1:9 MEDISPECS_REGION=ap-southeast-1 \
       MEDISPECS_USER_POOL_ID=ap-southeast-1_check MEDISPECS_CLIENT_ID=check
export MEDISPECS_BUNDLE_PROBE="$tmp/windows.json"
# ... and, once the window is up, plays a real H.264 clip through the bundled Qt Multimedia
# FFmpeg plugin (the clip is made with the development environment's PyAV).
"${PYTHON:-.venv/bin/python}" -c 'import sys; from medispecs_desktop.local.samples import make_video; make_video(sys.argv[1], seconds=1, width=320, height=240)' "$tmp/clip.mp4"
export MEDISPECS_BUNDLE_PROBE_MEDIA="$tmp/clip.mp4"
start=$(date +%s.%N)
set +e
timeout 120 "$app" >"$tmp/gui.log" 2>&1
rc=$?
set -e
elapsed=$(echo "$(date +%s.%N) - $start" | bc)
if [ ! -s "$tmp/windows.json" ]; then
  echo "check_bundle: FAILED - no window reported (exit $rc)" >&2
  tail -n 40 "$tmp/gui.log" >&2
  exit 1
fi
echo "windows: $(cat "$tmp/windows.json")"
if grep -q '"main_window": true' "$tmp/windows.json"; then
  echo "check_bundle: OK - main window shown, ${elapsed} s from start to probe (exit $rc)"
else
  echo "check_bundle: FAILED - no main window" >&2
  exit 1
fi
if [ "$rc" -eq 0 ] && grep -q '"played": true' "$tmp/windows.json"; then
  echo "check_bundle: OK - the bundled Qt Multimedia/FFmpeg played the clip"
else
  echo "check_bundle: FAILED - the bundle could not play a video (exit $rc)" >&2
  tail -n 20 "$tmp/gui.log" >&2
  exit 1
fi

# The demo path, all frozen: moto + local gateway + the Lambda handler (local-stack, with the
# PyAV-made sample clips), then the CLI signs in to its Cognito and lists the samples.
echo "+ $app local-stack   (then login + list against it)"
"$app" local-stack >"$tmp/stack.out" 2>"$tmp/stack.err" &
stack_pid=$!
for _ in $(seq 1 600); do
  [ -s "$tmp/stack.out" ] && break
  kill -0 "$stack_pid" 2>/dev/null || break
  sleep 0.2
done
if [ ! -s "$tmp/stack.out" ]; then
  echo "check_bundle: FAILED - the frozen local stack did not start" >&2
  tail -n 40 "$tmp/stack.err" >&2
  exit 1
fi
field() { python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())[sys.argv[2]])' "$tmp/stack.out" "$1"; }
unset MEDISPECS_BUNDLE_PROBE MEDISPECS_BUNDLE_PROBE_MEDIA
export MEDISPECS_API_URL="$(field apiUrl)" MEDISPECS_REGION="$(field region)" \
       MEDISPECS_USER_POOL_ID="$(field userPoolId)" MEDISPECS_CLIENT_ID="$(field clientId)" \
       MEDISPECS_COGNITO_ENDPOINT="$(field awsEndpoint)" MEDISPECS_ALLOW_PLAINTEXT_KEYRING=1
field password | "$app" login --username "$(field username)" --password-stdin
"$app" list --json >"$tmp/list.json"
count=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(len(d["items"]) if isinstance(d, dict) else len(d))' "$tmp/list.json")
if [ "$count" -lt 1 ]; then
  echo "check_bundle: FAILED - the demo library is empty" >&2
  cat "$tmp/list.json" >&2
  exit 1
fi
echo "check_bundle: OK - frozen demo stack served $count recordings to the frozen CLI"
