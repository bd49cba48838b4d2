"""The first cell of every chapter: profile, seeds, plotting defaults, a banner."""

from __future__ import annotations

import dataclasses
import os
import platform

from .profile import Profile, get_profile


def hardware_summary() -> str:
    """A short description of the machine: CPU cores and any GPU TensorFlow sees."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    gpu = ""
    if gpus:
        details = tf.config.experimental.get_device_details(gpus[0])
        gpu = f", GPU: {details.get('device_name', gpus[0].name)}"
    return f"{platform.machine()} CPU, {os.cpu_count()} cores{gpu}"


def setup(profile: str | None = None, seed: int | None = None, quiet: bool = False) -> Profile:
    """Read ``HF_PROFILE``, seed everything, set plot defaults; return the profile.

    ``seed`` overrides the profile's seed (``P.seed`` of the returned profile).

    Prints a short banner (profile, seed, library versions, hardware) that stays
    in the rendered book, so every result carries what produced it. Sizes are
    not printed here: each chapter picks its own from the profile and prints
    them where it loads its data and trains.
    """
    import keras
    import matplotlib.pyplot as plt
    import tensorflow as tf

    P = get_profile(profile)
    if seed is not None:  # the returned profile carries it, so every later `P.seed` follows
        P = dataclasses.replace(P, seed=int(seed))
    keras.utils.set_random_seed(P.seed)
    plt.rcParams.update({"figure.dpi": 90, "savefig.dpi": 90, "axes.titlesize": 10,
                         "figure.max_open_warning": 50})
    if not quiet:
        print(f"Hidden Factors · profile={P.name} (set HF_PROFILE to change) · "
              f"seed={P.seed}")
        print(f"keras {keras.__version__} · tensorflow {tf.__version__} · {hardware_summary()}")
    return P


def report(name: str, value: float, fmt: str = "{:.4g}", label: str | None = None) -> None:
    """Print a measured number and make it citable in the book's prose.

    The value is printed (``label: value``) and, when ``myst_nb`` is present
    (the book build), also *glued* under ``name`` so Markdown cells can show it
    with ``{glue:text}`name:.1%``` (any Python format spec).  Numbers in the
    text are therefore always the ones this run measured, never typed by hand.
    """
    value = float(value)
    print(f"{label or name}: {fmt.format(value)}")
    try:
        from myst_nb import glue
    except ImportError:  # e.g. on Colab: printing is enough
        return
    glue(name, value, display=False)
