#!/usr/bin/env bash
# shellcheck disable=SC2329  # the classify_* functions are called by name, from run()
# One prepared check of the project on a lent GPU machine (one NVIDIA H200, 16 CPU cores, no
# internet; python /opt/torch/.venv/bin/python3 with torch, torchvision, torchaudio, numpy,
# scikit-image, scikit-learn, scipy, pandas, matplotlib, safetensors, tqdm, pytest, pyyaml; without
# hydra-core, omegaconf, snakemake, lime and maybe soundfile).
#
# Usage, through the device tool, from the repository root (a copy of the working tree):
#     run  command: bash benchmarks/gpu_check.sh   timeout_s: 540
# It finishes within GPU_CHECK_BUDGET seconds (default 465, under 8 minutes): every step has its
# own `timeout` (below), capped by the time left less 15 s; the DAG gets whatever is left.
#   1. env: nvidia-smi (30 s); python, torch, CUDA, torch.cuda.is_available(), versions (60 s)
#   2. tests: pytest -m gpu (120 s); tests/test_zest_{signature,verdict,distance}.py (150 s)
#   3. bench: bench_signature.py --device cuda --n 128 --repeats 3 (120 s); its --sweep of
#      batch 256/1024/2048/4096/8192 x NCHW/channels-last, fp32 (60 s)
#   4. bench: bench_training.py --device cuda --n 16384 (90 s)
#   5. bench: bench_reuse_device.py --device cuda (180 s)
#   6. dag: snakemake --cores 16 --config scale=mini gpus=1 (or scale=smoke) (the time left)
# A step whose packages do not import is skipped with the reason (PYTHONPATH has the repo root, so
# zest, training, experiments, figures and pipeline import without installation).
#
# It writes ONE log, $OUT/gpu_check.log when OUT is set (the device tool brings $OUT back), else
# ./gpu_check.log: every step's output, under a header (name, command, time limit) and a footer
# (status, exit status, wall seconds), then a summary table of the steps and the lines that answer
# the goals:
#   - signature / query floor ratio ("zest signature (pinv cached)" row of bench_signature.py);
#   - zest >= 20x faster than the `lime` package per point on GPU (needs lime: carry it);
#   - the layout sweep: which batch size and layout answers fastest on CUDA (zest's CUDA default
#     is NCHW, batch 2048: zest/signature.py DEFAULT_BATCH_SIZE_ACCELERATOR);
#   - training loop overhead bare/app <= 1.15 (bench_training.py; needs hydra-core and omegaconf);
#   - the ModelReuse device timings of ../shared/docs/modelreuse.md 10.6 (bench_reuse_device.py);
#   - the mini DAG (or the smoke DAG without real data) on the GPU: wall time, jobs finished.
# Every step runs, whatever failed before; the exit status is 1 if any step FAILED (a SKIP, for
# packages that are not importable or no time left, and a CUT, the DAG stopped at the time limit,
# are not failures).
#
# Environment:
#   PYTHON            the python (default python3, else /opt/torch/.venv/bin/python3 if python3
#                     has no torch)
#   GPU_CHECK_DEVICE  cuda (default) or cpu
#   GPU_CHECK_QUICK   1: tiny sizes (--quick, small --n) and no DAG, to prove on a CPU machine
#                     that every command parses and starts:
#                       GPU_CHECK_DEVICE=cpu GPU_CHECK_QUICK=1 OMP_NUM_THREADS=1 \
#                         PYTHON=.venv/bin/python bash benchmarks/gpu_check.sh
#   GPU_CHECK_BUDGET  seconds for the whole run (default 465)
#   GPU_CHECK_WHEELS  a folder of wheels (dependencies included: installed with --no-index
#                     --no-deps) to install into a temporary folder put on PYTHONPATH, e.g. lime,
#                     hydra-core, omegaconf, antlr4-python3-runtime, soundfile, snakemake and its
#                     dependencies; carry it with the device tool's `carry`
#   ZEST_DATA         folder laid out like ../shared/data (default shared/data): with cifar10/ in
#                     it the DAG step runs the mini scale on it, else the smoke scale
set -uo pipefail

