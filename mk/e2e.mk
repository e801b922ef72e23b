# The README's first command end to end: site.yml with inventories/local on a Minikube profile of its own
# (todo-e2e), a second run with changed=0, a browser on the deployed app, and the refused bad inputs.
TEST_TARGETS += test-e2e

.PHONY: test-e2e
test-e2e: setup app-venv app-apt-packages  ## site.yml on Minikube: deploy, changed=0 rerun, browser, clear failures
	$(APP_PY) -m pytest -v -s -p no:cacheprovider tests/e2e
