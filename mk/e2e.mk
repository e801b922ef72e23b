# The README's first command end to end, as the people it is for: a normal account (todo-ops: docker group, sudo,
# its own checkout and caches) made for the run runs `make deploy` on a Minikube profile of its own, twice
# (changed=0), a browser uses the deployed app, and each bad input is refused in one line (tests/e2e). Needs root
# (it makes the account) and runs after the targets that build the images and the Kubernetes build it reuses read-only.
TEST_TARGETS += test-e2e
.PHONY: test-e2e
test-e2e: setup app-venv app-apt-packages  ## make deploy as a normal account on Minikube: changed=0 rerun, browser, one-line refusals, nothing of root's
	$(APP_PY) -m pytest -v -s -p no:cacheprovider tests/e2e
