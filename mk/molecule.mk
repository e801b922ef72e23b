# Molecule scenarios on one live kind cluster, shared: default starts from none (its first step deletes any), the
# others find it running, and the cluster is deleted at the end (a failing scenario deletes it itself: molecule's --destroy=always).
# `make test` runs all four (production adds a registry and an external database beside the cluster, and removes
# them with it); one of them: make test-molecule MOLECULE_SCENARIOS=upgrade.
MOLECULE_SCENARIOS ?= default upgrade resilience production
TEST_TARGETS += test-molecule

.PHONY: test-molecule
test-molecule: setup  ## Every Molecule scenario: deploy, idempotence, verify live objects, upgrade, failures
	@# Molecule keeps each scenario's state (created, prepared) between runs; the scenarios share one cluster that the
	@# last one deletes, so a kept "prepared" skipped upgrade's prepare (the v1.0.1 images) on the next run's new cluster.
	for s in $(MOLECULE_SCENARIOS); do molecule reset -s $$s >/dev/null || exit 1; done
	for s in $(MOLECULE_SCENARIOS); do molecule test -s $$s || exit 1; done
	molecule destroy -s $(lastword $(MOLECULE_SCENARIOS))

# Not in make test (its time budget): the production site on a kind cluster of one control plane and two workers,
# its own cluster deleted at the end (molecule/multinode). About 10 minutes here (15 when it first builds kube-router).
.PHONY: test-multinode
test-multinode: setup  ## Production on 3 kind nodes under load: spread, NetworkPolicies enforced (kube-router), a drain, a rolling upgrade, HPA up and down, 0 failed requests
	molecule reset -s multinode >/dev/null
	molecule test -s multinode --destroy=always

# Not in make test (its time budget): the runbooks' breaks, release- and pod-level (molecule/runbooks), each named by
# diagnose and repaired by its section's own commands, on a cluster of its own deleted at the end. About 11 minutes here.
.PHONY: test-runbooks
test-runbooks: setup  ## The runbooks' breaks (database down, Service edited, release stuck, eviction, missing image, crash, OOM, unschedulable): diagnosed and repaired live
	molecule reset -s runbooks >/dev/null
	molecule test -s runbooks --destroy=always