REPO=$PWD
LOG_DIR=${OUT:-.}
LOG="$LOG_DIR/gpu_check.log"
QUICK=${GPU_CHECK_QUICK:-0}
DEVICE=${GPU_CHECK_DEVICE:-cuda}
BUDGET=${GPU_CHECK_BUDGET:-465}
ZEST_DATA=${ZEST_DATA:-shared/data}
PY=${PYTHON:-python3}
TMP=$(mktemp -d /tmp/gpu_check.XXXXXX)
export PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1

RULE=$(printf '=%.0s' {1..96})
LINE=$(printf -- '-%.0s' {1..96})
NAMES=() STATUSES=() CODES=() WALLS=() LIMITS=() NOTES=()
RC=0 WALL=0 LIMIT=0 STEP=0 NEED_PASS=0

# --- helpers in python: import probes, pytest's junit XML, the environment ----------------------
cat >"$TMP/helper.py" <<'PYEOF'
"""probe MODULE...: exit 3 and name them if external packages are missing, 1 on another error.
junit FILE NEED_PASS: summarise a pytest junit XML; exit 0 pass, 1 fail, 3 skip (not collected).
env DEVICE: python, torch, CUDA and package versions; exit 1 if DEVICE is cuda and none is seen."""

import importlib
import re
import sys
import traceback
import xml.etree.ElementTree as ET

OURS = {"zest", "training", "experiments", "figures", "pipeline", "tests"}


def missing_package(exc):
    name = (getattr(exc, "name", None) or "").split(".")[0]
    return name if isinstance(exc, ModuleNotFoundError) and name and name not in OURS else None


def probe(modules):
    missing, broken = {}, False
    for module in modules:
        try:
            importlib.import_module(module)
        except Exception as exc:
            name = missing_package(exc)
            if name:
                missing.setdefault(name, []).append(module)
            else:
                traceback.print_exc()
                broken = True
    for name, needed_by in missing.items():
        others = [m for m in needed_by if m != name]
        print(f"not importable: {name}" + (f" (needed by {', '.join(others)})" if others else ""))
    sys.exit(1 if broken else 3 if missing else 0)


def junit(path, need_pass):
    try:
        cases = list(ET.parse(path).getroot().iter("testcase"))
    except (OSError, ET.ParseError) as exc:
        print(f"no pytest report ({exc})")
        sys.exit(1)
    passed = failed = skipped = other_errors = 0
    not_collected = {}
    for case in cases:
        kinds = {child.tag: child for child in case}
        if "failure" in kinds:
            failed += 1
        elif "error" in kinds:
            text = (kinds["error"].text or "") + kinds["error"].get("message", "")
            names = re.findall(r"No module named '([\w.]+)'", text)
            name = names[0].split(".")[0] if names else None
            if "collection failure" in text and name and name not in OURS:
                not_collected.setdefault(name, []).append(case.get("name"))
            else:
                other_errors += 1
        elif "skipped" in kinds:
            skipped += 1
        else:
            passed += 1
    for name, modules in sorted(not_collected.items()):
        print(f"not collected, {name} not importable: {', '.join(modules)}")
    summary = f"{passed} passed, {failed} failed, {skipped} skipped, {other_errors} errors"
    if not_collected:
        counts = ", ".join(f"{name} {len(m)}" for name, m in sorted(not_collected.items()))
        summary += f"; modules not collected for a missing package: {counts}"
    if need_pass and passed == 0 and not failed:
        summary += "; no test passed on a CUDA run (CUDA tests skipped or not selected)"
    print(summary)  # the last line: the note of the summary table
    if failed or other_errors:
        sys.exit(1)
    if passed == 0 and skipped == 0 and not_collected:
        sys.exit(3)
    sys.exit(1 if need_pass and passed == 0 else 0)


