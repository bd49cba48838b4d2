# Hidden Factors — the two commands of the README, and a few for authors.
#
#   make book   set up .venv (first time) and build the HTML book into _build/html
#   make test   set up .venv (first time), run ruff, the unit tests, and every
#               chapter notebook under nbval with HF_PROFILE=smoke
#
# Authors: `make execute NB=chapters/00_warmup.ipynb` re-runs a chapter in the
# `book` profile and saves its outputs (commit them); `make export` writes the
# chapters' `#| export` cells into helpers/papers/ (commit them too);
# `HF_PROFILE=full make record NB=...` records a paper-scale run in results/.
# Teachers: `make student NB=chapters/01_xcov.ipynb` writes the student version
# (stubs to implement) into _build/students/; ONLY=KSparse.mask,KSparse.call
# stubs just those pieces.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: book test browser-test setup execute record export student clean

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $(STAMP)

setup: $(STAMP)

book: $(STAMP)
	rm -rf _build/html _build/.doctrees  # a full build: Sphinx 7.4 keeps stale static files
	$(BIN)/jupyter-book build . -W -n --keep-going
	@test -f _build/html/index.html && echo "Book: $(CURDIR)/_build/html/index.html"

test: $(STAMP)
	$(BIN)/ruff check helpers tests tools chapters
	HF_PROFILE=smoke $(BIN)/python -m pytest --nbval-lax -q

# The built book in headless Chromium (Debian's `chromium` and `chromium-driver`;
# .ci/run installs them). MathJax is served from the npm package for the test only.
MATHJAX := .cache/mathjax/node_modules/mathjax/es5/tex-mml-chtml.js
browser-test: $(STAMP)
	@command -v chromedriver >/dev/null || { echo "browser-test needs Chromium and its driver: apt-get install chromium chromium-driver"; exit 1; }
	test -f $(MATHJAX) || npm install --no-save --no-audit --no-fund --prefix .cache/mathjax mathjax@3
	test -f _build/html/index.html || $(MAKE) book
	$(BIN)/python -m pytest -m browser tests/browser -q

execute: $(STAMP)
	HF_PROFILE=$${HF_PROFILE:-book} $(BIN)/python tools/execute_notebook.py $(NB)

record: $(STAMP)
	HF_PROFILE=$${HF_PROFILE:-full} $(BIN)/python tools/execute_notebook.py --results-only $(NB)

export: $(STAMP)
	$(BIN)/python tools/export_papers.py

student: $(STAMP)
	$(BIN)/python tools/student_version.py $(or $(NB),chapters/*.ipynb) $(if $(ONLY),--only $(ONLY))

clean:
	rm -rf _build
