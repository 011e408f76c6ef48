"""Lyrics mood models. Each takes raw strings: the text vectorisation is a
layer of the model, fitted once on the training lyrics and exported with it,
so a song's label never depends on what else is being labelled (the original
refitted a tokenizer on the catalog, which scrambled its labels).

- `seed_lstm`: the original network, layer for layer.
- `linear_model`: weighted term counts (TF-IDF and kin, `TermWeights`) and a
  softmax layer, which is multinomial logistic regression; or the mean of
  several such branches over the same counts (an ensemble). The weights come
  from scikit-learn's solver (training/lyrics_linear.py), not from SGD.
"""
from __future__ import annotations

import keras
import numpy as np
from keras import layers

from musicalface.contracts import MOODS

N_CLASSES = len(MOODS)
SEQ_LEN = 600
STANDARDIZE = "lower_and_strip_punctuation"


def text_input() -> keras.KerasTensor:
    return keras.Input(shape=(1,), dtype="string", name="lyrics")


# --- the seed LSTM -------------------------------------------------------------
def sequence_vectorizer(texts, max_tokens: int = 20000) -> layers.TextVectorization:
    vec = layers.TextVectorization(max_tokens=max_tokens, standardize=STANDARDIZE,
                                   output_mode="int", output_sequence_length=SEQ_LEN, name="vectorize")
    vec.adapt(np.asarray(texts, dtype=object))
    return vec


def seed_lstm(vectorizer: layers.TextVectorization) -> keras.Model:
    """600 tokens -> Embedding 50 -> LSTM 32 -> Dense 256 ReLU -> Dropout 0.2 -> Dense 4 softmax.
    The original padded at the front (Keras pad_sequences); TextVectorization pads
    at the back, so the embedding masks padding to keep the LSTM's last state on
    the words rather than on trailing zeros."""
    inp = text_input()
    x = vectorizer(inp)
    x = layers.Embedding(vectorizer.vocabulary_size(), 50, mask_zero=True)(x)
    x = layers.LSTM(32)(x)
    x = layers.Dense(256, activation="relu")(x)
    x = layers.Dropout(0.2)(x)
    out = layers.Dense(N_CLASSES, activation="softmax", name="probabilities")(x)
    return keras.Model(inp, out, name="seed_lstm")


# --- TF-IDF + logistic regression ---------------------------------------------
@keras.saving.register_keras_serializable(package="musicalface")
class TermWeights(layers.Layer):
    """Term counts -> weighted, normalised rows, as scikit-learn's TfidfVectorizer
    on the same counts: tf is the count or 1 + log(count) (sublinear), times idf
    if given, rows scaled to unit L2 or L1 norm."""

    def __init__(self, idf=None, sublinear: bool = True, norm: str = "l2", **kwargs):
        super().__init__(**kwargs)
        self.idf_values = None if idf is None else [float(v) for v in idf]
        self.use_idf = idf is not None or kwargs.pop("use_idf", False)
        self.sublinear, self.norm = sublinear, norm

    def build(self, input_shape):
        if self.use_idf:
            init = keras.initializers.Constant(np.asarray(self.idf_values, "float32")) if self.idf_values else "ones"
            self.idf = self.add_weight(name="idf", shape=(int(input_shape[-1]),), initializer=init, trainable=False)

    def call(self, counts):
        ops = keras.ops
        counts = ops.cast(counts, "float32")
        w = ops.where(counts > 0, 1.0 + ops.log(ops.maximum(counts, 1.0)), 0.0) if self.sublinear else counts
        if self.use_idf:
            w = w * self.idf
        if self.norm == "l1":
            size = ops.sum(ops.abs(w), axis=-1, keepdims=True)
        else:
            size = ops.sqrt(ops.sum(w * w, axis=-1, keepdims=True))
        return w / ops.maximum(size, 1e-12)

    def get_config(self):  # the idf weight carries the values
        return {**super().get_config(), "idf": None, "use_idf": self.use_idf, "sublinear": self.sublinear,
                "norm": self.norm}


def count_vectorizer(texts, max_tokens: int = 50000, ngrams: int = 1) -> layers.TextVectorization:
    vec = layers.TextVectorization(max_tokens=max_tokens, standardize=STANDARDIZE, ngrams=ngrams,
                                   output_mode="count", name="vectorize")
    vec.adapt(np.asarray(texts, dtype=object))
    return vec


def idf_of(vectorizer: layers.TextVectorization, texts, batch: int = 256) -> np.ndarray:
    """Smoothed idf as scikit-learn: ln((1 + n) / (1 + df)) + 1."""
    import tensorflow as tf

    texts = list(texts)
    df = sum((keras.ops.convert_to_numpy(vectorizer(tf.constant(texts[i:i + batch])[:, None])) > 0).sum(0)
             for i in range(0, len(texts), batch))
    return np.log((1 + len(texts)) / (1 + df)) + 1.0


def linear_model(vectorizer: layers.TextVectorization, branches: list[TermWeights],
                 name: str = "tfidf_logreg") -> keras.Model:
    """Counts -> one weighting and softmax per branch -> the branches' mean.
    Branch i's layers are named after its weighting layer: `<w>` and `softmax_<w>`."""
    inp = text_input()
    counts = vectorizer(inp)
    outs = [layers.Dense(N_CLASSES, activation="softmax", name=f"softmax_{w.name}")(w(counts)) for w in branches]
    out = outs[0] if len(outs) == 1 else layers.Average()(outs)
    return keras.Model(inp, out, name=name)


def features(model: keras.Model, texts, branch: str, batch: int = 256):
    """The rows one branch's softmax layer sees, as a sparse matrix."""
    from scipy import sparse

    sub = keras.Model(model.input, model.get_layer(branch).output)
    return sparse.vstack([sparse.csr_matrix(x) for x in _batches(sub, texts, batch)]).tocsr()


def predict(model: keras.Model, texts, batch: int = 256) -> np.ndarray:
    """Probabilities [N, 4] for raw strings (Keras' predict() cannot take strings)."""
    out = list(_batches(model, texts, batch))
    return np.concatenate(out) if out else np.zeros((0, N_CLASSES), "float32")


def _batches(model, texts, batch):
    import tensorflow as tf

    texts = list(texts)
    for i in range(0, len(texts), batch):
        x = tf.constant(texts[i:i + batch], dtype=tf.string)[:, None]
        yield keras.ops.convert_to_numpy(model(x, training=False))


def set_softmax(model: keras.Model, branch: str, coef: np.ndarray, intercept: np.ndarray) -> None:
    model.get_layer(f"softmax_{branch}").set_weights([coef.T.astype("float32"), intercept.astype("float32")])
