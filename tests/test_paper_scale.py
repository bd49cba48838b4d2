"""experiments/paper_scale.py: one resumable record per setting and seed, read back."""

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import load_script

from helpers.eval.tables import mean_std, over_seeds, runs_table
from helpers.notebook import paper_scale_runs

ROOT = Path(__file__).resolve().parent.parent
ps = load_script(ROOT / "experiments" / "paper_scale.py")


@pytest.fixture
def fake(monkeypatch):
    calls = []

    def runner(params, seed):
        calls.append((params, seed))
        if params.get("fail"):
            raise RuntimeError("boom")
        return {"z_mlp": 0.5 + seed / 10, "train_images": params["n"]}

    monkeypatch.setitem(ps.RUNNERS, "two_step", runner)
    monkeypatch.setitem(ps.SETTINGS, "two_step",
                        {"tiny": {"about": "a test", "n": 7},
                         "broken": {"about": "fails", "n": 1, "fail": True}})
    return calls


def test_a_run_is_recorded_once_and_then_skipped(fake, tmp_path):
    path = ps.run_one("two_step", "tiny", 2, root=tmp_path)
    assert path == tmp_path / "04_two_step" / "paper_scale" / "tiny" / "seed2.json"
    record = json.loads(path.read_text())
    assert record["values"] == {"z_mlp": 0.7, "train_images": 7}
    assert record["params"] == {"about": "a test", "n": 7}
    assert fake == [({"n": 7}, 2)]  # "about" is not a parameter of the runner
    assert {"seed", "seconds", "hardware", "date", "commit", "setting"} <= set(record)
    assert ps.run_one("two_step", "tiny", 2, root=tmp_path) is None  # resumed: skipped
    assert len(fake) == 1


def test_the_record_names_the_commit_the_run_started_from(fake, tmp_path, monkeypatch):
    head = {"now": "abc1234"}
    monkeypatch.setattr(ps, "_commit", lambda: head["now"])
    runner = ps.RUNNERS["two_step"]

    def commit_while_training(params, seed):
        head["now"] = "def5678"  # somebody commits while the run trains
        return runner(params, seed)

    monkeypatch.setitem(ps.RUNNERS, "two_step", commit_while_training)
    path = ps.run_one("two_step", "tiny", 0, root=tmp_path)
    assert json.loads(path.read_text())["commit"] == "abc1234"
    path = ps.run_one("two_step", "tiny", 1, root=tmp_path, commit="0000000")
    assert json.loads(path.read_text())["commit"] == "0000000"


def test_figures_a_runner_returns_are_saved_next_to_the_record(fake, tmp_path,
                                                              monkeypatch):
    import matplotlib.pyplot as plt

    runner = ps.RUNNERS["two_step"]

    def with_a_figure(params, seed):
        fig, ax = plt.subplots(figsize=(1, 1))
        ax.plot([0, 1])
        return {**runner(params, seed), "_figures": {"swaps": fig}}

    monkeypatch.setitem(ps.RUNNERS, "two_step", with_a_figure)
    path = ps.run_one("two_step", "tiny", 0, root=tmp_path)
    assert "_figures" not in json.loads(path.read_text())["values"]
    png = ps.figure_path(path, "swaps")
    assert png == path.with_name("seed0_swaps.png")
    assert png.read_bytes()[:4] == b"\x89PNG"
    assert sorted(p.name for p in path.parent.iterdir()) == ["seed0.json",
                                                              "seed0_swaps.png"]


def test_a_saved_figure_is_shown_or_its_command_printed(fake, tmp_path, monkeypatch,
                                                       capsys):
    from IPython.display import Image

    from helpers.notebook import show_paper_scale_figure

    monkeypatch.setenv("HF_RESULTS_DIR", str(tmp_path))
    shown = []
    monkeypatch.setattr("IPython.display.display", shown.append)
    show_paper_scale_figure("04_two_step", "tiny", [])
    assert ("experiments/paper_scale.py two_step tiny --seeds 0 1 2"
            in " ".join(capsys.readouterr().out.split()))
    record = ps.run_one("two_step", "tiny", 1, root=tmp_path)
    runs = paper_scale_runs("04_two_step", "tiny")
    show_paper_scale_figure("04_two_step", "tiny", runs)  # no PNG saved
    assert not shown and "No swaps figure recorded" in capsys.readouterr().out
    ps.figure_path(record, "swaps").write_bytes(b"\x89PNG\r\n\x1a\n")
    assert show_paper_scale_figure("04_two_step", "tiny", runs, width=300) is None
    assert isinstance(shown[0], Image) and shown[0].width == 300
    assert "seed1_swaps.png" in shown[0].filename and not capsys.readouterr().out


def test_a_failed_run_leaves_no_record(fake, tmp_path):
    with pytest.raises(RuntimeError, match="boom"):
        ps.run_one("two_step", "broken", 0, root=tmp_path)
    assert not list(tmp_path.rglob("*.json*"))


