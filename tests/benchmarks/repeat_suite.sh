#!/usr/bin/env bash
# Run (part of) the suite N times in random order, a different seed each run, and report what
# failed in each run and in how many runs each test failed: "green N times in a row in random
# order" checked on what a machine can afford (issue 10). A script, not a test.
#
#   tests/benchmarks/repeat_suite.sh [-n RUNS] [-s FIRST_SEED] [--nice] [--log-dir DIR] \
#       [PATHS...] [-- PYTEST_ARGS...]
#
#   -n RUNS        runs (default 3)
#   -s FIRST_SEED  seed of the first run; run i uses FIRST_SEED + i * 7919 (default: the time)
#   --nice         run pytest under `nice -n 10` (a loaded machine, as CI's shared runner)
#   --log-dir DIR  keep each run's output as DIR/run-<i>-seed-<seed>.log (default: a temp dir)
#   PATHS          test paths (default: tests)
#   PYTEST_ARGS    passed on to pytest as they are (e.g. -x, -k expr)
#
# Runs pytest with -p randomly --randomly-seed=SEED from the repository root with the Python of
# $PYTHON (default: .venv/bin/python of the repository, else python3). Exit status: 0 when every
# run passed, 1 otherwise. Re-run one failing order with the seed printed for it.
set -uo pipefail

runs=3
first_seed=$(( $(date +%s) % 100000 ))
use_nice=0
log_dir=""
paths=()
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    -n) runs=$2; shift 2 ;;
    -s) first_seed=$2; shift 2 ;;
    --nice) use_nice=1; shift ;;
    --log-dir) log_dir=$2; shift 2 ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) paths+=("$1"); shift ;;
  esac
done
[ ${#paths[@]} -eq 0 ] && paths=(tests)
case "$runs" in ''|*[!0-9]*) echo "-n takes a whole number" >&2; exit 2 ;; esac

root=$(cd "$(dirname "$0")/../.." && pwd)
python=${PYTHON:-}
if [ -z "$python" ]; then
  if [ -x "$root/.venv/bin/python" ]; then python="$root/.venv/bin/python"; else python=python3; fi
fi
[ -z "$log_dir" ] && log_dir=$(mktemp -d "${TMPDIR:-/tmp}/repeat-suite.XXXXXX")
mkdir -p "$log_dir"
prefix=()
[ "$use_nice" = 1 ] && prefix=(nice -n 10)

echo "repeat_suite: $runs run(s) of ${paths[*]} ${extra[*]:-}; logs in $log_dir; load $(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo ?)"
failed_runs=0
summary=()
all_failures="$log_dir/failures.txt"
: > "$all_failures"
for (( i = 0; i < runs; i++ )); do
  seed=$(( first_seed + i * 7919 ))
  log="$log_dir/run-$((i + 1))-seed-$seed.log"
  start=$(date +%s)
  (cd "$root" && "${prefix[@]}" "$python" -m pytest "${paths[@]}" -q -p randomly \
     "--randomly-seed=$seed" "${extra[@]}") > "$log" 2>&1
  rc=$?
  took=$(( $(date +%s) - start ))
  # pytest -q's last line: "3 failed, 120 passed, 1 error in 301.2s" (or "no tests ran")
  tally=$(grep -E '^(=+ )?[0-9]+ (passed|failed|error)|no tests ran' "$log" | tail -n 1 | sed 's/=//g; s/^ *//; s/ *$//')
  failures=$(grep -E '^(FAILED|ERROR) ' "$log" | sed 's/ - .*//' | sort -u)
  line="run $((i + 1)) seed $seed: exit $rc, ${tally:-no summary line} (${took} s, load $(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo ?))"
  echo "$line"
  summary+=("$line")
  if [ "$rc" -ne 0 ]; then
    failed_runs=$((failed_runs + 1))
    if [ -n "$failures" ]; then
      echo "$failures" | sed 's/^/    /'
      echo "$failures" | sed "s/\$/   [seed $seed]/" >> "$all_failures"
    else
      echo "    (no FAILED/ERROR lines: see $log)"
    fi
  fi
done

echo "---"
echo "$((runs - failed_runs)) of $runs run(s) green"
if [ -s "$all_failures" ]; then
  echo "failing tests (runs failed in):"
  sed 's/   \[seed.*//' "$all_failures" | sort | uniq -c | sort -rn | sed 's/^/  /'
fi
[ "$failed_runs" -eq 0 ]
