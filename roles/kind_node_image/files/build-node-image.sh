#!/usr/bin/env bash
# Builds the kind node image: `docker build` of CONTEXT (base + binaries + files), then the component
# images are imported into the node's containerd (as kind's own node images have them) and the
# result is committed as TAG. Nothing is pulled: kind finds every image kubeadm asks for already there.
#
#   build-node-image.sh CONTEXT TAG IMAGES_DIR BASE_TARBALL BASE_IMAGE
#
# BASE_IMAGE (the FROM of CONTEXT/Dockerfile) is imported from BASE_TARBALL when Docker lacks it.
set -euo pipefail

context=${1:?usage: build-node-image.sh CONTEXT TAG IMAGES_DIR BASE_TARBALL BASE_IMAGE}
tag=${2:?usage}
images_dir=${3:?usage}
base_tarball=${4:?usage}
base_image=${5:?usage}
stage() { echo "[$(date -u +%H:%M:%S)] stage: $*"; }
started=$(date +%s)
staging="$tag-staging"
container="todo-k8s-node-build-$$"
cleanup() { docker rm -f -v "$container" >/dev/null 2>&1 || true; docker rmi "$staging" >/dev/null 2>&1 || true; }
trap cleanup EXIT

if ! docker image inspect "$base_image" >/dev/null 2>&1; then
  stage "import $base_tarball as $base_image"
  docker import "$base_tarball" "$base_image"
fi

stage "docker build $context"
docker build -t "$staging" "$context"

stage "start containerd in a build container"
docker run -d --name "$container" --privileged --entrypoint sleep "$staging" infinity >/dev/null
docker exec "$container" sh -c 'nohup containerd >/tmp/containerd.log 2>&1 &'
for _ in $(seq 1 30); do
  docker exec "$container" ctr version >/dev/null 2>&1 && break
  sleep 1
done
docker exec "$container" ctr version >/dev/null

for tarball in "$images_dir"/*.tar; do
  stage "import $(basename "$tarball") into the node's containerd"
  docker exec -i "$container" ctr --namespace=k8s.io images import --label=io.cri-containerd.pinned=pinned \
    --all-platforms --no-unpack --digests - <"$tarball"
done
docker exec "$container" ctr --namespace=k8s.io images list -q | grep -v '^sha256:'

stage "stop containerd and commit $tag"
# sleep (PID 1 here) does not reap: wait until containerd is gone or a zombie.
docker exec "$container" sh -c 'pkill -x containerd; while ps -C containerd -o stat= | grep -qv Z; do sleep 0.2; done'
docker exec "$container" rm -rf /run/containerd /tmp/containerd.log
docker commit \
  --change 'ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]' \
  --change 'CMD []' \
  "$container" "$tag" >/dev/null
stage "done in $(( $(date +%s) - started )) s: $tag"
