"""CNN architectures for 48x48 grey faces. Every model takes raw grey values
0..255 and does its own scaling, so the exported graph needs no preprocessing
outside it. Augmentation layers are part of the model and only act in training."""
from __future__ import annotations

import keras
from keras import layers

from musicalface.contracts import EXPRESSIONS
from training.random_affine import RandomAffine

N_CLASSES = len(EXPRESSIONS)


def _augment(x):
    # Mirror, +-15 degrees, +-10% zoom and shift: one resampling, not Keras's four layers.
    return RandomAffine(rotation=15, zoom=0.1, shift=0.1, flip=True, name="augment")(x)


def seed() -> keras.Model:
    """The original project's network, layer for layer (about 4.5M parameters)."""
    inp = keras.Input((48, 48, 1), name="image")
    x = layers.Rescaling(1 / 255.0)(inp)
    for filters, kernel, drop in ((64, 3, 0.25), (128, 5, 0.25), (512, 3, 0.5), (512, 3, 0.1)):
        x = layers.Conv2D(filters, kernel, padding="same")(x)
        x = layers.BatchNormalization()(x)
        x = layers.Activation("tanh")(x)
        x = layers.MaxPooling2D(2)(x)
        x = layers.Dropout(drop)(x)
    x = layers.Flatten()(x)
    for units in (256, 512):
        x = layers.Dense(units, activation="relu")(x)
        x = layers.BatchNormalization()(x)
        x = layers.Dropout(0.5)(x)
    out = layers.Dense(N_CLASSES, activation="softmax", name="probabilities")(x)
    return keras.Model(inp, out, name="seed")


def _conv_bn(x, filters):
    x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    return layers.Activation("relu")(x)


def vgg(widths=(24, 48, 96, 192), dense=256, augment=True, name="vgg") -> keras.Model:
    """Our default: a small VGG (two 3x3 convs per stage, four stages), on-line
    augmentation, global pooling. About 0.7M parameters at the default widths,
    chosen by measured CPU time per epoch (1.6 min here, half of widths 32..256)."""
    inp = keras.Input((48, 48, 1), name="image")
    x = layers.Rescaling(1 / 255.0)(inp)
    if augment:
        x = _augment(x)
    for i, w in enumerate(widths):
        x = _conv_bn(x, w)
        x = _conv_bn(x, w)
        x = layers.MaxPooling2D(2)(x)
        x = layers.Dropout(0.1 + 0.05 * i)(x)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dense(dense, activation="relu")(x)
    x = layers.Dropout(0.4)(x)
    out = layers.Dense(N_CLASSES, activation="softmax", name="probabilities")(x)
    return keras.Model(inp, out, name=name)


def tiny() -> keras.Model:
    """For smoke tests: trains in seconds, proves the pipeline, learns little."""
    return vgg(widths=(4, 8), dense=8, augment=False, name="tiny")


ARCHITECTURES = {"default": vgg, "vgg": vgg, "seed": seed, "tiny": tiny}


def load(path) -> keras.Model:
    """A saved .keras model of ours; importing this module registers RandomAffine for it."""
    return keras.models.load_model(path)


def build(arch: str) -> keras.Model:
    try:
        return ARCHITECTURES[arch]()
    except KeyError:
        raise ValueError(f"unknown architecture {arch!r}; choose from {', '.join(ARCHITECTURES)}") from None
