"""FastEstimator's TensorFlow LeNet (Keras 3, or tf-keras with ``TF_USE_LEGACY_KERAS=1``)."""
from __future__ import annotations

from typing import Tuple

import tensorflow as tf


def LeNet(input_shape: Tuple[int, int, int] = (28, 28, 1), classes: int = 10) -> tf.keras.Model:
    """A LeNet-style classifier: three 3x3 convolutions, two dense layers, softmax output."""
    layers = tf.keras.layers
    return tf.keras.Sequential([
        tf.keras.Input(shape=input_shape),
        layers.Conv2D(32, (3, 3), activation="relu"),
        layers.MaxPooling2D((2, 2)),
        layers.Conv2D(64, (3, 3), activation="relu"),
        layers.MaxPooling2D((2, 2)),
        layers.Conv2D(64, (3, 3), activation="relu"),
        layers.Flatten(),
        layers.Dense(64, activation="relu"),
        layers.Dense(classes, activation="softmax"),
    ])
