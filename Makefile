# The two commands of the README: `make run` and `make test`. Everything else is a helper of those.
SHELL := /bin/bash
PYTHON ?= python3
UV := $(PYTHON) -m uv
export UV_PYTHON_DOWNLOADS := never
export UV_LINK_MODE := copy
RUN := $(UV) run --frozen

.PHONY: run test test-faults install assets messages lint typecheck pytest audit bench db-stop clean

## run: install, prepare the database, load demo data, start web + worker + beat (Ctrl-C stops all)
run: install assets messages
	$(RUN) python -m nemkonto.stack

## test: install, then lint, type checks, the whole test suite and the dependency audit
test: install assets messages lint typecheck pytest audit

install:
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet uv
	$(UV) sync --frozen

assets:
	bash scripts/build_assets.sh

messages:
	@command -v msgfmt >/dev/null || { apt-get update -qq && apt-get install -y -qq gettext; }
	$(RUN) django-admin compilemessages --ignore=.venv --ignore=node_modules --ignore=var -v 0

lint:
	$(RUN) ruff format --check .
	$(RUN) ruff check .

typecheck:
	$(RUN) mypy .

# Without DATABASE_URL the tests run against the embedded PostgreSQL, stopped again afterwards.
# The test settings (pyproject's pytest-django setting) must win over the local settings that
# importing the nemkonto package (its Celery app) puts in the environment of the wrapper.
TEST_SETTINGS := DJANGO_SETTINGS_MODULE=nemkonto.settings.test

# The whole suite, the fault-tolerance tests (tests/faults, marker `faults`) included.
pytest:
	$(TEST_SETTINGS) $(RUN) python -m nemkonto.embedded_db -- python -m pytest $(PYTEST_ARGS)

## test-faults: only the fault-tolerance tests (they are part of `make test` too)
test-faults: install
	$(TEST_SETTINGS) $(RUN) python -m nemkonto.embedded_db -- python -m pytest tests/faults -m faults $(PYTEST_ARGS)

## audit: known vulnerabilities in the locked dependencies (pip-audit; needs pypi.org)
audit: install
	bash scripts/audit.sh $(RUN)

## bench: the benchmarks (they measure and print; not part of `make test`)
bench: install
	$(RUN) python -m nemkonto.embedded_db -- python -m pytest tests/benchmarks --run-benchmarks -s -p no:cacheprovider $(PYTEST_ARGS)

db-stop:
	$(RUN) python -m nemkonto.embedded_db stop

clean: db-stop
	rm -rf var staticfiles node_modules nemkonto/static/dkfds
