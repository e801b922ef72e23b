#!/usr/bin/env bash
# For `make test-cold`: remove this project's Docker images (todo-k8s/*, todo-list-*, the Minikube
# storage-provisioner we build) so that no build is skipped because its image is still in Docker; the cold run
# rebuilds every one under the same tag. registry.k8s.io/* stay (they may be a user's own pulls; our component
# image build does not look at them, its stamp is in the cache). Images a container uses are kept and named.
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
