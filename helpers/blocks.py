"""Small network building blocks shared by the chapters."""

from __future__ import annotations

from collections.abc import Sequence

import keras
from keras import layers


def mlp(
    units: Sequence[int],
    activation: str = "relu",
    output_units: int | None = None,
    output_activation: str | None = None,
    dropout: float = 0.0,
    name: str | None = None,
) -> keras.Sequential:
    """A stack of ``Dense`` layers, optionally ending in an output layer.

    ``mlp([500, 500], output_units=12)`` is ``Dense(500, relu) -> Dense(500,
    relu) -> Dense(12)``.
    """
    stack: list[layers.Layer] = []
    for n in units:
        stack.append(layers.Dense(n, activation=activation))
        if dropout:
            stack.append(layers.Dropout(dropout))
    if output_units is not None:
        stack.append(layers.Dense(output_units, activation=output_activation))
    return keras.Sequential(stack, name=name)


def image_encoder_mlp(hidden: Sequence[int], name: str | None = None) -> keras.Sequential:
    """Flatten an image and run it through a ReLU MLP (the Cheung et al. encoder body)."""
    return keras.Sequential([layers.Flatten(), *mlp(hidden).layers], name=name)


def image_decoder_mlp(hidden: Sequence[int], image_shape: Sequence[int],
                      name: str | None = None) -> keras.Sequential:
    """A ReLU MLP ending in sigmoid pixels reshaped to ``image_shape``."""
    n_pixels = 1
    for d in image_shape:
        n_pixels *= int(d)
    return keras.Sequential(
        [*mlp(hidden, output_units=n_pixels, output_activation="sigmoid").layers,
         layers.Reshape(tuple(image_shape))],
        name=name,
    )
