# Two commands set everything up on a fresh machine:
#   make run   - create .venv, install Python packages and web assets, open the app on the demo scene
#   make test  - the same set-up, then every test
# Both are idempotent: stamp files make a second call install nothing.
#   make TORCH=cpu test - the same with the CPU-only torch wheel (no CUDA libraries)
#   make package        - the installers (dist/, *.tar.gz, *.deb) from .venv-package
#   make package-test   - install the .deb into a temporary root and run it offline

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
WEB    := resources/web
TORCH  ?= default
PY_STAMP  := $(VENV)/.satseg-installed$(if $(filter cpu,$(TORCH)),-cpu,)
WEB_STAMP := $(WEB)/node_modules/.satseg-installed
export SAM2_BUILD_CUDA := 0

.PHONY: setup run test demo clean benchmark package package-test FORCE

setup: $(PY_STAMP) $(WEB_STAMP)

$(PY):
	$(PYTHON) -m venv $(VENV)

# torch/torchvision go first so that sam2 (built from source) compiles against
# them without an isolated build environment pulling a second torch.
# TORCH=cpu takes the CPU-only wheel (installer/constraints-cpu.txt); switching
# an existing .venv from one torch to the other needs `rm -rf .venv` first.
ifeq ($(TORCH),cpu)
TORCH_PIP := -c installer/constraints-cpu.txt torch torchvision
TORCH_CONSTRAINT := -c installer/constraints-cpu.txt
else
TORCH_PIP := "torch>=2.5.1,<=2.14.1" "torchvision>=0.20.1,<=0.29.1"
TORCH_CONSTRAINT :=
endif

$(PY_STAMP): pyproject.toml | $(PY)
	$(PIP) install --quiet --upgrade "pip>=24" setuptools wheel
	$(PIP) install --quiet $(TORCH_PIP)
	$(PIP) install --quiet --no-build-isolation $(TORCH_CONSTRAINT) -e ".[dev]"
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

# ---------------------------------------------------------------- packaging
# The installers are built in a venv of their own with the CPU-only torch, so
# no CUDA or triton file can reach the bundle; .venv is left alone.
PKG_VENV  := .venv-package
PKG_PY    := $(PKG_VENV)/bin/python
PKG_STAMP := $(PKG_VENV)/.satseg-installed
PYINSTALLER := pyinstaller==6.22.3
SAM2_CHECKPOINT ?=

$(PKG_STAMP): pyproject.toml installer/constraints-cpu.txt installer/requirements.py
	test -x $(PKG_PY) || $(PYTHON) -m venv $(PKG_VENV)
	$(PKG_PY) -m pip install --quiet --upgrade "pip>=24" setuptools wheel
	$(PKG_PY) -m pip install --quiet -c installer/constraints-cpu.txt torch
	$(PKG_PY) installer/requirements.py > $(PKG_VENV)/requirements.txt
	$(PKG_PY) -m pip install --quiet --no-build-isolation -c installer/constraints-cpu.txt \
		-r $(PKG_VENV)/requirements.txt $(PYINSTALLER)
	# sam2 declares torchvision, but PyPI's torchvision is linked against the CUDA torch and
	# cannot load with the CPU one; the sam2 model path does not use it (docs/packaging.md).
	$(PKG_PY) -m pip uninstall --quiet --yes torchvision
	$(PKG_PY) installer/check_venv.py
	touch $@

VERSION   := $(shell sed -n 's/^__version__ = "\(.*\)"/\1/p' desktop_app/__init__.py)
BUNDLE    := dist/satseg/satseg
DEB       := dist/satseg_$(VERSION)_amd64.deb
TARBALL   := dist/satseg-$(VERSION)-linux-x86_64.tar.gz
BUNDLE_INPUTS := pyinstaller.spec installer/satseg_app.py installer/satseg_cli.py \
	$(shell find desktop_app resources installer/hooks installer/licenses -type f -not -path '*/__pycache__/*')
CKPT_STAMP := build/sam2-checkpoint.txt

package: $(DEB) $(TARBALL)

# PyInstaller runs only when a source, the spec or the venv changed.
$(BUNDLE): $(PKG_STAMP) $(WEB_STAMP) $(BUNDLE_INPUTS)
	nice -n 10 $(PKG_PY) -m PyInstaller --noconfirm --log-level WARN pyinstaller.spec
	touch $@

# The optional SAM-2 checkpoint, checked by the app's own importer (a new bundle drops it).
MODELS_STAMP := build/sam-models.done
$(MODELS_STAMP): $(BUNDLE) $(CKPT_STAMP) $(SAM2_CHECKPOINT) installer/bundle_checkpoint.py
	nice -n 10 $(PKG_PY) installer/bundle_checkpoint.py "$(SAM2_CHECKPOINT)"
	touch $@

$(DEB) $(TARBALL) &: $(MODELS_STAMP) installer/make_installers.py installer/satseg.desktop
	nice -n 10 $(PKG_PY) installer/make_installers.py

# Rewritten only when SAM2_CHECKPOINT names another file, so only then the checkpoint step reruns.
$(CKPT_STAMP): FORCE
	@mkdir -p build
	@echo "$(abspath $(SAM2_CHECKPOINT))" | cmp -s - $@ || echo "$(abspath $(SAM2_CHECKPOINT))" > $@

# Builds (or reuses) the installers, then runs the installed copy offline.
package-test: package
	installer/package_test.sh

FORCE:

clean:
	rm -rf $(VENV) $(WEB)/node_modules
