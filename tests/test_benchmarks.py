"""The benchmark command's report: its tables and the Runtimes page it rewrites.

The command itself runs in CI (``benchmarks/run.py --quick``); here its report is
checked on a made-up result, and the page against the committed result file.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import load_script

ROOT = Path(__file__).resolve().parent.parent
bench = load_script(ROOT / "benchmarks" / "run.py")

RESULT = {
    "date": "2026-11-28", "seconds": 600.0, "matmul_gflops": 100.0,
    "machine": {"platform": "Linux", "machine": "x86_64", "cpu_cores": 2, "gpus": 0,
                "tensorflow": "2.21.0", "keras": "3.15.1"},
    "flops_per_image": {"XCov": 2e6, "JADE": None},
    "runs": [{"model": "XCov", "batch": 100, "xla": True, "ours": 9000.0, "plain": 10000.0},
             {"model": "JADE", "batch": 256, "xla": False, "ours": 500.0, "plain": 400.0}],
}
RECORDED = {"01_xcov": {"book_s": 120.0, "smoke_s": 11.2, "peak_mb": 1417}}


def test_the_tables_report_ratios_and_shares():
    rows = bench.table(RESULT).splitlines()
    assert rows[2] == "| XCov | 100, on | 9,000 | 10,000 | 0.90 | 18.0% |"
    assert rows[3] == "| JADE | 256, off | 500 | 400 | 1.25 | — |"
    assert bench.flops_table(RESULT).splitlines()[2:] == ["| XCov | 0.0020 |", "| JADE | — |"]
    assert bench.chapter_table(RECORDED).splitlines()[2] == "| 01_xcov | 2.0 min | 11 s | 1,417 MB |"


def test_the_page_block_is_replaced_and_says_where_it_ran():
    page = f"intro\n{bench.START}\nold\n{bench.END}\nend\n"
    new = bench.render_page(page, RESULT)
    assert new.startswith("intro\n") and new.endswith(f"{bench.END}\nend\n") and "old" not in new
    assert "2 CPU cores, no GPU" in new and "**100 GFLOP/s**" in new
    assert "Single runs: no spread measured." in new
    spread = {**RESULT, "runs": [{**RESULT["runs"][0], "ours_all": [9000.0, 12000.0],
                                  "plain_all": [10000.0, 10500.0]}]}
    assert "up to 1.33 (median 1.19)" in bench.spread(spread)


def test_the_runtimes_page_shows_the_committed_benchmark():
    results = sorted((ROOT / "results" / "benchmarks").glob("*cores.json"))
    assert results, "run benchmarks/run.py"
    result = json.loads(results[-1].read_text())
    page = bench.PAGE.read_text(encoding="utf-8")
    assert bench.render_page(page, result, bench.load_ci()) == page, (
        f"run benchmarks/run.py --report {results[-1].relative_to(ROOT)}")
    assert bench.FIGURE.is_file()


def test_the_ci_times_are_shown_stage_by_stage(tmp_path, monkeypatch):
    monkeypatch.setattr(bench, "CI_TIMES", tmp_path / "ci.json")
    assert bench.load_ci() is None and bench.ci_block(None) == ""
    fresh = tmp_path / "ci_times.json"
    fresh.write_text('{"date": "2026-11-28", "commit": "abc1234", "cores": 2, '
                     '"seconds": 750, "stages": {"tests": 300, "browser test": 1450}}')
    ci = bench.load_ci(fresh)
    assert json.loads((tmp_path / "ci.json").read_text()) == ci  # saved for the page
    block = bench.ci_block(ci)
    assert "commit `abc1234`, 2 CPU cores" in block and "**12.5 minutes**" in block
    assert "| tests | 300 |" in block and "| browser test | 1,450 |" in block
    assert block in bench.render_page(f"{bench.START}\n{bench.END}\n", RESULT, ci)
    fresh.write_text('{"date": "2026-11-28"}')
    with pytest.raises(ValueError, match=r"not a CI times file .* no 'commit'"):
        bench.load_ci(fresh)


def test_the_runtimes_page_shows_the_committed_xcov_race():
    race = load_script(ROOT / "benchmarks" / "xcov_race.py")
    result = json.loads((ROOT / "results" / "benchmarks" / "xcov_race.json").read_text())
    page = race.PAGE.read_text(encoding="utf-8")
    assert race.render_page(page, result) == page, "run benchmarks/xcov_race.py --report ..."
    rows = race.table(result).splitlines()
    assert rows[0] == "| | chapter | reference loop |" and len(rows) == 8


def test_the_targets_table_says_which_runs_reached_their_target(monkeypatch):
    import helpers.runs as runs

    book = {"seconds": 120.0, "values": {"xcov_accuracy": 0.9840, "xcov_z_mlp": 0.25}}
    paper = [{"seconds": 240.0, "values": {"xcov_accuracy": a, "xcov_z_mlp": 0.15}}
             for a in (0.9838, 0.9828)]
    monkeypatch.setattr(bench, "TARGETS", bench.TARGETS[:2])
    monkeypatch.setattr(runs, "chapter_record", lambda chapter, profile: book)
    monkeypatch.setattr(runs, "setting_runs", lambda chapter, setting: paper)
    rows = bench.targets_table().splitlines()
    assert rows[2] == ("| 01_xcov | accuracy of y (the paper's) ≥ 98.35% | 98.40% ✓ (2.0 min) "
                       "| 98.33% ✗ (4.0 min / seed, mean of 2 seeds) |")
    assert rows[3] == ("| 01_xcov | MLP probe on z ≤ 20% | 25.00% ✗ (2.0 min) | "
                       "15.00% ✓ (4.0 min / seed, mean of 2 seeds) |")
    monkeypatch.setattr(runs, "setting_runs", lambda chapter, setting: [])
    assert bench.targets_table().splitlines()[3].endswith("| not run |")
