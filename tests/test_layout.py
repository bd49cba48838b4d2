"""helpers is laid out by what things are, and the README's tree says so."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _paper_words() -> set[str]:
    """Each paper chapter's module name (with and without underscores) and the surnames
    of its paper's authors, from the chapters' own declarations."""
    from helpers.papers import paper_chapters

    words = set()
    for c in paper_chapters():
        words |= {c.module, c.module.replace("_", ""), *c.module.split("_")}
        words |= {w.lower() for w in re.findall(r"[A-Z][a-z]+", c.spec.paper)}
    return {w for w in words if len(w) > 3}


def test_no_module_outside_papers_is_named_after_a_paper():
    words = _paper_words()
    assert "cheung" in words and "twostep" in words  # authors and module names both
    for path in (ROOT / "helpers").rglob("*.py"):
        rel = path.relative_to(ROOT / "helpers")
        if rel.parts[0] == "papers":
            continue
        assert not any(w in path.stem.lower().replace("_", "") for w in words), rel


def test_readme_layout_lists_every_helpers_folder():
    readme = (ROOT / "README.md").read_text()
    layout = readme[readme.index("## Layout"):]
    listed = set(re.findall(r"(?m)^  (\w+)/ ", layout))  # the folders indented under helpers/
    folders = {p.name for p in (ROOT / "helpers").iterdir()
               if p.is_dir() and (p / "__init__.py").exists()}
    assert listed == folders
    for folder in folders:
        for module in (ROOT / "helpers" / folder).glob("*.py"):
            if module.stem != "__init__":
                assert module.stem in layout, f"README layout misses helpers/{folder}/{module.name}"


def test_readme_layout_lists_every_tool():
    layout = (ROOT / "README.md").read_text().split("## Layout", 1)[1]
    for tool in (ROOT / "tools").glob("*.py"):
        if tool.name == "__init__.py":
            continue
        assert tool.name in layout, f"README layout misses tools/{tool.name}"


def test_make_and_the_no_make_path_run_the_same_commands():
    """make setup/test/book are tools/course.py, which CI runs with the Makefile away."""
    # .ci/run moves the Makefile aside while it runs this suite without make
    makefile = next(p for p in (ROOT / "Makefile", ROOT / ".Makefile.hidden") if p.exists())
    makefile = makefile.read_text()
    for target in ("setup", "test", "book"):
        assert re.search(rf"(?m)^{target}:\n\t\$\(PYTHON\) tools/course\.py {target}$", makefile)
    assert "python3 tools/course.py test" in (ROOT / ".ci" / "run").read_text()
    readme = (ROOT / "README.md").read_text()
    assert "python tools/course.py test" in readme and "python tools/course.py book" in readme


def test_the_python_range_is_stated_once_and_checked():
    from tools import course

    low, high = course.SUPPORTED
    stated = f"Python {low[0]}.{low[1]} to {high[0]}.{high[1]}"
    assert stated in (ROOT / "README.md").read_text()
    assert f'requires-python = ">={low[0]}.{low[1]}"' in (ROOT / "pyproject.toml").read_text()


def test_no_module_edits_sys_path_outside_the_tests_conftest():
    """Tools are a package (python -m tools.<name>), helpers an installed one: imports are
    plain imports, visible to any import graph."""
    for folder in ("helpers", "tools", "benchmarks", "experiments", "tests", "book"):
        for path in (ROOT / folder).rglob("*.py"):
            if path.name == "conftest.py" or path == Path(__file__).resolve():
                continue
            text = path.read_text()
            assert "sys.path.insert" not in text and "sys.path.append" not in text, (
                f"{path.relative_to(ROOT)} edits sys.path")
