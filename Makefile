# Two entry points (see README): `make smoke` and `make test`.
# Both create .venv on first use and reinstall when pyproject.toml changes.
SHELL       := /bin/bash
.SHELLFLAGS := -eo pipefail -c
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# pip on these machines warns about every missing local index folder; keep the log readable.
QUIET_PIP := 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)

.PHONY: smoke test lint

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip $(QUIET_PIP)
	$(BIN)/pip install --quiet -e '.[test,slurm]' $(QUIET_PIP)
	$(BIN)/python -c "import zest, training, torch, torchvision, torchaudio, snakemake, hydra"
	touch $(STAMP)

smoke: $(STAMP)
	$(BIN)/python -m training.data.generate cifar10 results/smoke/data/cifar10
	$(BIN)/python -m training.train dataset=cifar10 model=resnet20 scale=smoke \
	  data_root=results/smoke/data out_dir=results/smoke/models/cifar10/resnet20/standard/seed0

test: $(STAMP)
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .
