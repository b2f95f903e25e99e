# Two commands set everything up on a fresh machine:
#   make run   - create .venv, install Python packages and web assets, open the app on the demo scene
#   make test  - the same set-up, then every test
# Both are idempotent: stamp files make a second call install nothing.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
WEB    := resources/web
PY_STAMP  := $(VENV)/.satseg-installed
WEB_STAMP := $(WEB)/node_modules/.satseg-installed
export SAM2_BUILD_CUDA := 0

.PHONY: setup run test demo clean benchmark

setup: $(PY_STAMP) $(WEB_STAMP)

$(PY):
	$(PYTHON) -m venv $(VENV)

# torch/torchvision go first so that sam2 (built from source) compiles against
# them without an isolated build environment pulling a second torch.
$(PY_STAMP): pyproject.toml | $(PY)
	$(PIP) install --quiet --upgrade "pip>=24" setuptools wheel
	$(PIP) install --quiet "torch>=2.5.1,<=2.14.1" "torchvision>=0.20.1,<=0.29.1"
	$(PIP) install --quiet --no-build-isolation -e ".[dev]"
	touch $@

$(WEB_STAMP): $(WEB)/package.json $(WEB)/package-lock.json
	cd $(WEB) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

run: setup
	$(PY) -m desktop_app --demo

test: setup
	QT_QPA_PLATFORM=offscreen QTWEBENGINE_DISABLE_SANDBOX=1 $(PY) -m pytest -q

benchmark: setup
	$(PY) benchmarks/classify_speed.py

clean:
	rm -rf $(VENV) $(WEB)/node_modules