def test_unknown_names_say_what_exists(fake):
    with pytest.raises(SystemExit, match="unknown chapter 'nope'"):
        ps.main(["nope"])
    with pytest.raises(SystemExit, match=r"unknown setting\(s\) \['wrong'\].*'tiny'"):
        ps.main(["two_step", "wrong"])


def test_every_setting_names_a_runner_and_says_what_it_is_for():
    for chapter, settings in ps.SETTINGS.items():
        assert chapter in ps.RUNNERS and chapter in ps.CHAPTER_DIRS
        assert all(params["about"] for params in settings.values())


def test_jade_legibility_without_jade_last_is_refused_before_loading_data(monkeypatch):
    def no_data(*args):
        raise AssertionError("loaded data before checking the setting")

    import helpers.papers.jade as jade

    monkeypatch.setattr(jade, "load_mnist", no_data)
    with pytest.raises(ValueError, match=r"JADE as the last.*\['jade', 'single'\]"):
        jade.run_setting({"kinds": ["jade", "single"], "legibility": True}, 0)


def test_runs_are_read_back_in_seed_order_and_summarised(fake, tmp_path, monkeypatch):
    for seed in (2, 0, 1):
        ps.run_one("two_step", "tiny", seed, root=tmp_path)
    monkeypatch.setenv("HF_RESULTS_DIR", str(tmp_path))
    runs = paper_scale_runs("04_two_step", "tiny")
    assert [r["seed"] for r in runs] == [0, 1, 2]
    mean, std, n = over_seeds(runs, "z_mlp")
    assert (mean, n) == (pytest.approx(0.6), 3) and std == pytest.approx(0.1)
    assert over_seeds(runs[:1], "z_mlp")[1] == 0.0
    assert over_seeds(runs, "missing")[2] == 0
    assert paper_scale_runs("04_two_step", "never-run") == []
    table = runs_table({"tiny": runs, "empty": []}, ["z_mlp", "train_images"])
    assert "| tiny | 60.0 ± 10.0% | 7.00 ± <0.01 | 3 |" in table
    assert table.startswith("| model | label in z (MLP probe) | train_<wbr>images | seeds |")
    assert "empty" not in table
    assert "| one | 50.0% | 7.00 | 1 |" in runs_table({"one": runs[:1]}, ["z_mlp", "train_images"])
    assert runs_table({"empty": []}, ["z_mlp"]) == "*(no recorded runs)*"
    assert mean_std([0.5, 0.7]) == "60.0 ± 14.1%"  # what the table writes, ddof=1
    assert mean_std([0.5]) == "50.0%" and mean_std([]) == "—"
    assert mean_std([7.0, 7.0], percent=False) == "7.00 ± <0.01"  # never "± 0"
    assert mean_std([0.98351, 0.98362]) == "98.4 ± <0.1%"
    assert mean_std([0.019851, 0.02052], percent=False) == "0.0202 ± 0.0005"
    assert "| 60.00 ± 10.00% |" in runs_table({"tiny": runs}, ["z_mlp"],
                                               decimals={"z_mlp": 2})
    # where the runs come from, under the table
    stamped = [{**r, "hardware": "a CPU", "date": f"2026-11-2{r['seed']}",
                "commit": "abc", "mnist": "real MNIST"} for r in runs]
    line = runs_table({"tiny": stamped}, ["z_mlp"]).splitlines()[-1]
    assert line == ("*Recorded by `experiments/paper_scale.py` on a CPU; real MNIST; "
                    "2026-11-20 to 2026-11-22; commit abc.*")


def test_paired_difference_and_prefixes():
    from helpers.eval.tables import paired_difference, runs_with_prefix

    runs = [{"seed": s, "seconds": 1.0, "values": {"k1_z": a, "k10_z": b}}
            for s, (a, b) in enumerate([(0.5, 0.4), (0.6, 0.4), (0.7, 0.4)])]
    d = paired_difference(runs, "k1_z", "k10_z")
    assert d["mean"] == pytest.approx(0.2) and d["std"] == pytest.approx(0.1)
    # t(0.975, 2 df) = 4.303: half-width 4.303 * 0.1 / sqrt(3)
    assert d["high"] - d["mean"] == pytest.approx(4.303 * 0.1 / 3 ** 0.5, rel=1e-3)
    assert d["n"] == 3
    assert [r["values"] for r in runs_with_prefix(runs[:1], "k1_")] == [{"z": 0.5}]
    assert paired_difference(runs[:1], "k1_z", "k10_z")["low"] != 0  # NaN for one run


