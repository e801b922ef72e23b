# The local kind cluster (roles docker_engine, kind_node_image, kind_cluster). Offline, the first run
# builds Kubernetes and the node image (cached under /var/cache/todo-k8s; see docs/offline.md).
TEST_TARGETS += test-cluster
CLUSTER_VARS ?=

.PHONY: cluster cluster-delete test-cluster
cluster: setup  ## Create the local kind cluster (inventories/local), building the offline node image if needed
	ansible-playbook playbooks/cluster.yml -i inventories/local -e kind_cluster_state=present $(CLUSTER_VARS)

cluster-delete: setup  ## Delete the local kind cluster
	ansible-playbook playbooks/cluster.yml -i inventories/local -e kind_cluster_state=absent $(CLUSTER_VARS)

test-cluster: setup  ## A throwaway kind cluster: node Ready, DNS, Service by name, liveness restarts, storage, clean delete
	pytest -v -s tests/cluster
