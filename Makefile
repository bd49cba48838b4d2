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

# `make setup`, `make test` and `make book` run tools/course.py, the path
# without make (Windows): both do exactly the same steps.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: book test browser-test setup execute record export student clean

setup:
	$(PYTHON) tools/course.py setup

book:
	$(PYTHON) tools/course.py book

test:
	$(PYTHON) tools/course.py test

# The built book in headless Chromium (Debian's `chromium` and `chromium-driver`;
# .ci/run installs them). MathJax is served from the npm package for the test only.
MATHJAX := .cache/mathjax/node_modules/mathjax/es5/tex-mml-chtml.js
browser-test: setup
	@command -v chromedriver >/dev/null || { echo "browser-test needs Chromium and its driver: apt-get install chromium chromium-driver"; exit 1; }
	test -f $(MATHJAX) || npm install --no-save --no-audit --no-fund --prefix .cache/mathjax mathjax@3
	test -f _build/html/index.html || $(MAKE) book
	$(BIN)/python -m pytest -m browser tests/browser -q

execute: setup
	HF_PROFILE=$${HF_PROFILE:-book} $(BIN)/python -m tools.execute_notebook $(NB)

record: setup
	HF_PROFILE=$${HF_PROFILE:-full} $(BIN)/python -m tools.execute_notebook --results-only $(NB)

export: setup
	$(BIN)/python tools/export_papers.py

# No `setup` here: the student versions need only the course's .venv (nbformat), so an
# existing one is used as it is (a stale install stamp never makes this reinstall).
student:
	@test -x $(BIN)/python || { echo "make student: $(BIN)/python is missing. Set up the course first with 'make setup' (or 'python3 tools/course.py setup'), then run 'make student' again." >&2; exit 1; }
	$(BIN)/python -m tools.student_version $(or $(NB),chapters/*.ipynb) $(if $(ONLY),--only $(ONLY))

clean:
	rm -rf _build
