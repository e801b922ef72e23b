#!/bin/sh
# Creates the kubelet's cgroup root. cgroup v1: the entrypoint created it in every hierarchy but the
# systemd one may be missing. cgroup v2: enable the controllers for /kubelet and /kubelet.slice
# (possible only now that systemd has moved every process out of the root cgroup).
set -eu
if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
  enable_controllers() { sed -e 's/ / +/g' -e 's/^/+/' "/sys/fs/cgroup/$1/cgroup.controllers" >"/sys/fs/cgroup/$1/cgroup.subtree_control"; }
  enable_controllers /
  for group in kubelet kubelet.slice; do
    mkdir -p "/sys/fs/cgroup/$group"
    enable_controllers "$group"
  done
else
  mkdir -p /sys/fs/cgroup/systemd/kubelet
  # systemd mounts hugetlb after the entrypoint ran, and only when the host already has that hierarchy (another
  # container's systemd made it); the kubelet then refuses to start without its root there too. On a host without
  # a hugetlb hierarchy (a fresh machine) only the empty folder exists on the read-only tmpfs: nothing to do.
  if findmnt -rn -t cgroup /sys/fs/cgroup/hugetlb >/dev/null; then
    mkdir -p /sys/fs/cgroup/hugetlb/kubelet /sys/fs/cgroup/hugetlb/kubelet.slice
  fi
fi
