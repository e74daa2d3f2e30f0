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

.PHONY: smoke test test-kernels lint slurm-packages

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip $(QUIET_PIP)
	$(BIN)/pip install --quiet -e '.[pipeline,test,slurm]' $(QUIET_PIP)
	$(BIN)/python -c "import zest, training, torch, torchvision, torchaudio, snakemake, hydra"
	touch $(STAMP)

# The whole pipeline at the smoke scale (generated data, tiny models): figures, tables and the report.
smoke: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/snakemake --cores all --config scale=smoke
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/snakemake --cores 1 --config scale=smoke \
	  --report results/smoke/report.html
	@echo
	@echo "Smoke run done. Figures: results/smoke/figures/  tables: results/smoke/tables/"
	@echo "Report with every figure and table: results/smoke/report.html"

# In parallel, one worker per CPU and one more: the smoke DAG's tests, the SLURM tests and the
# profile tests each keep to one worker (xdist_group), so the DAG is built once and one cluster
# runs at a time; the SLURM tests mostly wait for the cluster, and the extra worker uses that time.
WORKERS ?= $(shell echo $$(( $$(nproc) + 1 )))
test: $(STAMP)
	$(BIN)/pytest -n $(WORKERS) --dist loadgroup

# The fast tests again on other CPU kernels (torch's portable ATen kernels, SSE-only oneDNN and
# MKL, OpenBLAS's Nehalem kernels): a test that only holds with this machine's rounding fails here,
# as it would on another processor. CI runs it after `make test`.
OTHER_KERNELS := ATEN_CPU_CAPABILITY=default ONEDNN_MAX_CPU_ISA=SSE41 \
	MKL_ENABLE_INSTRUCTIONS=SSE4_2 OPENBLAS_CORETYPE=Nehalem
test-kernels: $(STAMP)
	env $(OTHER_KERNELS) $(BIN)/pytest -n auto -m "not slow" -q

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

# The programs of a single-node SLURM cluster, for tests/test_slurm.py (which starts one on localhost
# and skips, saying why, without them): Debian's packages, as root. CI runs it before `make test`.
SLURM_PACKAGES := slurmctld slurmd slurm-client munge
slurm-packages:
	command -v slurmctld >/dev/null && command -v munged >/dev/null || { \
	  apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(SLURM_PACKAGES); }
