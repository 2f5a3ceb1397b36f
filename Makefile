# madoguchi: `make run` starts the whole service on embedded defaults, `make test` runs every test.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)

.PHONY: run test bench install lint migrate demo nlu-model clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): $(PY) pyproject.toml
	$(PY) -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

migrate: install
	$(PY) -m bot.migrate

nlu-model: install
	$(PY) -m nlu train

demo: migrate
	$(PY) -m knowledge demo load

run: demo nlu-model
	DEMO_MODE=$${DEMO_MODE:-1} STAFF_TOKEN=$${STAFF_TOKEN:-demo-staff} $(PY) server.py

test: install
	$(PY) -m pytest -q $(PYTEST_ARGS)

bench: install
	$(PY) bench/run.py

lint: install
	$(PY) -m ruff check .
	$(PY) -m mypy bot nlu handlers knowledge server.py

clean:
	rm -rf var bench/results .pytest_cache
