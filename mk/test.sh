#!/usr/bin/env bash
# make test: each target with its wall time, while playbooks/prebuild.yml builds the offline Go binaries
# (Kubernetes, the node's tools, minikube) in the background at low priority. On a cold machine it pays where
# the targets wait on clusters (measured: nothing net during the first, CPU-busy targets; minikube ready for e2e);
# on a warm one it finds everything built in seconds. A target that needs a binary still being built waits on
# that build's lock.
# The static targets (STATIC: no Docker, no cluster, one process busy at a time) run first, two side by side on
# their own logs (build/test-logs/), each printed whole when all are done; then the others in turn, in TEST_TARGETS'
# order (test-collection is not static: it builds images with Docker from the bases test-images makes).
# Usage: mk/test.sh TARGET...
set -uo pipefail
STATIC=" lint test-chart test-roles "
mkdir -p build/test-logs
nice -n 10 ansible-playbook -i inventories/local playbooks/prebuild.yml >build/prebuild.log 2>&1 &
prebuild=$!
echo "make test: offline Go builds started in the background (log: build/prebuild.log)"
started_all=$(date +%s)

failed() {  # target rc seconds
  echo "make test: $1 FAILED after $3 s" >&2
  kill "$prebuild" 2>/dev/null
  exit "$2"
}

static=() others=()
for target in "$@"; do
  if [[ $STATIC == *" $target "* ]]; then static+=("$target"); else others+=("$target"); fi
done

if [ ${#static[@]} -gt 0 ]; then
  # What the static targets share is made once first: the virtualenv and the pinned helm and kubectl.
  make --no-print-directory setup tools >build/test-logs/setup.log 2>&1 || { cat build/test-logs/setup.log; failed setup 1 0; }
  pids=()
  for target in "${static[@]}"; do
    while [ "$(jobs -rp | grep -cvx "$prebuild")" -ge 2 ]; do sleep 1; done
    (
      started=$(date +%s)
      make --no-print-directory "$target" >"build/test-logs/$target.log" 2>&1
      echo "$? $(( $(date +%s) - started ))" >"build/test-logs/$target.rc"
    ) &
    pids+=($!)
  done
  wait "${pids[@]}"
  for target in "${static[@]}"; do
    cat "build/test-logs/$target.log"
    read -r rc seconds <"build/test-logs/$target.rc"
    [ "$rc" -eq 0 ] || failed "$target" "$rc" "$seconds"
    echo "make test: $target done in $seconds s (static, two side by side)"
  done
  echo "make test: static targets done in $(( $(date +%s) - started_all )) s"
fi

for target in "${others[@]}"; do
  started=$(date +%s)
  make --no-print-directory "$target"
  rc=$?
  seconds=$(( $(date +%s) - started ))
  [ "$rc" -eq 0 ] || failed "$target" "$rc" "$seconds"
  echo "make test: $target done in $seconds s"
done
wait "$prebuild" || echo "make test: warning: the background prebuild failed (build/prebuild.log); the targets built what they needed"
echo "make test: all targets done in $(( $(date +%s) - started_all )) s"
