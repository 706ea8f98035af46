#!/usr/bin/env bash
# Runs the LaTensor benchmarks in one go and prints medians and ratios:
#   1. the ordo-one suites (TensorMatmul, TensorKernels) through `swift package benchmark`, exported as
#      JMH JSON, then turned into the ratio table by TensorRatios --from-jmh (p50 wall clock per benchmark);
#   2. TensorRatios self-timed: warm-up, then interleaved repetitions in one process, medians and ratios;
#   3. BlockRatios: forward+backward of one LaNN ResidualAttentionBlock (x [64,65,192], 3 heads), its BLAS share,
#      PyTorch's time for the same block (Scripts/torch_block.py, with LACLIP_REFERENCE_PYTHON), and RSS over
#      50 AdamW training steps.
#   4. TrainStepRatios: one training step (forward, backward, AdamW) of the `tiny` CLIP preset at batch 64 and 128
#      for CLIP, LaCLIP (text sampler + tokenizer in the step) and LaCLIP-MT (4 texts per image): ms/step, images/s,
#      the step's GFLOP/s against raw sgemm on the same GEMMs, baseline and peak RSS, page faults per step, RSS
#      growth, encodeImage / encodeText throughput without the tape, LaCLIP / CLIP (target: within noise of 1) and
#      Swift / PyTorch (Scripts/torch_train_step.py: step time, RSS, inference throughput).
# Targets: LaTensor matmul / raw sgemm throughput >= 0.95 per shape; GELU, softmax and sum bandwidth over
# Tensor.copy() bandwidth >= 0.5; block non-matmul time / BLAS time <= 1; no memory growth over training steps.
#
# Usage: ./ratios.sh [--markdown] [--warmup N] [--matmul-reps N] [--bandwidth-reps N]
# Environment: LACLIP_NUM_THREADS (threads, default: the active cores), LATENSOR_BENCH_ELEMENTS (bandwidth
# tensor size, default 67108864), OPENBLAS_CORETYPE (OpenBLAS kernel choice, read by OpenBLAS itself),
# LACLIP_REFERENCE_PYTHON (a Python with torch for the PyTorch reference, e.g. /path/to/venv/bin/python;
# without it BlockRatios prints "torch not available").
set -euo pipefail
cd "$(dirname "$0")"

out=".build/benchmark-results"
mkdir -p "$out"
rm -f "$out/Current_run.jmh.json"
markdown=()
for argument in "$@"; do [[ "$argument" == "--markdown" ]] && markdown=(--markdown); done

echo "== building (release) =="
swift build -c release --product TensorRatios 2>&1 | tail -n 1
swift build -c release --product BlockRatios 2>&1 | tail -n 1
swift build -c release --product TrainStepRatios 2>&1 | tail -n 1

echo
echo "== ordo-one benchmark 1.38.1: swift package benchmark (TensorMatmul, TensorKernels, BlockBenchmark) =="
swift package --allow-writing-to-package-directory benchmark \
    --format jmh --path "$out" --no-progress 2>&1 | grep -v -E '^\[[0-9]+/[0-9]+\]|^Building|^Build of product|^Build complete'
echo
.build/release/TensorRatios --from-jmh "$out/Current_run.jmh.json" "${markdown[@]}"

echo
echo "== TensorRatios: self-timed, interleaved, one process =="
.build/release/TensorRatios "$@"

echo
echo "== BlockRatios: LaNN transformer block fwd+bwd, BLAS share, PyTorch reference, RSS over training steps =="
.build/release/BlockRatios "$@"

echo
echo "== TrainStepRatios: one tiny-CLIP training step (CLIP, LaCLIP, LaCLIP-MT) at batch 64 and 128, PyTorch reference =="
.build/release/TrainStepRatios "$@"
