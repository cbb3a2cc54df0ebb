#!/usr/bin/env bash
# Runs the whole test suite N times in a row (default 5) with two busy processes beside it, stopping at the
# first failure: the check that no test depends on the machine being idle (issue "tests that prove every
# guarantee"). Run it from the repository root inside the test virtualenv. Exits with pytest's code of the
# first failing run, 0 when every run passed. Each run's output is kept in $LOGDIR (default: a temp dir).
set -uo pipefail
runs=${1:-5}
logdir=${LOGDIR:-$(mktemp -d)}
busy=()
for _ in 1 2; do
  (while :; do :; done) &
  busy+=($!)
done
trap 'kill "${busy[@]}" 2>/dev/null' EXIT
echo "two busy processes: ${busy[*]}; logs in $logdir" >&2
for i in $(seq 1 "$runs"); do
  start=$(date +%s)
  python -m pytest -q -p no:cacheprovider >"$logdir/run-$i.txt" 2>&1
  code=$?
  echo "run $i of $runs: exit $code in $(( $(date +%s) - start )) s: $(tail -1 "$logdir/run-$i.txt")" >&2
  if [ "$code" -ne 0 ]; then
    exit "$code"
  fi
done