@pytest.mark.filterwarnings("ignore::UserWarning")  # the stand-in's fallback warning
def test_jade_scarce_contrast_trains_and_judges_on_grey_images(monkeypatch):
    import helpers.papers.jade as jade
    from helpers.data import Dataset

    rng = np.random.default_rng(0)
    mnist = Dataset("mnist", rng.random((20, 28, 28, 1), np.float32), np.arange(20) % 10,
                    rng.random((20, 28, 28, 1), np.float32), np.arange(20) % 10, "test")
    monkeypatch.setattr(jade, "load_mnist", lambda **kwargs: mnist)
    seen = []

    def stop(kind, x_scarce, *args, **kwargs):
        seen.append(x_scarce.shape[1:])
        raise KeyboardInterrupt

    monkeypatch.setattr(jade, "run_experiment", stop)
    params = {"per_class": 1, "epochs": 1, "svhn_train_size": 20, "svhn_test_size": 10,
              "kinds": ["jade"], "train_size": None}
    for contrast, shape in ((False, (32, 32, 3)), (True, (32, 32, 1))):
        with pytest.raises(KeyboardInterrupt):
            jade.run_setting({**params, "scarce_contrast": contrast}, 0)
        assert seen.pop() == shape


def test_recorded_lists_every_run_with_its_command_and_time(fake, tmp_path):
    assert ps.recorded_table(tmp_path) == "*(no recorded runs)*"
    for seed in (1, 0):
        ps.run_one("two_step", "tiny", seed, root=tmp_path)
    lines = ps.recorded_table(tmp_path).splitlines()
    assert lines[2].startswith("| two_step | tiny | 0 | 0.0 |")
    assert lines[3].endswith("`experiments/paper_scale.py two_step tiny --seeds 1` |")
    assert lines[-1] == "2 runs, 0.0 hours in all."


@pytest.mark.filterwarnings("ignore::UserWarning")  # the offline MNIST's fallback warning
def test_two_step_runner_draws_the_chapters_swap_grid(monkeypatch, tmp_path):
    from helpers.data import Dataset

    rng = np.random.default_rng(0)
    x = rng.random((200, 28, 28, 1)).astype(np.float32)
    y = np.arange(200) % 10
    tiny = Dataset("mnist", x, y, x[:40], y[:40], "test")
    import helpers.papers.two_step as two_step

    monkeypatch.setattr(two_step, "load_mnist", lambda **kwargs: tiny)
    monkeypatch.setenv("HF_CACHE_DIR", str(tmp_path))
    values = two_step.run_setting({"epochs_step1": 1, "epochs_step2": 1, "swap_grid": True,
                                   "model": {"adversary_steps": 1}, "train_size": None}, 0)
    fig = values.pop("_figures")["swaps"]
    assert len(fig.axes) == 11 * 11  # originals along the top and the left
    assert 0 <= values["z_mlp"] <= 1
    assert "_figures" not in two_step.run_setting(
        {"epochs_step1": 1, "epochs_step2": 1, "train_size": None}, 0)


@pytest.mark.filterwarnings("ignore::UserWarning")  # the stand-in's fallback warning
def test_jade_ablation_trains_the_same_jade_with_one_change_and_measures_both(
        monkeypatch):
    import helpers.papers.jade as jade
    from helpers.data import Dataset

    rng = np.random.default_rng(0)
    mnist = Dataset("mnist", rng.random((40, 28, 28, 1), np.float32), np.arange(40) % 10,
                    rng.random((40, 28, 28, 1), np.float32), np.arange(40) % 10, "test")
    monkeypatch.setattr(jade, "load_mnist", lambda **kwargs: mnist)
    calls = []

    def recorded(kind, *args, **kwargs):
        calls.append(kwargs)
        return run_experiment(kind, *args, **kwargs)

    run_experiment = jade.run_experiment
    monkeypatch.setattr(jade, "run_experiment", recorded)
    values = jade.run_setting({"per_class": 1, "epochs": 1, "svhn_train_size": 60,
                               "train_size": None,
                               "svhn_test_size": 20, "kinds": ["jade"], "n_var": 20,
                               "jade": {"elbo_weight": 0.003, "match_weight": 0.1},
                               "ablation": {"match_weight": 0.0}}, 0)
    assert [c["match_weight"] for c in calls] == [0.1, 0.0]
    assert calls[0]["elbo_weight"] == calls[1]["elbo_weight"] == 0.003
    for tag in ("jade", "ablated"):
        for domain in ("scarce", "abundant"):
            for column in ("accuracy", "z_linear", "z_mlp", "content_ratio",
                           "matching_test"):
                assert np.isfinite(values[f"{tag}_{domain}_{column}"])
    assert values["ablated_acc"] == values["ablated_scarce_accuracy"]
    assert values["jade_acc"] == values["jade_scarce_accuracy"]
    with pytest.raises(ValueError, match=r"ablation needs JADE as the last"):
        jade.run_setting({"kinds": ["jade", "single"], "ablation": {"match_weight": 0}}, 0)
