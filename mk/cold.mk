# A fresh machine without wiping this one. `make test-cold` runs `make test` (COLD_GOAL=deploy: `make deploy`)
# with every cache and bin folder pointed at an empty place under COLD_DIR: the roles' caches and tool folder
# (TODO_K8S_CACHE_DIR, TODO_K8S_BIN_DIR; TODO_K8S_PREBUILT_DIR empty, so root's cache lends nothing), Minikube's
# home, both virtualenvs, pip's and npm's caches; Go's caches live in the roles' cache. This project's Docker images are removed first so that no build is skipped (the run
# rebuilds them under the same tags). What it cannot make new: Debian packages already installed system-wide,
# and dockerd itself. Your own /var/cache/todo-k8s, /usr/local/bin and ~/.minikube are left alone.
COLD_DIR ?= $(CURDIR)/build/cold
COLD_GOAL ?= test

.PHONY: test-cold
test-cold:  ## make test (or COLD_GOAL=deploy) as on a fresh machine: empty caches, bin folder, venvs; images rebuilt
	rm -rf $(COLD_DIR) && mkdir -p $(COLD_DIR)/bin
	bash tests/cold/remove-project-images.sh
	@echo "test-cold: make $(COLD_GOAL) with TODO_K8S_CACHE_DIR=$(COLD_DIR)/cache TODO_K8S_BIN_DIR=$(COLD_DIR)/bin"
	started=$$(date +%s); \
	env TODO_K8S_CACHE_DIR=$(COLD_DIR)/cache TODO_K8S_BIN_DIR=$(COLD_DIR)/bin TODO_K8S_PREBUILT_DIR= MINIKUBE_HOME=$(COLD_DIR)/minikube \
	  PIP_CACHE_DIR=$(COLD_DIR)/pip npm_config_cache=$(COLD_DIR)/npm \
	  $(MAKE) $(COLD_GOAL) VENV=$(COLD_DIR)/venv APP_VENV=$(COLD_DIR)/app-venv; rc=$$?; \
	echo "test-cold: make $(COLD_GOAL) exited $$rc after $$(( $$(date +%s) - started )) s"; exit $$rc
