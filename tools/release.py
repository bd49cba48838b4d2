"""Make a release in one command: version, first cells, wheel check, changelog, tag.

    python -m tools.release 0.2.0 --notes "What changed, in a sentence or two."

in a clean checkout of main:

1. refuses a dirty work tree, an existing tag, or a version not above the current one;
2. writes the version to its one home (``helpers.__version__``) and to ``CITATION.cff``;
3. rewrites every chapter's and lab notes page's first cell (``tools/first_cell.py``),
   so each installs this release;
4. builds the helpers' wheel and checks that it holds every record under ``results/``
   (as ``helpers/_records``) and every generated paper module;
5. points every weights manifest (``results/<chapter>/weights-<profile>.json``) whose
   asset is on this machine (``_build/weights/``, left by the recorded run, its SHA-256
   checked) at this release; a manifest whose asset is not here keeps the URL of the
   release that published it;
6. writes a ``CHANGELOG.md`` entry (the notes and the commits since the last tag);
7. commits all of that and creates the annotated tag ``v<version>``.

Pushing the tag (``git push origin main v0.2.0``) makes the ``publish`` workflow attach
the wheel to the GitHub release, from where the chapters' first cells install it.  The
weights are never committed, so no workflow has them: the command prints the
``gh release upload`` line that attaches the assets of step 5 (what a chapter's
``PRETRAINED`` switch downloads).

``python -m tools.release --check-wheel dist/hidden_factors-0.2.0-py3-none-any.whl``
runs step 4 alone on a built wheel (the workflow does, before uploading it).
"""

from __future__ import annotations

import argparse
import datetime
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VERSION_FILE = ROOT / "helpers" / "__init__.py"
CITATION = ROOT / "CITATION.cff"
CHANGELOG = ROOT / "CHANGELOG.md"
VERSION = re.compile(r'^__version__ = "(?P<version>[^"]+)"$', re.M)


class ReleaseError(RuntimeError):
    """The release cannot be made as asked; nothing was committed or tagged."""


def _git(*args: str, check: bool = True) -> str:
    done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
    if check and done.returncode:
        raise ReleaseError(f"git {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout.strip()


def _parse(version: str) -> tuple[int, int, int]:
    match = re.fullmatch(r"(\d+)\.(\d+)\.(\d+)", version)
    if not match:
        raise ReleaseError(f"a version is MAJOR.MINOR.PATCH, e.g. 0.2.0; got {version!r}.")
    return tuple(int(p) for p in match.groups())  # type: ignore[return-value]


def current_version() -> str:
    """``helpers.__version__`` as the file says (not as an installed copy says)."""
    match = VERSION.search(VERSION_FILE.read_text())
    if not match:
        raise ReleaseError(f"no __version__ line in {VERSION_FILE.relative_to(ROOT)}")
    return match["version"]


def check_wheel(wheel: Path) -> int:
    """Check that ``wheel`` holds every record and figure of ``results/`` (its ``.json`` and
    ``.png`` files) and every generated paper module; return their count."""
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    wanted = {f"helpers/_records/{p.relative_to(ROOT / 'results').as_posix()}"
              for p in (ROOT / "results").rglob("*") if p.suffix in (".json", ".png")}
    wanted |= {f"helpers/papers/{p.name}" for p in (ROOT / "helpers" / "papers").glob("*.py")}
    missing = sorted(wanted - names)
    if missing:
        raise ReleaseError(f"{wheel.name} lacks {len(missing)} shipped files, e.g. "
                           f"{missing[:3]}: check [tool.setuptools] in pyproject.toml.")
    return len(wanted)


def build_wheel(out: Path) -> Path:
    """The helpers' wheel of this checkout, built into ``out``."""
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                           "-w", str(out), str(ROOT)], capture_output=True, text=True)
    if done.returncode:
        raise ReleaseError(f"the wheel did not build:\n{done.stderr[-2000:]}")
    return next(out.glob("hidden_factors-*.whl"))


def changelog_entry(version: str, notes: str, date: str) -> str:
    """The CHANGELOG section of ``version``: the notes, then the commits since the last tag."""
    last = _git("describe", "--tags", "--abbrev=0", check=False)
    lines = [f"## v{version} — {date}", "", notes.strip(), ""]
    if not last:  # the first release: its history is the whole log, not a list here
        count = _git("rev-list", "--count", "HEAD")
        return "\n".join([*lines, f"The first release: {count} commits (`git log`).", ""])
    commits = _git("log", "--format=%s", f"{last}..HEAD").splitlines()
    if commits:
        lines += [f"Commits since {last}:", ""]
        lines += [f"- {subject[:160]}" for subject in commits]
        lines.append("")
    return "\n".join(lines)


