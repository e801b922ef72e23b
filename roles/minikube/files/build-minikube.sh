#!/usr/bin/env bash
# Builds minikube and the storage-provisioner addon's binary from the k8s.io/minikube Go module, which the
# Go module proxy serves (offline mode: no release download). The module has replace directives, so the
# build runs inside a copy of the downloaded module, not with `go install`.
#
#   build-minikube.sh VERSION OUTPUT_DIR STORAGE_PROVISIONER_MAIN STORAGE_PROVISIONER_TAG
#
# OUTPUT_DIR/minikube appears only once both builds succeeded.
set -euo pipefail

version=${1:?usage: build-minikube.sh VERSION OUTPUT_DIR STORAGE_PROVISIONER_MAIN STORAGE_PROVISIONER_TAG}
output=${2:?usage}
provisioner_main=${3:?usage}
provisioner_tag=${4:?usage}
stage() { echo "[$(date -u +%H:%M:%S)] stage: $*"; }
started=$(date +%s)

stage "download k8s.io/minikube@$version"
module=$(cd / && go mod download -json "k8s.io/minikube@$version" | jq -r .Dir)
source=$(mktemp -d)
trap 'rm -rf "$source"' EXIT
cp -r "$module/." "$source"
chmod -R u+w "$source"
mkdir -p "$source/cmd/todo-k8s-storage-provisioner" "$output"
cp "$provisioner_main" "$source/cmd/todo-k8s-storage-provisioner/main.go"
cd "$source"
iso_version=$(sed -n 's/^ISO_VERSION ?= //p' Makefile)
# libvirt_dlopen (the kvm2 driver loads libvirt at run time) needs cgo; the provisioner is static for FROM scratch.
build_tags=$(sed -n 's/^MINIKUBE_BUILD_TAGS := //p' Makefile)
ldflags="-s -w -X k8s.io/minikube/pkg/version.version=$version -X k8s.io/minikube/pkg/version.isoVersion=$iso_version"
ldflags+=" -X k8s.io/minikube/pkg/version.storageProvisionerVersion=$provisioner_tag"

stage "go build storage-provisioner"
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$output/storage-provisioner" ./cmd/todo-k8s-storage-provisioner
stage "go build minikube (cold: about 8 min on 2 cores)"
CGO_ENABLED=1 go build -trimpath -tags "$build_tags" -ldflags "$ldflags" -o "$output/minikube.tmp" ./cmd/minikube
mv "$output/minikube.tmp" "$output/minikube"
stage "done in $(( $(date +%s) - started )) s: $("$output/minikube" version --short)"
