"""One knob for the size of every experiment: ``HF_PROFILE``.

=========  ==========================================================
``smoke``  CI: tiny data, one or two epochs — seconds per notebook.
``book``   the committed outputs: minutes on a laptop CPU, results good
           enough to *see* each effect.  This is the default.
``full``   paper-scale reproduction (all of the data; a GPU helps).
=========  ==========================================================

The same code runs in all three; only sizes change.  A chapter asks the
profile for its sizes with :meth:`Profile.pick`::

    P = get_profile()
    epochs = P.pick(smoke=1, book=8, full=30)

A chapter keeps its own sizes per profile in one place (its ``SIZES``, see
``helpers.chapters``); the profile itself holds only what every chapter shares.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TypeVar

from ..validate import check_count, check_seed  # noqa: F401  (their home; kept importable here)

T = TypeVar("T")

ENV_VAR = "HF_PROFILE"
DEFAULT_PROFILE = "book"


@dataclass(frozen=True)
class Profile:
    """Sizes shared by every chapter for one profile.

    Attributes:
        name: ``"smoke"``, ``"book"`` or ``"full"``.
        train_size: training images per dataset (``None`` = all of them).
        test_size: test images used for evaluation (``None`` = all).
        batch_size: default mini-batch size.
        seed: the global random seed.
        n_seeds: how many seeds multi-seed experiments repeat over.
    """

    name: str
    train_size: int | None
    test_size: int | None
    batch_size: int
    seed: int = 0
    n_seeds: int = 1

    def pick(self, *, smoke: T, book: T, full: T) -> T:
        """Return the value that belongs to this profile.

        Every chapter-specific size goes through this method, so one
        environment variable still controls everything.
        """
        return {"smoke": smoke, "book": book, "full": full}[self.name]

    def describe(self) -> str:
        """One line that names the profile and its sizes (printed by notebooks)."""
        train = "all" if self.train_size is None else f"{self.train_size:,}"
        test = "all" if self.test_size is None else f"{self.test_size:,}"
        return (
            f"profile={self.name} · train images={train} · test images={test} · "
            f"batch={self.batch_size} · seed={self.seed}"
        )


PROFILES: dict[str, Profile] = {
    "smoke": Profile("smoke", train_size=600, test_size=300, batch_size=100, n_seeds=1),
    "book": Profile("book", train_size=20_000, test_size=10_000, batch_size=100,
                    n_seeds=1),  # chapter 3; paper_scale.py records 3 seeds
    "full": Profile("full", train_size=None, test_size=None, batch_size=100,
                    n_seeds=3),
}


def get_profile(name: str | None = None) -> Profile:
    """Return the active :class:`Profile`.

    Args:
        name: a profile name; when ``None`` the ``HF_PROFILE`` environment
            variable is read, falling back to ``"book"``.

    Raises:
        ValueError: for an unknown name, listing the valid ones.
        TypeError: when ``name`` is not a string.
    """
    if name is None:
        name = os.environ.get(ENV_VAR, "").strip() or DEFAULT_PROFILE
    if not isinstance(name, str):
        raise TypeError(f"A profile is named by a string, one of {', '.join(map(repr, PROFILES))}; "
                        f"got {name!r} of type {type(name).__name__}.")
    key = name.strip().lower()
    if key not in PROFILES:
        valid = ", ".join(repr(k) for k in PROFILES)
        raise ValueError(
            f"Unknown profile {name!r} (from {ENV_VAR} or the argument). "
            f"Valid profiles are {valid}; e.g. `export {ENV_VAR}=smoke`."
        )
    return PROFILES[key]
