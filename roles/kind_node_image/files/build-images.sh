#!/usr/bin/env bash
# Builds container images from our own binaries, without any registry, and saves each to a tarball.
#
#   build-images.sh SPEC OUTPUT_DIR LABEL
#
# SPEC has one image a line, fields separated by tabs:
#   REF  ENTRYPOINT  BASE  SRC=DST[,SRC=DST...]
# REF is the image name:tag (e.g. registry.k8s.io/kube-apiserver:v1.34.4), ENTRYPOINT a path in the
# image or "-", BASE a root filesystem tarball to start from or "-" for an empty image, then the files
# to copy in. A file installed as /bin/busybox also gets a link for each of its applets.
# Every image carries the label todo-k8s.build=LABEL; OUTPUT_DIR gets one docker-save tarball per image.
set -euo pipefail

spec=${1:?usage: build-images.sh SPEC OUTPUT_DIR LABEL}
output_dir=${2:?usage}
label=${3:?usage}
stage() { echo "[$(date -u +%H:%M:%S)] stage: $*"; }
started=$(date +%s)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$output_dir"

declare -A imported_bases=()
base_image() {  # base_image TARBALL: import a root filesystem once, print its image name
  local tarball=$1 name
  name="todo-k8s/rootfs:$(basename "$tarball" .tar)"
  if [[ -z ${imported_bases[$name]:-} ]]; then
    docker image inspect "$name" >/dev/null 2>&1 || docker import "$tarball" "$name" >/dev/null
    imported_bases[$name]=1
  fi
  echo "$name"
}

count=$(grep -c . "$spec")
n=0
while IFS=$'\t' read -r ref entrypoint base files; do
  [[ -n $ref ]] || continue
  n=$((n + 1))
  stage "image $n/$count: $ref"
  context="$work/$n"
  mkdir -p "$context/rootfs"
  IFS=, read -ra pairs <<<"$files"
  for pair in "${pairs[@]}"; do
    install -D -m 0755 "${pair%%=*}" "$context/rootfs/${pair#*=}"
    if [[ ${pair#*=} == /bin/busybox ]]; then
      for applet in $("${pair%%=*}" --list); do
        [[ -e $context/rootfs/bin/$applet ]] || ln -s busybox "$context/rootfs/bin/$applet"
      done
    fi
  done
  {
    if [[ $base == - ]]; then echo "FROM scratch"; else echo "FROM $(base_image "$base")"; fi
    echo "COPY rootfs/ /"
    echo "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    if [[ $entrypoint != - ]]; then echo "ENTRYPOINT [\"$entrypoint\"]"; fi
    echo "LABEL todo-k8s.build=\"$label\""
  } >"$context/Dockerfile"
  docker build -q -t "$ref" "$context" >/dev/null
  docker save "$ref" -o "$output_dir/$n.tar.tmp"
  # docker save writes 0600: other accounts reuse this cache read-only (kind_node_image_prebuilt_dir).
  chmod 0644 "$output_dir/$n.tar.tmp"
  mv "$output_dir/$n.tar.tmp" "$output_dir/$(tr '/:' '__' <<<"$ref").tar"
done <"$spec"
touch "$output_dir/.complete"
stage "done in $(( $(date +%s) - started )) s: $count images in $output_dir"
