#!/usr/bin/env bash
# For `make test-cold`: remove this project's Docker images (ours: todo-k8s/*, todo-list-*, the Minikube
# storage-provisioner we build, and the component images our node images carry) so that no build is skipped
# because its image is still in Docker. The cold run rebuilds every one of them under the same tag. Images a
# container still uses are kept and named; nothing else of Docker is touched.
set -uo pipefail
command -v docker >/dev/null && docker info >/dev/null 2>&1 || { echo "test-cold: no Docker running: no image to remove"; exit 0; }
mapfile -t images < <(docker images --format '{{.Repository}}:{{.Tag}}' \
  | grep -E '^(todo-k8s/|todo-list-|gcr[.]io/k8s-minikube/storage-provisioner:)' | grep -v ':<none>$')
kept=()
for image in "${images[@]}"; do
  docker image rm "$image" >/dev/null 2>&1 || kept+=("$image")
done
docker image prune -f >/dev/null
echo "test-cold: removed $(( ${#images[@]} - ${#kept[@]} )) project images${kept:+; kept (in use by a container): ${kept[*]}}"