def point_weights_at(version: str) -> list[Path]:
    """Step 5: the assets to attach to release ``version`` (their manifests now name it)."""
    import json

    from helpers import pretrained
    from helpers.data.downloads import cached_file_ok
    from helpers.files import atomic_write_text
    from tools.execute_notebook import release_download_url

    assets = []
    for path in sorted((ROOT / "results").glob("*/weights-*.json")):
        manifest = json.loads(path.read_text(encoding="utf-8"))
        asset = ROOT / pretrained.BUILD_DIR / manifest["asset"]
        if not cached_file_ok(asset, manifest["sha256"]):
            print(f"{manifest['asset']} is not on this machine (or differs from its manifest): "
                  f"its manifest keeps {manifest['url']}")
            continue
        manifest["url"] = release_download_url(version) + manifest["asset"]
        atomic_write_text(path, json.dumps(manifest, indent=1, ensure_ascii=False) + "\n")
        assets.append(asset)
    return assets


def release(version: str, notes: str, date: str | None = None) -> tuple[str, list[Path]]:
    """Make release ``version`` (see the module's docstring); its tag and the weights to attach."""
    from helpers.files import atomic_write_text
    from tools import first_cell

    old = current_version()
    if _parse(version) <= _parse(old):
        raise ReleaseError(f"the new version must be above the current {old}; got {version}.")
    tag = f"v{version}"
    if _git("tag", "--list", tag):
        raise ReleaseError(f"the tag {tag} exists already.")
    if _git("status", "--porcelain"):
        raise ReleaseError("the work tree has uncommitted changes: commit or stash them first.")
    if not notes.strip():
        raise ReleaseError("say what changed: --notes \"...\"")
    date = date or datetime.date.today().isoformat()
    with tempfile.TemporaryDirectory() as tmp:  # before anything is written
        check_wheel(build_wheel(Path(tmp)))

    atomic_write_text(VERSION_FILE, VERSION.sub(f'__version__ = "{version}"',
                                                VERSION_FILE.read_text(), count=1))
    citation = re.sub(r'(?m)^version: ".*"$', f'version: "{version}"', CITATION.read_text())
    citation = re.sub(r'(?m)^date-released: ".*"\n', "", citation)
    citation = re.sub(r'(?m)^repository-code: ".*"$',  # the URL's one home: _config.yml
                      f'repository-code: "{first_cell.repository_url()}"', citation)
    atomic_write_text(CITATION, citation.rstrip("\n") + f'\ndate-released: "{date}"\n')
    first_cell.rewrite_all(version)
    assets = point_weights_at(version)
    head = "# Changelog\n\nEach release of the course (`python -m tools.release`).\n\n"
    previous = CHANGELOG.read_text()[len(head):] if CHANGELOG.exists() else ""
    atomic_write_text(CHANGELOG, head + changelog_entry(version, notes, date) + "\n" + previous)
    _git("add", "-A")
    _git("commit", "-q", "-m", f"Release {tag}")
    _git("tag", "-a", tag, "-m", f"Hidden Factors {tag}\n\n{notes.strip()}")
    return tag, assets


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("version", nargs="?", help="the new version, e.g. 0.2.0")
    parser.add_argument("--notes", default="", help="what changed (the CHANGELOG's words)")
    parser.add_argument("--date", help="the release date (default: today)")
    parser.add_argument("--check-wheel", type=Path, metavar="WHEEL",
                        help="only check that a built wheel holds the records")
    args = parser.parse_args(argv)
    try:
        if args.check_wheel:
            count = check_wheel(args.check_wheel)
            print(f"{args.check_wheel.name}: all {count} records and paper modules are in it")
            return 0
        if not args.version:
            parser.error("give the new version (or --check-wheel WHEEL)")
        tag, assets = release(args.version, args.notes, args.date)
    except ReleaseError as err:
        print(f"release: {err} Nothing was committed or tagged.", file=sys.stderr)
        return 1
    print(f"Released {tag}. Publish it: git push origin main {tag}")
    if assets:
        names = " ".join(a.relative_to(ROOT).as_posix() for a in assets)
        print(f"Then attach the book run's weights (once the workflow made the release):\n"
              f"  gh release upload {tag} {names}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
