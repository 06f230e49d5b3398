# faceflow: the two contracts are `make book` (build the book) and `make test` (pass the tests).
# Both create or refresh .venv from the pinned requirements first.

PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# One data root: ../shared/data when present (the project's real samples), else ./data.
FACEFLOW_DATA ?= $(if $(wildcard ../shared/data),$(abspath ../shared/data),$(abspath data))
export FACEFLOW_DATA
PROFILE ?= default

.PHONY: venv book book-from-nothing book-nosolutions tables test test-unit lint format notebook clean help

help:
	@echo "make book      execute every chapter (PROFILE=$(PROFILE)) and build the HTML book"
	@echo "make book-from-nothing  the book with a fresh, temporary outputs/ (first-run timings; outputs/ untouched)"
	@echo "make book-nosolutions   the book, then its student edition without exercise solutions"
	@echo "make tables    check the smoke-profile tables against reference/tables (faceflow tables --check)"
	@echo "make test      unit tests + smoke notebooks + book build + browser test"
	@echo "make test-unit unit tests only (fast)"
	@echo "make lint      ruff (lint + format check) on the package, tests and benchmarks; nbQA on the chapters"
	@echo "make format    apply ruff's fixes and formatting everywhere"
	@echo "make notebook NB=00_data_tour PROFILE=smoke   run one chapter and rebuild"

$(STAMP): pyproject.toml constraints.txt
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found (Python 3.11 required)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip setuptools wheel
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[book,test]'
	# face-alignment depends on plain opencv-python, which would shadow contrib's cv2
	$(BIN)/python -m pip install -q --no-deps face-alignment==1.5.0
	$(BIN)/python -c "import cv2; cv2.optflow.DualTVL1OpticalFlow_create" \
	  || { echo "error: cv2.optflow.DualTVL1OpticalFlow_create missing: a plain opencv-python shadows opencv-contrib-python-headless"; exit 1; }
	$(BIN)/python -c "import torch; assert torch.__version__.startswith('2.13.0'), torch.__version__"
	touch $(STAMP)

venv: $(STAMP)

book: $(STAMP)
	@test -d "$(FACEFLOW_DATA)" || echo "note: no data root at $(FACEFLOW_DATA): the chapters fall back to generated data. \
	Download the real samples with: $(BIN)/faceflow data fetch --root $(FACEFLOW_DATA)"
	$(BIN)/faceflow book --profile $(PROFILE)
	@echo "open _build/$(PROFILE)/_build/html/index.html"

# Every chapter from nothing: a new, empty output folder in the temporary folder, removed afterwards;
# each chapter is timed as a first run (_build/$(PROFILE)/chapter_seconds.csv), outputs/ is untouched.
book-from-nothing: $(STAMP)
	$(BIN)/faceflow book --profile $(PROFILE) --from-nothing
	@echo "open _build/$(PROFILE)/_build/html/index.html"

# The student edition reuses the chapters executed by `make book` (only the HTML is built again).
book-nosolutions: book
	$(BIN)/faceflow book --profile $(PROFILE) --no-execute --no-solutions
	@echo "open _build/$(PROFILE)/student/_build/html/index.html"

tables: $(STAMP)
	$(BIN)/faceflow tables --check

notebook: $(STAMP)
	$(BIN)/faceflow book --profile $(PROFILE) --only $(NB)

lint: $(STAMP)
	$(BIN)/ruff check faceflow tests benchmarks book scripts
	$(BIN)/ruff format --check faceflow tests benchmarks book scripts
	$(BIN)/nbqa ruff notebooks/
	$(BIN)/nbqa "ruff format --check" notebooks/
	$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml

format: $(STAMP)
	$(BIN)/ruff check --fix faceflow tests benchmarks book scripts
	$(BIN)/ruff format faceflow tests benchmarks book scripts
	$(BIN)/nbqa "ruff check --fix" notebooks/
	$(BIN)/nbqa "ruff format" notebooks/

test: lint
	$(BIN)/python -m pytest -q

test-unit: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow"

clean:
	rm -rf _build outputs/smoke
