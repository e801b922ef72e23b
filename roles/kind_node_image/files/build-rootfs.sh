#!/usr/bin/env bash
# Builds a Debian root filesystem tarball with mmdebstrap (minbase + the given packages).
#
#   build-rootfs.sh SUITE MIRROR OUTPUT.tar PACKAGE...
#
# Used for the kind node base (systemd, containerd, runc, CNI plugins, ...) and for the small
# kube-proxy base (iptables, nftables, conntrack). Documentation and apt lists are left out;
# OUTPUT is replaced only once the build succeeded.
set -euo pipefail

suite=${1:?usage: build-rootfs.sh SUITE MIRROR OUTPUT.tar PACKAGE...}
mirror=${2:?usage}
output=${3:?usage}
shift 3
packages=$(IFS=,; echo "$*")

stage() { echo "[$(date -u +%H:%M:%S)] stage: $*"; }
started=$(date +%s)
mkdir -p "$(dirname "$output")"

stage "mmdebstrap $suite from $mirror: $packages"
# The hooks' "$1" (the new root) is expanded by mmdebstrap when it runs them, not here.
# shellcheck disable=SC2016
mmdebstrap \
  --variant=minbase \
  --include="$packages" \
  --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/doc/*' \
  --dpkgopt='path-include=/usr/share/doc/*/copyright' \
  --dpkgopt='path-exclude=/usr/share/locale/*' \
  --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin' \
  --customize-hook='rm -f "$1"/etc/machine-id "$1"/var/lib/dbus/machine-id; touch "$1"/etc/machine-id' \
  --format=tar \
  "$suite" "$output.tmp" "$mirror"
mv "$output.tmp" "$output"
stage "done in $(( $(date +%s) - started )) s: $output ($(du -h "$output" | cut -f1))"
