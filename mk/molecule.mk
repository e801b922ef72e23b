# Molecule scenarios on a live kind cluster (each creates its own cluster and deletes it at the end).
MOLECULE_SCENARIOS ?= default upgrade resilience

.PHONY: test-molecule
test-molecule: setup  ## Every Molecule scenario: deploy, idempotence, verify live objects, upgrade, failures
	for s in $(MOLECULE_SCENARIOS); do molecule test -s $$s || exit 1; done
