#!/usr/bin/env bash
# make test: each target in turn with its wall time, while playbooks/prebuild.yml builds the offline Go binaries
# (Kubernetes, the node's tools, minikube) in the background at low priority. On a cold machine it pays where
# the targets wait on clusters (measured: nothing net during the first, CPU-busy targets; minikube ready for e2e);
# on a warm one it finds everything built in seconds. A target that needs a binary still being built waits on
# that build's lock. (Running the static targets two side by side was measured and dropped: 151 s against 145 s
# in turn on two cores.)
# Usage: mk/test.sh TARGET...
set -uo pipefail
mkdir -p build
# Every pytest run (the suites, Molecule's verifiers) prints its slowest tests: where the budget goes.
export PYTEST_ADDOPTS="--durations=10 ${PYTEST_ADDOPTS:-}"
nice -n 10 ansible-playbook -i inventories/local playbooks/prebuild.yml >build/prebuild.log 2>&1 &
prebuild=$!
echo "make test: offline Go builds started in the background (log: build/prebuild.log)"
started_all=$(date +%s)

for target in "$@"; do
  started=$(date +%s)
  make --no-print-directory "$target"
  rc=$?
  seconds=$(( $(date +%s) - started ))
  if [ "$rc" -ne 0 ]; then
    echo "make test: $target FAILED after $seconds s" >&2
    kill "$prebuild" 2>/dev/null
    exit "$rc"
  fi
  echo "make test: $target done in $seconds s"
done
wait "$prebuild" || echo "make test: warning: the background prebuild failed (build/prebuild.log); the targets built what they needed"
echo "make test: all targets done in $(( $(date +%s) - started_all )) s"
