"""Argument checks shared by every entry point: seeds and whole-number counts.

The lowest module of the package (it imports only NumPy), so the data loaders, the
training loop and the profile all use the same checks and the same three-part messages
(what was expected, what came, how to fix it).
"""

from __future__ import annotations

import numpy as np

__all__ = ["check_count", "check_seed"]


def check_seed(seed) -> int:
    """A random seed as a non-negative ``int``, or a clear error (``2.7``, ``True``, ``"1"``)."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be a whole number such as 0 or 1; got {seed!r} of type "
                        f"{type(seed).__name__}.")
    if seed < 0:
        raise ValueError(f"seed must be >= 0; got {seed}.")
    return int(seed)


def _whole_number_fix(value, name: str, example: int, minimum: int) -> str:
    """The fix for a count that is not an ``int``: what to write instead."""
    if isinstance(value, str) and value.strip().lstrip("+-").isdigit():
        return f"Write the number without quotes: `{name}={int(value)}`."
    if isinstance(value, (float, np.floating)) and np.isfinite(value):
        if float(value).is_integer():
            return f"Write it as an int: `{name}={int(value)}`."
        return f"Use a whole number, e.g. `{name}={max(minimum, round(float(value)))}`."
    return f"Use e.g. `{name}={example}`."


def check_count(value, name: str, *, what: str, example: int, minimum: int = 1) -> int:
    """A whole-number argument (``epochs``, ``batch_size``...) as an ``int``, or a clear error.

    Python and NumPy integers are accepted; ``bool`` is not (``True`` is no count),
    nor are floats (``2.5``, even ``2.0``), strings (``"2"``) or ``None``.  Each
    message names the argument and what it means (``what``), shows what came,
    and gives a fix that uses ``example``.

    Raises:
        TypeError: ``value`` is not a whole number.
        ValueError: ``value`` is below ``minimum``.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} ({what}) must be a whole number; got {value!r} of type "
                        f"{type(value).__name__}. {_whole_number_fix(value, name, example, minimum)}")
    if value < minimum:
        raise ValueError(f"{name} ({what}) must be at least {minimum}; got {value}. "
                         f"Use e.g. `{name}={example}`.")
    return int(value)