def env(device):
    import os
    import platform

    print(f"python {platform.python_version()} ({sys.executable}), {os.cpu_count()} CPUs")
    import torch

    print(f"torch {torch.__version__}, built with CUDA {torch.version.cuda}, "
          f"cuDNN {torch.backends.cudnn.version()}, {torch.get_num_threads()} threads")
    available = torch.cuda.is_available()
    print(f"torch.cuda.is_available(): {available}")
    if available:
        for i in range(torch.cuda.device_count()):
            p = torch.cuda.get_device_properties(i)
            print(f"  cuda:{i} {p.name}, capability {p.major}.{p.minor}, "
                  f"{p.total_memory / 2**30:.0f} GiB, {p.multi_processor_count} SMs")
        print(f"  TF32: cuDNN {torch.backends.cudnn.allow_tf32}, "
              f"matmul {torch.backends.cuda.matmul.allow_tf32}")
    packages = ["torchvision", "torchaudio", "numpy", "skimage", "sklearn", "scipy", "pandas",
                "matplotlib", "PIL", "safetensors", "tqdm", "pytest", "yaml", "soundfile",
                "hydra", "omegaconf", "snakemake", "lime"]
    dists = {"skimage": "scikit-image", "sklearn": "scikit-learn", "PIL": "pillow",
             "yaml": "pyyaml", "hydra": "hydra-core"}
    for name in packages:
        try:
            module = importlib.import_module(name)
            version = getattr(module, "__version__", None)
            if version is None:
                from importlib.metadata import version as dist_version

                version = dist_version(dists.get(name, name))
            print(f"  {name:<12} {version}")
        except Exception as exc:
            print(f"  {name:<12} NOT IMPORTABLE ({type(exc).__name__}: {exc})")
    for name in ("zest", "training", "experiments", "figures", "pipeline"):
        try:
            importlib.import_module(name)
            print(f"  repo {name:<7} imports")
        except Exception as exc:
            print(f"  repo {name:<7} does not import ({type(exc).__name__}: {exc})")
    if device == "cuda" and not available:
        print("a CUDA run without CUDA: every CUDA step below will fail")
        sys.exit(1)


if __name__ == "__main__":
    command, args = sys.argv[1], sys.argv[2:]
    if command == "probe":
        probe(args)
    elif command == "junit":
        junit(args[0], args[1] == "1")
    else:
        env(args[0])
PYEOF

# --- the step runner --------------------------------------------------------------------------
time_left() { echo $((BUDGET - SECONDS)); }

record() { # record NAME STATUS [NOTE]: one row of the summary, and the step's footer
  NAMES+=("$1") STATUSES+=("$2") CODES+=("$RC") WALLS+=("$WALL") LIMITS+=("$LIMIT")
  NOTES+=("${3:-}")
  echo "$LINE"
  echo "[$STEP] $1: $2 (exit $RC, wall ${WALL} s, limit ${LIMIT} s)${3:+ -- $3}"
  echo
}

header() { # header NAME COMMAND
  STEP=$((STEP + 1))
  echo "$RULE"
  echo "[$STEP] $1    (elapsed ${SECONDS} s, left $(time_left) s)"
  echo "command: $2"
}

skip() { # skip NAME COMMAND REASON
  header "$1" "$2"
  RC=- WALL=0 LIMIT=0
  echo "SKIPPED: $3"
  record "$1" SKIP "$3"
}

# needs NAME COMMAND MODULE...: skip the step (returns 1) when a module cannot be imported for a
# missing external package; a repo module that fails otherwise does not skip (the step will fail)
needs() {
  local name=$1 command=$2
  shift 2
  local out
  out=$("$PY" "$TMP/helper.py" probe "$@" 2>&1)
  if [ $? -eq 3 ]; then
    out=$(echo "$out" | grep '^not importable' | paste -sd ';' - | sed 's/;/; /g')
    skip "$name" "$command" "$out"
    return 1
  fi
}

# run NAME CAP COMMAND [CLASSIFIER]: run COMMAND (bash -c) under timeout min(CAP, time left - 15);
# CLASSIFIER (default classify_rc) reads RC and $TMP/step.out and calls record
run() {
  local name=$1 cap=$2 command=$3 classify=${4:-classify_rc}
  local left
  left=$(time_left)
  LIMIT=$((cap < left - 15 ? cap : left - 15))
  if ((LIMIT < 10)); then
    skip "$name" "$command" "no time left (${left} s of the ${BUDGET} s budget)"
    return
  fi
  header "$name" "$command"
  echo "time limit: ${LIMIT} s"
  echo "$LINE"
  local start=$EPOCHREALTIME
  timeout -k 10 "$LIMIT" bash -c "$command" </dev/null 2>&1 | tee "$TMP/step.out"
  RC=${PIPESTATUS[0]}
  WALL=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
  cp "$TMP/step.out" "$TMP/step$((STEP)).out"
  "$classify" "$name"
}

timed_out() { [ "$RC" = 124 ] || [ "$RC" = 137 ]; }

