# Static checks: nothing here needs a cluster, Docker or the network.
PLAYBOOKS = site.yml $(wildcard playbooks/*.yml)
TEST_TARGETS += lint test-chart test-roles

.PHONY: lint test-chart test-roles tools
tools: setup  ## Install the pinned helm and kubectl (cli_tools role)
	ansible-playbook playbooks/tools.yml

lint: setup  ## yamllint, ansible-lint (production profile), commands cut by a comment, syntax check of every playbook
	yamllint --strict .
	ansible-lint --offline --strict
	python tests/lint/plain_scalars.py
	pytest -q -p no:cacheprovider tests/lint
	for p in $(PLAYBOOKS); do ansible-playbook --syntax-check -i inventories/local $$p || exit 1; \
	  ansible-playbook --syntax-check -i inventories/production $$p || exit 1; done

test-chart: tools  ## helm lint, schema refusals, kubernetes-validate and spec assertions on rendered manifests
	pytest -q tests/chart

test-roles: setup  ## Role argument specs match defaults and refuse bad input before touching anything
	pytest -q tests/roles
