# diffusion_lab — set up, open and test the course.   (GNU make)
#   make course   create .venv if needed, then open the notebooks in JupyterLab (LANG=zh: 中文版)
#   make test     the linter (ruff), unit tests + every notebook under nbval
#   make strip    strip outputs/execution counts/widget state from all notebooks
#   make hooks    install the nbstripout git filter for this clone
#   make clean    remove build leftovers (keeps .venv; `make distclean` removes it too)

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV   := .venv
VPY    := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
PORT   ?= 8888

# Reproducible test runs: fixed hash seed, headless matplotlib. A character missing from the figure font
# (matplotlib's "Glyph … missing" warning: boxes in place of text, e.g. Chinese without a CJK font) is
# an error in every test and in every notebook's kernel (they inherit PYTHONWARNINGS).
TEST_ENV := PYTHONHASHSEED=0 MPLBACKEND=Agg PYTHONWARNINGS=error:Glyph
# Project-local Jupyter config (highest-priority config path; nothing in ~ is touched):
# jupyter-config/labconfig/page_config.json turns off the JupyterLab news pop-up;
# jupyter-config/jupyter_config.py (voila.py for Voila) runs kernels over IPC sockets in Jupyter's
# private runtime folder instead of plain localhost TCP, on Linux and macOS (TCP stays on Windows).
# `make site` loads the same file for its nbclient kernels (scripts/build_site.py).
JUPYTER_ENV := JUPYTER_CONFIG_PATH="$(CURDIR)/jupyter-config" PATH="$(CURDIR)/$(VENV)/bin:$$PATH"

# Open a browser only where there is a display (macOS always has one); otherwise Jupyter
# prints a http://127.0.0.1:PORT/lab?token=... URL to copy into a browser.
ifeq ($(shell uname -s),Darwin)
BROWSER_FLAG :=
else ifneq ($(strip $(DISPLAY)$(WAYLAND_DISPLAY)),)
BROWSER_FLAG :=
else
BROWSER_FLAG := --no-browser
endif
# The edition `make course`, `make present` and `make dashboard` open: `make course LANG=zh` (or a
# zh_* locale such as zh_CN.UTF-8) opens the Chinese edition, notebooks/zh/ (中文版); otherwise English.
# LANG is also the locale variable: when it is the bare "zh", Jupyter is given a real locale instead.
EDITION     := $(if $(filter zh%,$(LANG)),zh,en)
EDITION_DIR := $(if $(filter zh,$(EDITION)),zh/,)
LOCALE_ENV  := $(if $(filter zh,$(LANG)),LANG=C.UTF-8,)
# Jupyter refuses to start as root (containers, CI) unless told to.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root)

.PHONY: help venv course test strip hooks clean distclean

# ---- delivery: static site, animations, presenting, dashboards, browser tests ------------------
#   make site        execute every chapter into build/site/ (static HTML, figures inline, offline math)
#   make animations  one GIF + HTML animation per view into build/animations/
#   make present     JupyterLab for the projector (deck mode: jupyterlab-slideshow); CHAPTER=NN_name
#   make dashboard   a chapter as a Voila dashboard (code hidden); CHAPTER=NN_name, default: all
#   make e2e         only the browser tests (Playwright + Chromium); screenshots in build/screenshots/
CHAPTER    ?=
VOILA_PORT ?= 8866
.PHONY: site animations present slides dashboard e2e

site: $(STAMP)
	$(VPY) scripts/build_site.py
	@echo "Open build/site/index.html in a browser (works offline)."

animations: $(STAMP)
	MPLBACKEND=Agg $(VPY) scripts/make_animations.py

# DIFFUSION_LAB_PRESENTING=1: the kernels inherit it and every chapter's use_course_style() call
# then draws projector-sized figures (PRESENTING=0 keeps the normal style).
PRESENTING ?= 1
present slides: $(STAMP)
	@echo "Presenting: in the notebook toolbar click the deck icon (or Command Palette > Start Deck)."
	@echo "Figures are projector-sized (DIFFUSION_LAB_PRESENTING=$(PRESENTING)). See docs/presenting.md."
	$(LOCALE_ENV) DIFFUSION_LAB_PRESENTING=$(PRESENTING) $(JUPYTER_ENV) $(VENV)/bin/jupyter lab --ServerApp.root_dir=notebooks \
	  --ServerApp.ip=127.0.0.1 --ServerApp.port=$(PORT) \
	  --LabApp.default_url=/lab/tree/$(EDITION_DIR)$(or $(CHAPTER),00_welcome).ipynb \
	  $(BROWSER_FLAG) $(ROOT_FLAG)

dashboard: $(STAMP)
	@echo "Voila: code hidden, widgets live. Stop with Ctrl-C. See docs/presenting.md."
	$(LOCALE_ENV) DIFFUSION_LAB_PRESENTING=$(PRESENTING) $(JUPYTER_ENV) $(VENV)/bin/voila \
	  $(if $(CHAPTER),notebooks/$(EDITION_DIR)$(CHAPTER).ipynb,notebooks/$(EDITION_DIR)) \
	  --Voila.ip=127.0.0.1 --port=$(VOILA_PORT) $(BROWSER_FLAG)

