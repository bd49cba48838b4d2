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
    batch_norm: bool = False,
    bn_momentum: float = 0.9,
) -> keras.Sequential:
    """A stack of ``Dense`` layers, optionally ending in an output layer.

    ``mlp([500, 500], output_units=12)`` is ``Dense(500, relu) -> Dense(500,
    relu) -> Dense(12)``.  With ``batch_norm=True`` every hidden layer is
    ``Dense -> BatchNormalization -> activation`` (``bn_momentum`` 0.9 lets
    the running statistics settle within a short training run).
    """
    stack: list[layers.Layer] = []
    for n in units:
        if batch_norm:
            stack += [layers.Dense(n), layers.BatchNormalization(momentum=bn_momentum),
                      layers.Activation(activation)]
        else:
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


def conv_encoder(
    filters: Sequence[int] = (16, 8, 8),
    strides: Sequence[int] = (2, 2, 1),
    kernel_size: int = 5,
    dense: Sequence[int] = (256,),
    batch_norm: bool = True,
    name: str | None = None,
) -> keras.Sequential:
    """Strided ReLU convolutions, flattened, then ReLU ``Dense`` layers.

    The defaults are the MNIST encoder body of Hadad et al.: 5x5 convolutions
    with 16, 8 and 8 channels and strides 2, 2, 1 (28x28 -> 7x7x8), then
    ``Dense(256)`` with batch normalisation.  Add the code layer yourself.
    """
    if len(filters) != len(strides):
        raise ValueError(f"filters and strides need the same length; got {len(filters)} and "
                         f"{len(strides)}.")
    stack: list[layers.Layer] = [
        layers.Conv2D(f, kernel_size, strides=s, padding="same", activation="relu")
        for f, s in zip(filters, strides, strict=True)
    ]
    return keras.Sequential([*stack, layers.Flatten(), *mlp(dense, batch_norm=batch_norm).layers],
                            name=name)


def conv_decoder(
    image_shape: Sequence[int],
    filters: Sequence[int] = (8, 8, 16),
    upsample: Sequence[bool] = (True, True, False),
    kernel_size: int = 5,
    name: str | None = None,
) -> keras.Sequential:
    """The mirror of :func:`conv_encoder`: ``Dense`` -> small feature map -> convolutions.

    A ReLU ``Dense`` layer makes a ``(H/2^u, W/2^u, filters[0])`` map (``u`` =
    number of upsampling steps); each ReLU convolution is followed by a 2x
    upsampling where ``upsample`` says so; a final convolution gives sigmoid
    pixels of ``image_shape``.
    """
    height, width, channels = (int(d) for d in image_shape)
    factor = 2 ** sum(bool(u) for u in upsample)
    if height % factor or width % factor:
        raise ValueError(f"image size {height}x{width} is not divisible by {factor} "
                         f"({sum(bool(u) for u in upsample)} upsampling steps).")
    start = (height // factor, width // factor, int(filters[0]))
    stack: list[layers.Layer] = [layers.Dense(start[0] * start[1] * start[2], activation="relu"),
                                 layers.Reshape(start)]
    for f, up in zip(filters, upsample, strict=True):
        stack.append(layers.Conv2D(f, kernel_size, padding="same", activation="relu"))
        if up:
            stack.append(layers.UpSampling2D(2))
    stack.append(layers.Conv2D(channels, kernel_size, padding="same", activation="sigmoid"))
    return keras.Sequential(stack, name=name)
