# The local cluster of inventories/local: Minikube (role minikube), or kind with todo_k8s_cluster_provider=kind.
# Offline, the first run builds Kubernetes and the node images (cached under /var/cache/todo-k8s; see docs/offline.md).
TEST_TARGETS += test-cluster
CLUSTER_VARS ?=

.PHONY: cluster cluster-delete test-cluster
cluster: setup  ## Start the local cluster (inventories/local), building the offline node images if needed
	ansible-playbook playbooks/cluster.yml -i inventories/local $(CLUSTER_VARS)

cluster-delete: setup  ## Delete the local cluster
	ansible-playbook playbooks/cluster.yml -i inventories/local -e kind_cluster_state=absent -e minikube_state=absent $(CLUSTER_VARS)

test-cluster: setup  ## A throwaway kind cluster: node Ready, DNS, Service by name, liveness restarts, storage, clean delete
	pytest -v -s tests/cluster