e2e: $(STAMP)
	$(TEST_ENV) $(VPY) -m pytest tests/e2e -m e2e -s $(PYTEST_ARGS)

# ---- JupyterHub for a class (deploy/jupyterhub/, docs/hosting.md) ------------------------------
#   make hub   JupyterHub on http://127.0.0.1:$(HUB_PORT) with the course's .venv as every student's
#              environment; prints the shared password and the nbgitpuller link to chapter 00.
#              The first time it installs deploy/jupyterhub/requirements.txt into .venv and
#              configurable-http-proxy (npm, from deploy/jupyterhub/proxy/package-lock.json) into .venv/chp.
HUB_PORT  ?= 8000
HUB_STAMP := $(VENV)/.hub-installed
.PHONY: hub

$(HUB_STAMP): $(STAMP) deploy/jupyterhub/requirements.txt deploy/jupyterhub/proxy/package.json deploy/jupyterhub/proxy/package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "error: make hub needs Node.js and npm for configurable-http-proxy (Debian: apt-get install nodejs npm)" >&2; exit 1; }
	$(VPY) -m pip install -r deploy/jupyterhub/requirements.txt
	mkdir -p $(VENV)/chp
	cp deploy/jupyterhub/proxy/package.json deploy/jupyterhub/proxy/package-lock.json $(VENV)/chp/
	cd $(VENV)/chp && npm ci --no-audit --no-fund
	@touch $@

hub: $(HUB_STAMP)
	DL_HUB_PORT=$(HUB_PORT) $(VPY) deploy/jupyterhub/course_hub.py

help:
	@echo "make course   set up .venv (first time: a few minutes) and open the course in JupyterLab"
	@echo "              make course LANG=zh  opens the Chinese edition (中文版, notebooks/zh/)"
	@echo "make test     run the unit tests and every notebook (nbval)"
	@echo "make strip    strip outputs from all notebooks (nbstripout)"
	@echo "make hooks    install the nbstripout git filter for this clone"
	@echo "make clean    remove build leftovers;  make distclean  also removes .venv"
	@echo "make site     static HTML of every executed chapter in build/site/ (read without running)"
	@echo "make animations  GIF + HTML animation of every view in build/animations/"
	@echo "make present  JupyterLab for presenting (deck mode);  make dashboard  chapters as Voila dashboards"
	@echo "make e2e      browser tests only (needs chromium + playwright; .ci/run installs them)"
	@echo "make hub      JupyterHub for a class on 127.0.0.1:8000 (shared password, nbgitpuller link); docs/hosting.md"

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@test -n "$(PYTHON)" || { echo "error: no python3.11 or python3 on PATH" >&2; exit 1; }
	@"$(PYTHON)" -c 'import sys; sys.exit(sys.version_info[:2] < (3, 11))' || \
	  { echo "error: $(PYTHON) is older than Python 3.11; install 3.11 or run: make PYTHON=/path/to/python3.11" >&2; exit 1; }
	test -x $(VPY) || "$(PYTHON)" -m venv $(VENV)
	$(VPY) -m pip install --upgrade pip || echo "warning: could not upgrade pip (offline?); continuing with the bundled one"
	$(VPY) -m pip install -r requirements.txt
	$(VPY) -m pip install --no-deps -e .
	@touch $@

course: $(STAMP)
	@echo "Opening the course: notebooks/$(EDITION_DIR)00_welcome.ipynb is the first chapter (make course LANG=zh: 中文版)."
	@echo "If no browser opens, copy the http://127.0.0.1:$(PORT)/lab/...?token=... URL printed below. Stop with Ctrl-C."
	$(LOCALE_ENV) $(JUPYTER_ENV) $(VENV)/bin/jupyter lab --ServerApp.root_dir=notebooks --ServerApp.ip=127.0.0.1 \
	  --ServerApp.port=$(PORT) --LabApp.default_url=/lab/tree/$(EDITION_DIR)00_welcome.ipynb \
	  $(BROWSER_FLAG) $(ROOT_FLAG)

# The linter (ruff, configured in pyproject.toml) checks the whole tree, notebooks included, first.
test: $(STAMP)
	@start=$$(date +%s); \
	$(VPY) -m ruff check . && $(TEST_ENV) $(VPY) -m pytest $(PYTEST_ARGS); rc=$$?; \
	secs=$$(( $$(date +%s) - start )); \
	if [ $$rc -eq 0 ]; then echo "make test: PASSED (lint + unit tests + notebooks) in $${secs}s"; \
	else echo "make test: FAILED (pytest exit code $$rc) after $${secs}s — see the summary above" >&2; fi; \
	exit $$rc

strip: $(STAMP)
	$(VENV)/bin/nbstripout notebooks/*.ipynb notebooks/zh/*.ipynb

hooks: $(STAMP)
	$(VENV)/bin/nbstripout --install --attributes .gitattributes
	@echo "nbstripout git filter installed: notebooks are stripped when staged."

clean:
	rm -rf build/ dist/ *.egg-info executed/ artifacts/ screenshots/ _site/ site/ .pytest_cache
	find . -path ./$(VENV) -prune -o -type d \( -name __pycache__ -o -name .ipynb_checkpoints \) -print0 | xargs -0 rm -rf

distclean: clean
	rm -rf $(VENV)
