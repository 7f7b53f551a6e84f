# Two commands do all the set-up on a fresh clone:
#   make run    serve the portal with demo data on SQLite at http://127.0.0.1:$(PORT)
#   make test   run the whole suite (SQLite; PostgreSQL too when PORTAL_TEST_POSTGRES_URL is set)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
RUN_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-ipaexfont-gothic fonts-ipaexfont-mincho
TEST_PACKAGES := $(RUN_PACKAGES) poppler-utils chromium

.PHONY: run test setup system-packages system-packages-test translations bench clean

run: setup system-packages
	$(BIN)/portal init
	$(BIN)/portal demo --if-empty
	@echo "Portal: http://127.0.0.1:$(PORT)  (demo sign-ins are listed in README.md)"
	PORTAL_INSECURE_HTTP=1 $(BIN)/gunicorn --bind 127.0.0.1:$(PORT) --workers 2 --access-logfile - 'portal:create_app()'

test: setup system-packages-test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

setup: $(VENV)/.installed translations

$(VENV)/.installed: pyproject.toml
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
	@PACKAGES="$(TEST_PACKAGES)" sh .ci/system-packages

bench: setup system-packages
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) instance .pytest_cache
