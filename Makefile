# Two commands on a fresh machine: `make demo` and `make test` (README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# oneDNN is off by default on CPUs without AVX-512 and is 4x faster on ours
# (docs/design.md §7); it must be set before TensorFlow is imported.
export TF_ENABLE_ONEDNN_OPTS := 1
export TF_CPP_MIN_LOG_LEVEL := 2

.PHONY: test demo venv clean bench

venv: $(STAMP)

$(STAMP): setup.py pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

# pytest exits 5 when it collected nothing: that must not count as green.
test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests" >&2; exit 1; fi; exit $$rc

# Trains InfoGAN on the bundled MNIST (offline, ~5 minutes on 2 cores), then
# scores the kept checkpoints with the shipped MNIST classifier (Fréchet
# distance, KID, IS: MNIST-only numbers, not Inception FID). A finished run is
# not repeated: delete demo_run/ to train again.
DEMO_DIR ?= demo_run
demo: $(STAMP)
	$(BIN)/python -m compare_gan2.main --model_dir=$(DEMO_DIR) \
	  --gin_config=gin_configs/mnist/infogan.gin --schedule=eval_after_train
	@echo "Scores per checkpoint: $(DEMO_DIR)/scores.csv; plots: $(DEMO_DIR)/plots/"
	@echo "Checkpoints, TensorBoard logs and operative_config.gin: $(DEMO_DIR)/"
	@echo "Sample grids (one per 100 steps): $$(ls -d $(DEMO_DIR)/samples/*.png | tail -1) and earlier"
	@echo "TensorBoard: $(BIN)/tensorboard --logdir $(DEMO_DIR)"

# Training-step speed: Keras fit vs a bare tf.function step vs a PyTorch eager
# twin (DCGAN-32, ResNet-CIFAR, BigGAN-128), with the machine's fp32 matmul peak;
# prints a Markdown table (~15-30 minutes on 2 cores). torch comes from the
# `bench` extra only; compare_gan2 never imports it. BENCH_ARGS: e.g. --rounds 5.
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[bench]'
	$(BIN)/python benchmarks/bench.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info
