"""Results tables in the course's one vocabulary (see :data:`helpers.eval.metrics.COLUMNS`)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .metrics import PERCENT_COLUMNS


def results_table(rows: dict[str, dict[str, float]], columns: Sequence[str] | None = None,
                  percent: Sequence[str] = PERCENT_COLUMNS,
                  headers: dict[str, str] | None = None) -> str:
    """A Markdown table (rows = models); pass it to ``IPython.display.Markdown``.

    Values are formatted as percentages for the columns in ``percent`` and
    with four significant digits otherwise; strings are shown as they are and
    missing or NaN values as a dash. ``headers`` shows some columns under
    another name (e.g. ``{"neg_elbo": "neg_elbo (nats)"}``).
    """
    columns = list(columns) if columns is not None else list(next(iter(rows.values())))
    # <wbr> lets a narrow page break a long header after an underscore.
    header = [(headers or {}).get(col, col).replace("_", "_<wbr>") for col in columns]
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
                cells.append(f"{100 * v:.1f}%" if col in percent else f"{v:.4f}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
