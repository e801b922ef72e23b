# The README's deploy as a normal account (tests/user): `make deploy` twice as todo-ops (docker group, sudo), on a
# Minikube profile of its own; the one-line refusals for missing sudo rights and docker group. Needs root (it makes
# the account) and runs after the targets that build the images and the Kubernetes build it reuses read-only.
TEST_TARGETS += test-user

.PHONY: test-user
test-user: setup  ## make deploy as a normal account (todo-ops): app serves, changed=0 rerun, no root-owned file in its home
	pytest -v -s -p no:cacheprovider tests/user
