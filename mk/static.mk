# Static checks: nothing here needs a cluster, Docker or the network.
PLAYBOOKS = site.yml $(wildcard playbooks/*.yml)
TEST_TARGETS += lint test-chart test-roles

.PHONY: lint test-chart test-roles tools
tools: setup  ## Install the pinned helm and kubectl (cli_tools role)
	ansible-playbook playbooks/tools.yml

lint: setup  ## yamllint, ansible-lint (production profile), commands cut by a comment, changelog fragments, syntax check of every playbook
	yamllint --strict .
	ansible-lint --offline --strict
	python tests/lint/plain_scalars.py
	antsibull-changelog lint
	@# CHANGELOG.md is antsibull-changelog's rendering of changelogs/changelog.yaml, never edited by hand.
	@mkdir -p build && antsibull-changelog generate --output build/CHANGELOG.md && diff -u CHANGELOG.md build/CHANGELOG.md \
	  || { echo 'CHANGELOG.md differs from changelogs/: add a fragment to changelogs/fragments/, then antsibull-changelog generate' >&2; exit 1; }
	pytest -q -p no:cacheprovider tests/lint
	for p in $(PLAYBOOKS); do ansible-playbook --syntax-check -i inventories/local $$p || exit 1; \
	  ansible-playbook --syntax-check -i inventories/production $$p || exit 1; done

# kube-score audits the rendered production chart (tests/chart/test_kube_score.py), built from its Go module into the
# cache by version, with the Go caches the roles' builds use.
KUBE_SCORE_VERSION := v1.20.0
KUBE_SCORE := $(TODO_K8S_CACHE_DIR)/kube-score/$(KUBE_SCORE_VERSION)/kube-score
$(KUBE_SCORE):
	GOBIN=$(dir $@) GOMODCACHE=$(TODO_K8S_CACHE_DIR)/go/mod GOCACHE=$(TODO_K8S_CACHE_DIR)/go/build GOFLAGS=-modcacherw \
	  GOTOOLCHAIN=local CGO_ENABLED=0 go install -trimpath -ldflags "-s -w" github.com/zegl/kube-score/cmd/kube-score@$(KUBE_SCORE_VERSION)

# helm-docs renders the chart's README (its values table) from values.yaml's "# --" comments and README.md.gotmpl.
HELM_DOCS_VERSION := v1.14.2
HELM_DOCS := $(TODO_K8S_CACHE_DIR)/helm-docs/$(HELM_DOCS_VERSION)/helm-docs
$(HELM_DOCS):
	GOBIN=$(dir $@) GOMODCACHE=$(TODO_K8S_CACHE_DIR)/go/mod GOCACHE=$(TODO_K8S_CACHE_DIR)/go/build GOFLAGS=-modcacherw \
	  GOTOOLCHAIN=local CGO_ENABLED=0 go install -trimpath -ldflags "-s -w" github.com/norwoodj/helm-docs/cmd/helm-docs@$(HELM_DOCS_VERSION)

chart-docs: $(HELM_DOCS)  ## Write charts/todo-list-hackathon/README.md (values table) from values.yaml and README.md.gotmpl
	$(HELM_DOCS) --chart-search-root charts --log-level warning

test-chart: tools $(KUBE_SCORE) $(HELM_DOCS)  ## helm lint, schema refusals, kubernetes-validate, kube-score, spec assertions on rendered manifests, chart README current
	KUBE_SCORE=$(KUBE_SCORE) HELM_DOCS=$(HELM_DOCS) pytest -q tests/chart

test-roles: setup  ## Role argument specs match defaults and refuse bad input before touching anything
	pytest -q tests/roles
