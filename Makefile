# Two commands on a fresh machine: `make demo` and `make test` (README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# oneDNN is off by default on CPUs without AVX-512 and is 4x faster on ours
# (../shared/ENVIRONMENT.md §6); it must be set before TensorFlow is imported.
export TF_ENABLE_ONEDNN_OPTS := 1
export TF_CPP_MIN_LOG_LEVEL := 2

.PHONY: test demo venv clean

venv: $(STAMP)

$(STAMP): setup.py
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

# pytest exits 5 when it collected nothing: that must not count as green.
test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests" >&2; exit 1; fi; exit $$rc

# The training demo lands with the ModularGAN runner; until then the demo
# shows the component catalogue that gin files compose.
demo: $(STAMP)
	$(BIN)/compare_gan2_list_configurables

clean:
	rm -rf $(VENV) build *.egg-info
