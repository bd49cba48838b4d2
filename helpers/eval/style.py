"""Is the style in ``z``? Scores against measured and known style factors.

* :func:`style_r2` — how much of each style measurement a linear regression reads
  from ``z``, and from ``s`` (R² on the test images);
* :func:`unit_effects` and :func:`unit_summary` — what sweeping each unit of ``z``
  does to the slant and thickness of the decoded digit, class by class, and whether
  a unit means the same thing for every digit;
* :func:`transfer_correlation` — in swaps, does the decoded digit take its slant and
  thickness from the style image or from the content image?
* :func:`mig` — the mutual information gap (Chen et al. 2018) between codes and known
  factors, e.g. those of ``helpers.data.known_factors``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from helpers.core.interface import DisentanglingModel, decode_all, encode_all

from .metrics import swap_partners
from .morphometry import measure

STYLE_MEASURES = ("slant", "thickness", "width", "height")


def _r2(f_train, t_train, f_test, t_test) -> float:
    """R² on the test set of a least-squares fit (with intercept) on the train set."""
    a = np.c_[f_train, np.ones(len(f_train))]
    coef, *_ = np.linalg.lstsq(a, t_train, rcond=None)
    pred = np.c_[f_test, np.ones(len(f_test))] @ coef
    total = np.sum((t_test - t_test.mean()) ** 2)
    return float(1 - np.sum((t_test - pred) ** 2) / total) if total > 0 else float("nan")


def style_r2(codes_train: tuple, codes_test: tuple, targets_train: dict,
             targets_test: dict) -> dict[str, dict[str, float]]:
    """R² of a linear regression from ``s`` and from ``z`` to every target.

    Args:
        codes_train, codes_test: ``(s, z)`` of the training and test images.
        targets_train, targets_test: name -> values (N,), e.g. :func:`measure` output.

    Returns ``{name: {"s": r2, "z": r2}}``; images with a NaN target are left out.
    """
    out = {}
    for name in targets_train:
        tr, te = np.asarray(targets_train[name]), np.asarray(targets_test[name])
        ok_tr, ok_te = np.isfinite(tr), np.isfinite(te)
        out[name] = {code: _r2(np.asarray(ctr)[ok_tr], tr[ok_tr],
                               np.asarray(cte)[ok_te], te[ok_te])
                     for code, ctr, cte in zip("sz", codes_train, codes_test, strict=True)}
    return out


def unit_effects(model: DisentanglingModel, x, y, measures: Sequence[str] = ("slant",
                 "thickness"), per_class: int = 20, span: float = 1.5, steps: int = 5,
                 num_classes: int = 10) -> dict[str, np.ndarray]:
    """Slopes of each measurement of the decoded digit against each unit of ``z``.

    For every unit ``j`` and class ``c``, ``per_class`` images of ``c`` keep their own
    ``s`` and ``z`` except unit ``j``, which is set to ``steps`` values from
    ``mean - span*std`` to ``mean + span*std`` (over all of ``x``); the slope of the
    measurement against the unit's value in standard deviations is fitted per image
    and averaged. Returns ``{measure: array (units, classes)}``.
    """
    s, z = encode_all(model, x)
    y = np.asarray(y)
    mu, sd = z.mean(axis=0), z.std(axis=0) + 1e-12
    grid = np.linspace(-span, span, steps)
    picks = np.concatenate([np.flatnonzero(y == c)[:per_class] for c in range(num_classes)])
    cls = y[picks]
    units = z.shape[1]
    out = {m: np.full((units, num_classes), np.nan) for m in measures}
    for j in range(units):
        zs = np.repeat(z[picks][None], steps, axis=0)  # (steps, n, units)
        zs[:, :, j] = (mu[j] + grid * sd[j])[:, None]
        ss = np.repeat(s[picks][None], steps, axis=0)
        images = decode_all(model, ss.reshape(-1, s.shape[1]), zs.reshape(-1, units))
        values = measure(images)
        for m in measures:
            v = values[m].reshape(steps, -1)  # (steps, n)
            g = grid - grid.mean()
            slopes = (g[:, None] * (v - np.nanmean(v, axis=0))).sum(axis=0) / (g @ g)
            for c in range(num_classes):
                out[m][j, c] = np.nanmean(slopes[cls == c]) if np.any(cls == c) else np.nan
    return out


def unit_summary(effects: np.ndarray) -> dict[str, float]:
    """The unit that moves a measurement most, how much, and how consistently.

    ``effect``: the largest mean slope over classes (absolute); ``unit``: its index;
    ``consistency``: for that unit, |mean slope| / mean |slope| over classes — 1 when
    the unit moves the measurement the same way for every digit, near 0 when the
    direction depends on the digit; ``spread``: the slopes' standard deviation over
    classes divided by |mean slope|.
    """
    mean = np.nanmean(effects, axis=1)
    j = int(np.nanargmax(np.abs(mean)))
    row = effects[j]
    return {"unit": j, "effect": float(abs(mean[j])),
            "consistency": float(abs(np.nanmean(row)) / max(np.nanmean(np.abs(row)), 1e-12)),
            "spread": float(np.nanstd(row) / max(abs(mean[j]), 1e-12))}


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson's r; NaN (without a warning) when either side is constant or too short."""
    if len(a) < 3 or np.std(a) == 0 or np.std(b) == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def transfer_correlation(model: DisentanglingModel, x, y, seed: int = 0,
                         measures: Sequence[str] = ("slant", "thickness")
                         ) -> dict[str, dict[str, float]]:
    """In swaps ``decode(s_i, z_j)`` with ``y_i != y_j``: the correlation of each
    measurement of the decoded digit with the style image ``j`` and the content image
    ``i``. A model that carries style in ``z`` scores high on ``style``."""
    s, z = encode_all(model, x)
    partner = swap_partners(np.asarray(y), seed=seed)
    swapped = measure(decode_all(model, s, z[partner]))
    original = measure(x)
    out = {}
    for m in measures:
        d, own = swapped[m], original[m]
        ok = np.isfinite(d) & np.isfinite(own) & np.isfinite(own[partner])
        out[m] = {"style": _correlation(d[ok], own[partner][ok]),
                  "content": _correlation(d[ok], own[ok])}
    return out


