# The two commands a new user needs: `make demo` and `make test`.
# Each bootstraps .venv/ on first use and reuses it afterwards.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test ui lint bench clean system-packages-test system-packages-demo

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

# Debian packages the target needs (prometheus, chromium, ...): installed when missing and root,
# else one line naming them. Listed before $(STAMP) so a missing python3-venv is caught first.
system-packages-test system-packages-demo:
	@PYTHON=$(PYTHON) VENV=$(VENV) bash .ci/system-packages $(@:system-packages-%=%)

demo: system-packages-demo $(STAMP)
	$(BIN)/pantao demo

test: system-packages-test $(STAMP)
	$(BIN)/pantao prepare --dbt-only
	$(BIN)/pantao bi install
	$(BIN)/python -m pytest -q

ui: $(STAMP)
	$(BIN)/pantao ui

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	$(BIN)/python -m bench.run_all

clean:
	rm -rf $(VENV) .pantao dbt_project/target dbt_project/logs
