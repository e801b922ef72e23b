# Molecule scenarios on a live kind cluster (each creates its own cluster and deletes it at the end).
# `make test` runs all three; one of them: make test-molecule MOLECULE_SCENARIOS=upgrade.
MOLECULE_SCENARIOS ?= default upgrade resilience
TEST_TARGETS += test-molecule

.PHONY: test-molecule
test-molecule: setup  ## Every Molecule scenario: deploy, idempotence, verify live objects, upgrade, failures
	for s in $(MOLECULE_SCENARIOS); do molecule test -s $$s || exit 1; done
