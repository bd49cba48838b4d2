"""Results tables in the course's one vocabulary (see :data:`helpers.eval.metrics.COLUMNS`),
and tables of recorded runs over seeds (:func:`runs_table`)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .metrics import HEADERS, PERCENT_COLUMNS


def plain(value: float, digits: int = 3) -> str:
    """``value`` with ``digits`` significant digits and never in scientific notation
    (``0.0292``, ``1.07``, ``312``); integers above ``10**digits`` are shown whole."""
    if value == 0 or not np.isfinite(value):
        return f"{value:g}"
    places = max(0, digits - 1 - int(np.floor(np.log10(abs(value)))))
    return f"{value:,.{places}f}"


def _places(value: float, digits: int = 3) -> int:
    """Decimals :func:`plain` gives ``value``."""
    if value == 0 or not np.isfinite(value):
        return 0
    return max(0, digits - 1 - int(np.floor(np.log10(abs(value)))))


def results_table(rows: dict[str, dict[str, float]], columns: Sequence[str] | None = None,
                  percent: Sequence[str] = PERCENT_COLUMNS,
                  headers: dict[str, str] | None = None) -> str:
    """A Markdown table (rows = models); pass it to ``IPython.display.Markdown``.

    Values are formatted as percentages with one decimal for the columns in
    ``percent`` and with three significant digits otherwise (never scientific
    notation); strings are shown as they are and missing or NaN values as a dash.
    Headers are the measures' plain names (:data:`helpers.eval.metrics.HEADERS`);
    ``headers`` names other columns or renames some (e.g. ``{"neg_elbo": "−ELBO
    (nats)"}``).
    """
    columns = list(columns) if columns is not None else list(next(iter(rows.values())))
    names = {**HEADERS, **(headers or {})}
    # <wbr> lets a narrow page break a long code name after an underscore.
    header = [names.get(col, col).replace("_", "_<wbr>") for col in columns]
    lines = ["| model | " + " | ".join(header) + " |", "|---" * (len(columns) + 1) + "|"]
    for name, values in rows.items():
        cells = []
        for col in columns:
            v = values.get(col, float("nan"))
            if isinstance(v, str):
                cells.append(v)
            elif np.isnan(v):
                cells.append("—")
            else:
                cells.append(f"{100 * v:.1f}%" if col in percent else plain(v))
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _summary(values: Sequence[float]) -> tuple[float, float, int]:
    """Mean, standard deviation (ddof=1; 0 for one value) and count of ``values``."""
    values = np.asarray(values, float)
    if values.size == 0:
        return float("nan"), float("nan"), 0
    std = float(values.std(ddof=1)) if values.size > 1 else 0.0
    return float(values.mean()), std, int(values.size)


def _values(runs: list[dict], key: str) -> list[float]:
    """The value of ``key`` in each run that recorded it."""
    return [r["values"][key] for r in runs if key in r["values"]]


def over_seeds(runs: list[dict], key: str) -> tuple[float, float, int]:
    """Mean, standard deviation (ddof=1; 0 for one run) and count of ``key`` over runs
    (records of ``experiments/paper_scale.py``, e.g. from
    :func:`helpers.notebook.paper_scale_runs`)."""
    return _summary(_values(runs, key))


def mean_std(values: Sequence[float], percent: bool = True, places: int = 1) -> str:
    """``mean ± std`` of ``values`` as :func:`runs_table` writes it (std with ddof=1;
    the value alone for one value, "—" for none): a percentage with ``places``
    decimals, else three significant digits, the spread to the mean's last decimal (a
    spread that rounds to zero reads ``± <0.1``, never ``± 0.0``)."""
    mean, std, n = _summary(values)
    if n == 0 or np.isnan(mean):
        return "—"
    if percent:
        if n == 1:
            return f"{100 * mean:.{places}f}%"
        spread = f"{100 * std:.{places}f}"
        if float(spread) == 0:
            spread = f"<{10 ** -places:.{places}f}"
        return f"{100 * mean:.{places}f} ± {spread}%"
    if n == 1:
        return plain(mean)
    decimals = _places(mean)
    spread = f"{std:,.{decimals}f}"
    if float(spread.replace(",", "")) == 0:
        spread = f"<{10 ** -decimals:.{decimals}f}" if decimals else "<1"
    return f"{plain(mean)} ± {spread}"


def runs_table(rows: dict[str, list[dict]], columns: Sequence[str],
               keys: dict[str, str] | None = None,
               percent: Sequence[str] = PERCENT_COLUMNS,
               headers: dict[str, str] | None = None,
               decimals: dict[str, int] | None = None) -> str:
    """A Markdown table of recorded runs: mean ± std over seeds (the value alone
    for one seed), the number of seeds and the mean wall time per seed, and under
    it a line saying where the runs come from (:func:`runs_provenance`). ``rows``
    maps a row's name to its runs; the value of ``col`` is read under
    ``keys.get(col, col)``; percentages get ``decimals.get(col, 1)`` decimals. Rows
    without runs are left out."""
    table = {}
    for name, runs in rows.items():
        if not runs:
            continue
        row = {}
        for col in columns:
            row[col] = mean_std(_values(runs, (keys or {}).get(col, col)),
                                percent=col in percent,
                                places=(decimals or {}).get(col, 1))
        row["seeds"] = str(len(runs))
        row["min / seed"] = f"{np.mean([r['seconds'] for r in runs]) / 60:.0f}"
        table[name] = row
    if not table:
        return "*(no recorded runs)*"
    every = [r for runs in rows.values() for r in runs]
    return (results_table(table, [*columns, "seeds", "min / seed"], headers=headers)
            + "\n\n" + runs_provenance(every))


def runs_provenance(runs: list[dict]) -> str:
    """One italic line: the script, hardware, data, dates and commits of ``runs``."""
    def listed(key: str) -> str:
        return ", ".join(sorted({str(r.get(key, "?")) for r in runs}))

    dates = sorted({str(r.get("date", "?")) for r in runs})
    when = dates[0] if len(dates) == 1 else f"{dates[0]} to {dates[-1]}"
    return (f"*Recorded by `experiments/paper_scale.py` on {listed('hardware')}; "
            f"{listed('mnist')}; {when}; commit {listed('commit')}.*")


def runs_with_prefix(runs: list[dict], prefix: str) -> list[dict]:
    """The runs with only the values named ``prefix + name``, renamed to ``name``
    (e.g. one variant's columns out of a run that measured several)."""
    return [{**r, "values": {k[len(prefix):]: v for k, v in r["values"].items()
                             if k.startswith(prefix)}} for r in runs]


def paired_difference(runs: list[dict], key_a: str, key_b: str,
                      confidence: float = 0.95) -> dict[str, float]:
    """``key_a - key_b`` within each run (the same seed), over the runs: ``mean``,
    ``std``, ``n`` and a Student-t confidence interval ``low``..``high`` (NaN for
    fewer than two runs)."""
    from scipy import stats

    d = np.array([r["values"][key_a] - r["values"][key_b] for r in runs
                  if key_a in r["values"] and key_b in r["values"]], float)
    out = {"mean": float(d.mean()) if d.size else float("nan"), "n": int(d.size),
           "std": float(d.std(ddof=1)) if d.size > 1 else float("nan")}
    half = (stats.t.ppf(0.5 + confidence / 2, d.size - 1) * out["std"] / np.sqrt(d.size)
            if d.size > 1 else float("nan"))
    out["low"], out["high"] = float(out["mean"] - half), float(out["mean"] + half)
    return out
