# Every install branch of the roles, forced into throwaway folders whatever the machine has (tests/install).
TEST_TARGETS += test-install

.PHONY: test-install
test-install: setup  ## helm, kubectl, kind and minikube installed into empty folders; cached Go builds found, not redone
	pytest -v -p no:cacheprovider tests/install
