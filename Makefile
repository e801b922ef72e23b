# todo-k8s: the two commands a new user needs are `make deploy` and `make test` (see README.md).
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV ?= .venv
# Python >= 3.12 for ansible-core 2.21: pyenv's 3.13 where present (its shim may not be active), else python3.13.
PY313 ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.13*/bin/python3.13) $(shell command -v python3.13))
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
# Every role caches under TODO_K8S_CACHE_DIR and installs tools into TODO_K8S_BIN_DIR (role defaults read both, and
# pick the same folders when they are unset): root's are system-wide, anyone else's under their home.
# `make test-cold` points them at empty folders.
AS_ROOT := $(filter 0,$(shell id -u))
export TODO_K8S_CACHE_DIR ?= $(if $(AS_ROOT),/var/cache,$(or $(XDG_CACHE_HOME),$(HOME)/.cache))/todo-k8s
export TODO_K8S_BIN_DIR ?= $(if $(AS_ROOT),/usr/local/bin,$(HOME)/.local/bin)
export PATH := $(abspath $(VENV))/bin:$(TODO_K8S_BIN_DIR):$(PATH)

# Each mk/*.mk adds its targets and appends its test targets to TEST_TARGETS; static checks come first.
include mk/static.mk
include $(filter-out mk/static.mk,$(wildcard mk/*.mk))
# Molecule (kind) before e2e (Minikube): on a cold machine the background minikube build then runs while Molecule
# waits on pods, and is done when e2e needs it (it made e2e wait 3.5 min when e2e came first).
TEST_TARGETS := $(filter-out test-e2e test-install,$(TEST_TARGETS)) test-e2e test-install

.PHONY: help setup deploy test
help:  ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

setup: $(VENV)/.installed  ## Build the Python virtualenv (Ansible, Molecule, linters, test tools)
$(VENV)/.installed: requirements.txt
	@test -x $(VENV)/bin/python || $(PY313) -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check -r requirements.txt
	@# The `ansible` package bundles the pinned collections; Galaxy is asked only for a pin it does not satisfy.
	$(VENV)/bin/ansible-galaxy collection install -r collections/requirements.yml
	@touch $@

# DEPLOY_ARGS: more ansible-playbook options, e.g. -K (--ask-become-pass) for an account whose sudo asks a password.
DEPLOY_ARGS ?=
deploy: setup  ## Build, create the local cluster and install the release (inventories/local)
	ansible-playbook site.yml -i inventories/local $(DEPLOY_ARGS)

# One make per target with its wall time, the offline Go builds running in the background meanwhile (mk/test.sh).
test: setup  ## Every check: static, chart, roles, app, images, cluster, e2e, installers, Molecule
	@bash mk/test.sh $(TEST_TARGETS)