classify_rc() {
  if [ "$RC" = 0 ]; then
    record "$1" PASS
  elif timed_out; then
    record "$1" FAIL "timed out after ${LIMIT} s"
  else
    record "$1" FAIL
  fi
}

classify_junit() { # pytest: junit XML in $TMP/junit.xml; NEED_PASS in $NEED_PASS
  local summary code
  summary=$("$PY" "$TMP/helper.py" junit "$TMP/junit.xml" "$NEED_PASS")
  code=$?
  echo "$LINE"
  echo "$summary"
  summary=$(echo "$summary" | tail -1)
  if timed_out; then
    record "$1" FAIL "timed out after ${LIMIT} s; $summary"
  elif [ "$code" = 3 ]; then
    record "$1" SKIP "$summary"
  elif [ "$code" = 0 ] && { [ "$RC" = 0 ] || [ "$RC" = 1 ]; }; then
    record "$1" PASS "$summary" # 1: collection errors for missing packages only
  else
    record "$1" FAIL "$summary"
  fi
}

classify_dag() {
  local jobs
  jobs=$(grep -oE '[0-9]+ of [0-9]+ steps' "$TMP/step.out" | tail -1)
  jobs=${jobs:-0 of ? steps}
  if [ "$RC" = 0 ]; then
    record "$1" PASS "$jobs done"
  elif timed_out; then # jobs killed by the stop may print "Error in rule": counted, not failed
    record "$1" CUT "stopped at the time limit, ${jobs} done; $(grep -c '^Error in rule' \
      "$TMP/step.out") 'Error in rule' lines"
  else
    record "$1" FAIL "${jobs} done; $(grep -m1 '^Error in rule' "$TMP/step.out")"
  fi
}