def _discretise(values: np.ndarray, bins: int) -> np.ndarray:
    """Equal-width bins over the range of each column (the usual choice for MIG)."""
    v = np.asarray(values, float)
    lo, hi = v.min(axis=0), v.max(axis=0)
    width = np.where(hi > lo, (hi - lo) / bins, 1.0)
    return np.clip(((v - lo) / width).astype(int), 0, bins - 1)


def _entropy(labels: np.ndarray) -> float:
    p = np.bincount(labels) / len(labels)
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def _mutual_information(a: np.ndarray, b: np.ndarray) -> float:
    joint = a * (b.max() + 1) + b
    return _entropy(a) + _entropy(b) - _entropy(joint)


def mig(codes, factors, bins: int = 20) -> dict[str, float]:
    """Mutual information gap of ``codes`` (N, units) for each factor (N, factors).

    For each factor: the mutual information with its most informative unit minus that
    with the second, divided by the factor's entropy (codes and continuous factors are
    put into ``bins`` equal-width bins; a factor with fewer distinct values keeps them).
    Returns ``{"mig": mean over factors, "factor_<k>": per factor}``; 1 is perfect.
    """
    c = np.asarray(codes, float)
    f = np.asarray(factors, float)
    if c.ndim != 2 or f.ndim != 2 or len(c) != len(f):
        raise ValueError(f"codes and factors must be 2-D with one row per image; got "
                         f"shapes {c.shape} and {f.shape}.")
    if c.shape[1] < 2:
        raise ValueError(f"MIG needs at least 2 code units; got {c.shape[1]}.")
    dc = _discretise(c, bins)
    out = {}
    for k in range(f.shape[1]):
        levels, fk = np.unique(f[:, k], return_inverse=True)
        if len(levels) > bins:
            fk = _discretise(f[:, k:k + 1], bins)[:, 0]
        h = _entropy(fk)
        mi = np.sort([_mutual_information(dc[:, j], fk) for j in range(c.shape[1])])
        out[f"factor_{k}"] = float((mi[-1] - mi[-2]) / h) if h > 0 else float("nan")
    out["mig"] = float(np.nanmean([out[f"factor_{k}"] for k in range(f.shape[1])]))
    return out


def style_scorecard(model: DisentanglingModel, x_train, x_test, y_test, known,
                    per_class: int = 20, seed: int = 0) -> tuple[dict[str, float], dict]:
    """Every style score of one model; returns ``(scores, unit effects)``.

    Args:
        x_train, x_test: images whose codes and morphometry fit and test the R²
            regressions (a few thousand of each, from one distribution: morphometry
            costs ~1 ms an image); ``x_test`` is also swept and swapped.
        y_test: labels of ``x_test`` (unit sweeps per class, swap partners).
        known: a :class:`helpers.data.known_factors.KnownFactors` set, for MIG.

    Scores: ``r2_z_<m>`` / ``r2_s_<m>`` for each of :data:`STYLE_MEASURES`;
    ``<m>_unit_effect`` (per standard deviation of the unit), ``<m>_consistency`` and
    ``<m>_spread`` for slant and thickness (see :func:`unit_summary`);
    ``transfer_<m>_style`` / ``transfer_<m>_content``;
    ``mig`` and ``mig_<factor>`` on the known-factor set.
    """
    from helpers.data.known_factors import FACTORS

    m_train = measure(x_train)
    m_test = measure(x_test)
    r2 = style_r2(encode_all(model, x_train), encode_all(model, x_test),
                  {m: m_train[m] for m in STYLE_MEASURES},
                  {m: m_test[m] for m in STYLE_MEASURES})
    scores = {}
    for m in STYLE_MEASURES:
        scores[f"r2_z_{m}"], scores[f"r2_s_{m}"] = r2[m]["z"], r2[m]["s"]
    effects = unit_effects(model, x_test, y_test, per_class=per_class)
    for m, table in effects.items():
        summary = unit_summary(table)
        scores[f"{m}_unit_effect"] = summary["effect"]
        scores[f"{m}_consistency"] = summary["consistency"]
        scores[f"{m}_spread"] = summary["spread"]
    for m, corr in transfer_correlation(model, x_test, y_test, seed=seed).items():
        scores[f"transfer_{m}_style"] = corr["style"]
        scores[f"transfer_{m}_content"] = corr["content"]
    _, z_known = encode_all(model, known.images)
    gap = mig(z_known, known.factor_matrix())
    scores["mig"] = gap["mig"]
    scores.update({f"mig_{name}": gap[f"factor_{k}"] for k, name in enumerate(FACTORS)})
    return scores, effects
