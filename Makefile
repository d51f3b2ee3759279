# Every target installs what it needs; see README.md.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
SCALE ?= 1000
MEDIA ?= 1
ENV := source .local/env.sh &&

.PHONY: install services seed restore-media demo stop test lint bench status

install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt scripts/system_packages.sh
	bash scripts/system_packages.sh
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet uv==0.13.8
	$(VENV)/bin/uv pip install --quiet --python $(PY) -r requirements-dev.txt
	touch $@

services: install
	$(PY) scripts/stack.py up

status:
	$(PY) scripts/stack.py status

seed: services
	$(ENV) python scripts/seed.py --scale $(SCALE) $(if $(INJECT),--inject $(INJECT)) $(if $(filter 0,$(MEDIA)),--no-media) \
		$(if $(filter 1,$(PARTITIONED)),--partitioned)

# Put back the media objects the database's rows name and the bucket lost (make services says when).
restore-media: services
	$(ENV) python scripts/seed.py --restore-media

demo: services
	$(ENV) python scripts/demo.py

stop:
	@if [ -x $(PY) ]; then $(PY) scripts/stack.py down; fi

lint: install
	$(VENV)/bin/ruff check .

test: services lint
	bash scripts/system_packages.sh --browser
	$(ENV) python -m pytest

bench: services
	$(ENV) python -m benchmarks
