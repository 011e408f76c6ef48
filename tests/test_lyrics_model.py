"""The exported lyrics models keep the contract, and carry their own text
vectorisation: a song's label depends on its lyrics alone."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from musicalface.contracts import MOODS
from musicalface.contracts import LyricsSignature as Sig
from musicalface.paths import latest_version
from tests.conftest import REPO
from tests.lyrics_support import MODEL_DIR

VERSIONS = sorted(int(p.name) for p in MODEL_DIR.glob("*") if p.name.isdigit())
SONGS = [
    "I hate you, get out of my head, burn it all down, screaming",
    "Sunshine on my face, dancing with my love, happy days are here",
    "Slow and easy, drifting on the water, the quiet evening breeze",
    "Tears fall down, alone again, you left me cold and broken",
]


def load(version: int):
    import tensorflow as tf

    loaded = tf.saved_model.load(str(MODEL_DIR / str(version)))
    return loaded, loaded.signatures[Sig.name]


def run(fn, texts):
    import tensorflow as tf

    return fn(**{Sig.input: tf.constant(texts, dtype=tf.string)})[Sig.output].numpy()


def test_versions_are_there():
    assert len(VERSIONS) >= 2, "expected the seed LSTM and the shipped model under models/lyrics"
    assert latest_version(MODEL_DIR) == max(VERSIONS)


@pytest.mark.parametrize("version", VERSIONS)
def test_signature_names_dtypes_shapes(version):
    import tensorflow as tf

    _, fn = load(version)
    _, inputs = fn.structured_input_signature
    assert list(inputs) == [Sig.input]
    assert inputs[Sig.input].dtype == tf.string and inputs[Sig.input].shape.as_list() == [None]
    out = fn.structured_outputs
    assert list(out) == [Sig.output]
    assert out[Sig.output].dtype == tf.float32 and out[Sig.output].shape.as_list() == [None, len(MOODS)]
    assert (MODEL_DIR / str(version) / "assets.extra" / "tf_serving_warmup_requests").stat().st_size > 0
    size = sum(f.stat().st_size for f in (MODEL_DIR / str(version)).rglob("*") if f.is_file())
    assert size < 20e6, f"version {version} is {size / 1e6:.1f} MB"


@pytest.mark.parametrize("version", VERSIONS)
def test_raw_strings_in_probabilities_out(version):
    _, fn = load(version)
    p = run(fn, SONGS)
    assert p.shape == (4, 4) and p.dtype == np.float32
    np.testing.assert_allclose(p.sum(1), 1.0, atol=1e-5)
    assert (p >= 0).all()
    one = run(fn, ["just one song"])
    assert one.shape == (1, 4)
    assert run(fn, ["", "x" * 50000]).shape == (2, 4)  # empty and very long texts are still answered


@pytest.mark.parametrize("version", VERSIONS)
def test_same_lyrics_same_label_whatever_else_is_labelled(version):
    """The original refitted its tokenizer on each catalog: the same song got
    different labels in different company. Ours must not."""
    _, fn = load(version)
    alone = np.stack([run(fn, [s])[0] for s in SONGS])
    together = run(fn, SONGS)
    among_others = run(fn, ["unrelated words " * i + "filler" for i in range(1, 30)] + SONGS)[-4:]
    np.testing.assert_allclose(together, alone, atol=1e-5)
    np.testing.assert_allclose(among_others, alone, atol=1e-5)
    # text standardised in the graph: case and punctuation do not matter
    np.testing.assert_allclose(run(fn, [SONGS[1].upper().replace(",", " ! ")]), alone[1:2], atol=1e-5)


def test_a_fresh_process_gives_the_same_probabilities():
    _, fn = load(max(VERSIONS))
    here = run(fn, SONGS)
    code = ("import json,sys,tensorflow as tf;"
            f"f=tf.saved_model.load({str(MODEL_DIR / str(max(VERSIONS)))!r}).signatures['serving_default'];"
            f"print(json.dumps(f(lyrics=tf.constant({SONGS!r}))['probabilities'].numpy().tolist()))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                       env={"TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "/usr/bin:/bin"})
    assert r.returncode == 0, r.stderr
    np.testing.assert_allclose(np.array(json.loads(r.stdout.strip().splitlines()[-1])), here, atol=1e-5)


def test_shipped_version_is_the_best_reported():
    """TF Serving serves the highest version: it must be the best on the held-out split."""
    acc = {v: json.loads((REPO / "reports" / "lyrics" / f"v{v}" / "metrics.json").read_text())["accuracy"]
           for v in VERSIONS}
    assert acc[max(VERSIONS)] == max(acc.values())


def test_training_smoke_run_exports_the_contract(tmp_path, shared_data):
    """A few batches on a handful of songs, through to the SavedModels and reports."""
    from training import train_lyrics

    rc = train_lyrics.main(["--data", str(shared_data / "lyrics" / "moodylyrics_lyrics.csv.gz"), "--limit", "160", "--epochs", "1", "--linear-grid", "tfidf=10", "--vocab", "2000",
                            "--out", str(tmp_path / "run"), "--reports", str(tmp_path / "reports"),
                            "--models-dir", str(tmp_path / "models"), "--split", str(tmp_path / "split.csv"),
                            "--export"])
    assert rc == 0
    for v in (1, 2):
        fn = __import__("tensorflow").saved_model.load(str(tmp_path / "models" / str(v))).signatures[Sig.name]
        p = run(fn, SONGS)
        assert p.shape == (4, 4)
        m = json.loads((tmp_path / "reports" / f"v{v}" / "metrics.json").read_text())
        assert {"accuracy", "accuracy_ml", "accuracy_ml4q", "per_mood", "confusion"} <= set(m)
    assert (tmp_path / "reports" / "v1" / "curves.png").exists()
    assert "models/lyrics/1" in (tmp_path / "reports" / "README.md").read_text()


def test_source_weighted_smoke_run_exports_the_next_version(tmp_path, shared_data):
    """The weighted model goes one version above those there, with the same contract and a report."""
    from training import train_lyrics, train_lyrics_weighted

    data = str(shared_data / "lyrics" / "moodylyrics_lyrics.csv.gz")
    dirs = ["--models-dir", str(tmp_path / "models"), "--reports", str(tmp_path / "reports")]
    assert train_lyrics.main(["--data", data, "--limit", "160", "--models", "linear", "--no-specialists",
                              "--linear-grid", "tfidf=10", "--out", str(tmp_path / "run"),
                              "--split", str(tmp_path / "split.csv"), "--export", *dirs]) == 0
    assert train_lyrics_weighted.main(["--data", data, "--limit", "160", "--ml-weights", "1,3",
                                       "--linear-grid", "tfidf=10", "--export-above", "0",
                                       "--out", str(tmp_path / "wrun"), "--export", *dirs]) == 0
    fn = __import__("tensorflow").saved_model.load(str(tmp_path / "models" / "2")).signatures[Sig.name]
    p = run(fn, SONGS)
    assert p.shape == (4, 4) and np.allclose(p.sum(1), 1, atol=1e-5)
    m = json.loads((tmp_path / "reports" / "v2" / "metrics.json").read_text())
    assert m["ml_weight"] in (1.0, 3.0) and {"accuracy_ml", "accuracy_ml4q"} <= set(m)
    assert len(m["cv"]) == 2 and all({"cv_ml", "cv_ml4q"} <= set(r) for r in m["cv"])