# --- the steps ----------------------------------------------------------------------------------
main() {
  echo "gpu_check: $(date -u '+%Y-%m-%d %H:%M:%S UTC') on $(hostname), repo $REPO"
  echo "device $DEVICE, quick $QUICK, budget ${BUDGET} s, log $LOG"
  if ! "$PY" -c "import torch" 2>/dev/null && [ -z "${PYTHON:-}" ] &&
    [ -x /opt/torch/.venv/bin/python3 ]; then
    PY=/opt/torch/.venv/bin/python3
  fi
  echo "python $PY; PYTHONPATH=$PYTHONPATH"
  echo

  if [ -n "${GPU_CHECK_WHEELS:-}" ]; then
    mkdir -p "$TMP/site"
    export PYTHONPATH="$PYTHONPATH:$TMP/site"
    run "wheels: install $GPU_CHECK_WHEELS" 120 "$PY -m pip install --quiet --no-index \
--no-deps --target $TMP/site $GPU_CHECK_WHEELS/*.whl \$(ls $GPU_CHECK_WHEELS/*.tar.gz \
2>/dev/null)"
  fi

  # 1. environment
  if command -v nvidia-smi >/dev/null || [ "$DEVICE" = cuda ]; then
    run "env: nvidia-smi" 30 "nvidia-smi"
  else
    skip "env: nvidia-smi" "nvidia-smi" "no nvidia-smi on this machine (device $DEVICE)"
  fi
  run "env: python, torch, CUDA" 60 "$PY $TMP/helper.py env $DEVICE"

  # 2. tests: the CUDA-marked ones, and the library's (torch, numpy, scikit-image, scipy)
  local pytest="$PY -m pytest -q -p no:cacheprovider --tb=short"
  if ! "$PY" "$TMP/helper.py" probe training.data.generate >/dev/null 2>&1; then
    pytest+=" --noconftest" # tests/conftest.py imports soundfile; these tests use none of it
    echo "tests/conftest.py does not import here (soundfile?): pytest runs with --noconftest"
  fi
  pytest+=" --continue-on-collection-errors --junitxml=$TMP/junit.xml"
  NEED_PASS=$([ "$DEVICE" = cuda ] && echo 1 || echo 0)
  rm -f "$TMP/junit.xml"
  run "tests: -m gpu" 120 "$pytest -m gpu" classify_junit
  NEED_PASS=0
  rm -f "$TMP/junit.xml"
  run "tests: zest library" 150 "$pytest tests/test_zest_signature.py tests/test_zest_verdict.py \
tests/test_zest_distance.py" classify_junit

  # 3. the signature benchmark and the memory-layout sweep
  local sig="$PY benchmarks/bench_signature.py --device $DEVICE" sig_run sweep_run
  local data=""
  [ -d "$ZEST_DATA/cifar10/train" ] && data=" --data $ZEST_DATA/cifar10/train"
  if [ "$QUICK" = 1 ]; then
    sig_run="$sig --n 2 --samples 50 --repeats 1 --lime-points 1$data"
    sweep_run="$sig --sweep 16,64 --sweep-images 256 --repeats 1"
  else
    sig_run="$sig --n 128 --repeats 3$data"
    sweep_run="$sig --sweep 256,1024,2048,4096,8192 --repeats 3"
  fi
  if needs "bench: signature" "$sig_run" zest training.models; then
    run "bench: signature" 120 "$sig_run"
  fi
  if needs "bench: layout sweep" "$sweep_run" zest training.models; then
    run "bench: layout sweep" 60 "$sweep_run"
  fi

  # 4. training throughput
  local n=16384
  [ "$QUICK" = 1 ] && n=256
  local train="$PY benchmarks/bench_training.py --device $DEVICE --n $n"
  [ "$QUICK" = 1 ] && train="$train --repeats 1"
  if needs "bench: training" "$train" training.config training.epoch; then
    run "bench: training" 90 "$train"
  fi

  # 5. ModelReuse device timings
  local reuse="$PY benchmarks/bench_reuse_device.py --device $DEVICE"
  [ "$QUICK" = 1 ] && reuse="$reuse --quick"
  if needs "bench: reuse device" "$reuse" torchvision zest training.reuse.quantize; then
    run "bench: reuse device" 180 "$reuse"
  fi

  # 6. the mini DAG (smoke without the real data) on the GPU, in the time left
  local scale=smoke workdir=/tmp/smoke_gpu plan=""
  if [ -d "$ZEST_DATA/cifar10" ]; then
    scale=mini workdir=/tmp/mini_gpu
    plan=" \"plan=[data.root=$(cd "$ZEST_DATA" && pwd)]\""
  fi
  local bin dag
  bin=$(dirname "$(command -v "$PY")") # the jobs run `python -m ...`
  dag="PATH=$bin:\$PATH $PY -m snakemake --snakefile \
$REPO/Snakefile --cores 16 --config scale=$scale gpus=1$plan -d $workdir"
  if [ "$QUICK" = 1 ] || [ "$DEVICE" != cuda ]; then
    skip "dag: $scale" "$dag" "a quick or CPU run does not run the DAG"
  elif needs "dag: $scale" "$dag" snakemake hydra omegaconf soundfile pipeline.plan; then
    run "dag: $scale" 100000 "$dag" classify_dag
  fi

  # --- summary ---
  echo "$RULE"
  echo "summary (device $DEVICE, quick $QUICK; total ${SECONDS} s of the ${BUDGET} s budget)"
  printf '%-3s %-26s %-6s %5s %8s %8s  %s\n' "#" step status exit "wall s" "limit s" note
  local i failed=0 counts=""
  for i in "${!NAMES[@]}"; do
    printf '%-3s %-26s %-6s %5s %8s %8s  %s\n' "$((i + 1))" "${NAMES[$i]}" "${STATUSES[$i]}" \
      "${CODES[$i]}" "${WALLS[$i]}" "${LIMITS[$i]}" "${NOTES[$i]}"
    [ "${STATUSES[$i]}" = FAIL ] && failed=$((failed + 1))
  done
  for status in PASS FAIL SKIP CUT; do
    counts+="$(printf '%s\n' "${STATUSES[@]}" | grep -cx "$status") $status, "
  done
  echo "${counts%, }"
  echo
  echo "goal lines (signature/floor ratio; >= 20x over lime on GPU; fastest layout; training"
  echo "overhead bare/app <= 1.15):"
  cat "$TMP"/step*.out 2>/dev/null | grep -E '^zest signature \(pinv cached\)|speed-up over lime|^lime: skipped|^fastest: |overhead bare/app' | sed 's/^/  /'
  rm -rf "$TMP"
  [ "$failed" = 0 ]
}

mkdir -p "$LOG_DIR"
: >"$LOG"
main 2>&1 | tee -a "$LOG"
exit "${PIPESTATUS[0]}"
