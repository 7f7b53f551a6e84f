# Two commands do all the set-up on a fresh clone:
#   make run    serve the portal with demo data on SQLite at http://127.0.0.1:$(PORT)
#   make test   run the whole suite (SQLite; PostgreSQL too when PORTAL_TEST_POSTGRES_URL is set)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
RUN_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-ipaexfont-gothic fonts-ipaexfont-mincho fonts-ipamj-mincho
TEST_PACKAGES := $(RUN_PACKAGES) poppler-utils
# Debian's Chromium for the browser tests: installed when we are root; elsewhere the browser
# tests are skipped with a clear message (never in CI, where CI=true makes it required).
BROWSER_PACKAGES := chromium
# Node and npm run the real OpenID provider of the SSO tests (tests/oidc_provider, npm oidc-provider
# pinned by its lockfile); optional like Chromium, required in CI.
SSO_PACKAGES := nodejs npm
OIDC_PROVIDER := tests/oidc_provider

.PHONY: run test setup system-packages system-packages-test oidc-provider translations bench clean

# One gunicorn worker with threads: the sign-in throttle counts in this process's memory
# (several processes or hosts share counts only through PORTAL_RATELIMIT_STORAGE_URI=redis://...).
# PORTAL_INSECURE_HTTP=1 lets the session cookie travel over plain http://127.0.0.1.
# PORTAL_DEMO_RELAX_2FA=1 lets the public demo sign-ins skip the second factor (never in production).
# Beside it, one queue consumer (`portal worker`: exports, mail, the daily schedule). A background
# process of a script may ignore Ctrl+C, so the trap stops it when gunicorn ends (Ctrl+C or an error).
# --graceful-timeout 3: Ctrl+C reaches gunicorn's worker twice (from the terminal and from its master),
# and gunicorn 27's gthread worker can then deadlock in its own signal handler until the master kills it.
run: setup system-packages
	$(BIN)/portal init
	$(BIN)/portal demo --if-empty
	@echo "Portal: http://127.0.0.1:$(PORT)  (demo sign-ins are listed in README.md; Ctrl+C stops it and its consumer)"
	@PORTAL_INSECURE_HTTP=1 PORTAL_DEMO_RELAX_2FA=1 sh -c '$(BIN)/portal worker & worker=$$!; \
	  trap "kill $$worker 2>/dev/null; wait $$worker" EXIT INT TERM; \
	  $(BIN)/gunicorn --bind 127.0.0.1:$(PORT) --workers 1 --threads 8 --graceful-timeout 3 --access-logfile - "portal:create_app()"'

# lint-imports first: the layers and the absence of import cycles ([tool.importlinter] in pyproject.toml).
test: setup system-packages-test oidc-provider
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-logo
	$(BIN)/python -m pytest $(PYTEST_ARGS)

setup: $(VENV)/.installed translations

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python 3.11 or newer is needed (PYTHON=$(PYTHON))" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

translations: $(VENV)/.installed
	$(BIN)/pybabel -q compile -d portal/translations

# Debian packages the portal needs (PDF rendering with Japanese fonts). Installed when we
# are root with apt-get; otherwise the missing ones are named and the set-up stops.
system-packages:
	@PACKAGES="$(RUN_PACKAGES)" sh .ci/system-packages

system-packages-test:
	@PACKAGES="$(TEST_PACKAGES)" OPTIONAL_PACKAGES="$(BROWSER_PACKAGES) $(SSO_PACKAGES)" sh .ci/system-packages

# npm ci from the lockfile when it changed (node_modules is not in git). Without npm, or when the
# npm registry cannot be reached, the SSO tests are skipped, saying so; in CI that fails the run.
oidc-provider: $(OIDC_PROVIDER)/node_modules/.package-lock.json

$(OIDC_PROVIDER)/node_modules/.package-lock.json: $(OIDC_PROVIDER)/package-lock.json
	@if ! command -v npm >/dev/null 2>&1; then echo "WARNING: npm is missing: the SSO tests will be SKIPPED" >&2; \
	elif ! npm ci --prefix $(OIDC_PROVIDER) --no-audit --no-fund --loglevel=error; then \
		if [ -n "$${CI:-}" ]; then exit 1; fi; echo "WARNING: npm ci failed: the SSO tests will be SKIPPED" >&2; fi

bench: setup system-packages
	$(BIN)/python bench/run_all.py

# instance/ (the database and the generated secret key) is deliberately kept.
clean:
	rm -rf $(VENV) .pytest_cache
