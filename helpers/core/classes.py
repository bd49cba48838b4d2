"""Define a class across several short cells: :func:`add_to_class`.

It sits next to the model interface (:mod:`helpers.core.interface`) because that is
what the chapters build with it: a model class in one cell, then each of its methods in
a cell of its own, next to the equation it implements.  Pure Python (no TensorFlow), so
importing it is free.
"""

from __future__ import annotations

from collections.abc import Callable


def add_to_class(cls: type) -> Callable:
    """Decorator: attach the decorated function to ``cls`` as a method.

    Lets a chapter build a class over several short cells, each next to the
    equation it implements::

        @add_to_class(XCovAutoencoder)
        def compute_losses(self, x, y, training=False): ...
    """
    if not isinstance(cls, type):
        raise TypeError(f"add_to_class needs a class; got {cls!r}.")

    def attach(fn: Callable) -> Callable:
        target = fn.fget if isinstance(fn, property) else fn  # a property attaches too
        target.__qualname__ = f"{cls.__name__}.{target.__name__}"
        setattr(cls, target.__name__, fn)
        return fn

    return attach
