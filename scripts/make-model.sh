#!/usr/bin/env bash
# Reproduces models/seednet_mnist_pq8.sinf, splitinfer's bundled default
# model (`make model`):
#   1. the seed network trained in Go on the 60k MNIST training images,
#      3 epochs, Adam lr 1e-3, batch 128, seed 1;
#   2. global magnitude pruning of 90% of the conv/fc weights, then one
#      epoch of fine-tuning with the mask kept (Adam lr 5e-4);
#   3. int8 quantization (per-channel weights, min/max activation ranges
#      calibrated on the first 512 training images), written as .sinf
#      (sparse weights stored as bitmaps);
#   4. a 2-bit activation codec at the early cut (compress/actcode),
#      fitted on the first 5,000 training images, in the metadata.
# Threads are pinned to 2: the same seed and thread count give the same
# weights on the same GEMM kernel path (AVX-512 and AVX2 may round
# differently). Set SPLITINFER=path to use an already built binary.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${SPLITINFER:-}
if [ -z "$bin" ]; then
	mkdir -p bin
	${GO:-go} build -o bin/splitinfer ./cmd/splitinfer
	bin=bin/splitinfer
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$bin" train --arch seednet --epochs 3 --lr 1e-3 --batch 128 --seed 1 --threads 2 --out "$work/seednet_fp32.onnx"
"$bin" compress --model "$work/seednet_fp32.onnx" --prune 0.9 --finetune-epochs 1 --lr 5e-4 --batch 128 --seed 1 --threads 2 \
	--quantize int8 --calib 512 --calib-method minmax --act-bits 2 --out models/seednet_mnist_pq8.sinf
