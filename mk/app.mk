# The app (backend tests on a real PostgreSQL, browser test) and its images (built offline, run under Docker).
APP_VENV ?= app/backend/.venv
APP_PY := $(APP_VENV)/bin/python
APP_APT_PACKAGES := postgresql chromium chromium-driver mmdebstrap gzip
IMAGES_REPORT ?= $(TODO_K8S_CACHE_DIR)/reports/images.json
IMAGES_OFFLINE ?= true
TEST_TARGETS += test-app test-images

.PHONY: app-venv app-apt-packages app-docker images images-idempotent test-app test-backend test-browser test-images

app-venv: $(APP_VENV)/.installed  ## The backend's own virtualenv (runtime + test dependencies, pinned)
$(APP_VENV)/.installed: app/backend/requirements.txt app/backend/requirements-dev.txt
	@test -x $(APP_PY) || $(PY313) -m venv $(APP_VENV)
	$(APP_PY) -m pip install -q --disable-pip-version-check -r app/backend/requirements-dev.txt
	@touch $@

app-apt-packages:  ## Debian packages the app tests need (PostgreSQL server, Chromium and its driver, mmdebstrap)
	@missing=$$(for p in $(APP_APT_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then echo "apt-get install $$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 --no-install-recommends $$missing >/dev/null; fi

# The docker_engine role manages dockerd in site.yml; here only a stopped daemon is started (no systemd here).
app-docker:
	@docker info >/dev/null 2>&1 || { \
	  command -v dockerd >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 docker.io >/dev/null; }; \
	  echo "starting dockerd"; nohup dockerd >/var/log/dockerd.log 2>&1 & \
	  for i in $$(seq 60); do docker info >/dev/null 2>&1 && exit 0; sleep 1; done; echo "dockerd did not start" >&2; exit 1; }

images: setup app-docker  ## Build the images with the image_build role (IMAGES_OFFLINE=true|false|auto)
	ansible-playbook playbooks/images.yml -e '{"image_build_offline": "$(IMAGES_OFFLINE)"}' -e image_build_report_path=$(IMAGES_REPORT)

# A second run with nothing changed must change nothing (layer cache, cached Debian bases, same report).
images-idempotent: images
	@mkdir -p build
	set -o pipefail; ansible-playbook playbooks/images.yml -e '{"image_build_offline": "$(IMAGES_OFFLINE)"}' -e image_build_report_path=$(IMAGES_REPORT) \
	  | tee build/images-second-run.log | tail -n 3
	@grep -qE 'changed=0 +unreachable=0 +failed=0' build/images-second-run.log || { echo "second image build changed something" >&2; exit 1; }

test-backend: app-venv app-apt-packages  ## Backend contract tests on a throwaway real PostgreSQL
	cd app/backend && $(abspath $(APP_PY)) -m pytest -q -p no:cacheprovider

test-browser: app-venv app-apt-packages images  ## Headless Chromium drives the page on the frontend + backend containers
	IMAGE_BUILD_REPORT=$(IMAGES_REPORT) $(APP_PY) -m pytest -q -p no:cacheprovider tests/images/test_browser.py

test-app: test-backend test-browser  ## The app: backend contract on real PostgreSQL, browser test on the containers

test-images: app-venv app-apt-packages images-idempotent  ## Offline images: build, rebuild with changed=0, run them under Docker
	IMAGE_BUILD_REPORT=$(IMAGES_REPORT) $(APP_PY) -m pytest -q -p no:cacheprovider tests/images --deselect tests/images/test_browser.py
