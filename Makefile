# splitinfer build and test entry points. `make test` is the README's test
# command and what .ci/run runs; it installs what the tests need first.
GO ?= go

.PHONY: build test test-deps bench model jaeger jaeger-run

build:
	$(GO) build -o bin/splitinfer ./cmd/splitinfer

# test-deps installs what the test suite needs beyond the Go toolchain.
test-deps:
	bash scripts/test-deps.sh

# test also builds the engine for other CPUs (arm64, 386: the pure-Go
# paths) and runs the engine's tests with -tags purego (no assembly) and
# nnpoison (shared activation buffers filled with NaN before each kernel,
# which catches a kernel that leaves part of its output unwritten), and
# the int8 tests with AVX-512 switched off (the AVX2 paths).
test: test-deps
	$(GO) vet ./...
	GOARCH=arm64 $(GO) build ./nn/... ./dataset/... ./models/...
	GOARCH=386 $(GO) build ./nn/... ./dataset/... ./models/...
	$(GO) test -count=1 -timeout 60m ./...
	$(GO) test -count=1 -tags purego,nnpoison ./nn/ ./nn/internal/blas/ ./nn/onnx/
	GODEBUG=cpu.avx512f=off $(GO) test -count=1 -run 'Q8|Int8|S8|AVX|WarmRunAllocates|NCHWc' ./nn/ ./nn/internal/blas/

# jaeger builds the pinned Jaeger (tools/go.mod) into .cache/bin once;
# jaeger-run runs it on 127.0.0.1 only (OTLP 4317/4318, query API 16686).
jaeger:
	bash scripts/jaeger-build.sh
jaeger-run:
	bash scripts/jaeger-run.sh

# bench times the engine against ONNX Runtime (onnxruntime-node) on the
# reference models, plus the SqueezeNet- and MobileNetV3-style models that
# bench/mkmodels writes (fp32 and int8), and writes bench/results.json and
# bench/results.md. Not part of `make test`. REFS is the reference-model
# directory; BENCH_MODELS more ONNX files to time (any model, one input).
REFS ?= ../shared/refs
BENCH_MODELS ?= bench/models/squeezenet_style.onnx bench/models/mobilenetv3_style.onnx \
	bench/models/squeezenet_style_int8_qdq.onnx bench/models/mobilenetv3_style_int8_qdq.onnx
bench:
	cd bench && ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund
	$(GO) run ./bench/mkmodels -out bench/models
	$(GO) run ./bench -refs $(REFS) -out bench $(addprefix -model ,$(BENCH_MODELS))

# model reproduces the bundled default model models/seednet_mnist_pq8.sinf:
# the seed network trained in Go, 90% pruned and fine-tuned, int8-quantized
# (scripts/make-model.sh). Takes minutes; not part of `make test`.
model:
	GO=$(GO) bash scripts/make-model.sh
