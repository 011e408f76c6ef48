"""From a photo to an emotion with the committed CNN, in process and through the CLI."""
import json
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest
from skimage import data

from musicalface.contracts import EXPRESSIONS
from musicalface.paths import MODELS_DIR, latest_version
from services.emotion.classifier import InProcessModel
from services.emotion.reader import EmotionReader
from tests.conftest import REPO


@pytest.fixture(scope="module")
def reader():
    return EmotionReader(InProcessModel(MODELS_DIR / "emotion"))


def jpeg(rgb: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    return buf.tobytes()


def test_committed_model_exists():
    assert (MODELS_DIR / "emotion" / str(latest_version(MODELS_DIR / "emotion")) / "saved_model.pb").exists()


def test_astronaut_is_found_and_happy(reader):
    r = reader.read_bytes(jpeg(data.astronaut()), "astronaut")
    assert r.error is None
    assert r.emotion == "Happy" and r.mood == "happy"
    x, y, w, h = r.face
    # Eileen Collins' face sits in the upper middle of the 512x512 portrait.
    assert 120 < x + w / 2 < 320 and 40 < y + h / 2 < 220 and w > 60
    assert set(r.probabilities) == set(EXPRESSIONS)
    assert abs(sum(r.probabilities.values()) - 1) < 1e-3


def test_photo_without_a_face(reader):
    r = reader.read_bytes(jpeg(data.coffee()), "coffee")
    assert r.error is None and r.emotion is None and r.mood is None and r.face is None


def test_face_crop_is_classified_directly(reader, shared_data):
    with np.load(shared_data / "fer2013" / "fer2013.npz") as d:
        x, y = d["val_x"][:200], d["val_y"][:200]
    preds = [reader.read_grey(img).emotion for img in x]
    assert all(p in EXPRESSIONS for p in preds)
    acc = np.mean([EXPRESSIONS.index(p) == t for p, t in zip(preds, y)])
    assert acc > 0.5  # chance is 0.25 (always Happy); the model is far above it


def test_corrupt_empty_and_huge_inputs_get_clear_errors(reader):
    assert "empty" in reader.read_bytes(b"", "e").error
    assert "not an image" in reader.read_bytes(b"GIF89a....", "g").error
    assert "corrupt" in reader.read_bytes(jpeg(data.astronaut())[:300], "c").error
    huge = np.zeros((7000, 7000), np.uint8)  # 49 Mpx > the 40 Mpx limit
    ok, buf = cv2.imencode(".png", huge)
    assert "too large" in reader.read_bytes(buf.tobytes(), "h").error


def run_cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "musicalface.cli", *args], capture_output=True, text=True,
                          cwd=REPO, env={**os.environ, **(env or {})}, timeout=300)


def test_cli_json_one_line_per_photo_and_exit_status(tmp_path):
    face = tmp_path / "face.jpg"
    face.write_bytes(jpeg(data.astronaut()))
    noface = tmp_path / "coffee.jpg"
    noface.write_bytes(jpeg(data.coffee()))
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 nothing more")
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")

    p = run_cli("predict", "--json", str(face), str(noface), str(broken), str(empty))
    assert p.returncode == 1, p.stderr
    lines = [json.loads(line) for line in p.stdout.splitlines()]
    assert [line["file"] for line in lines] == [str(face), str(noface), str(broken), str(empty)]
    happy, none, bad, emp = lines
    assert happy["emotion"] == "Happy" and happy["mood"] == "happy" and len(happy["face"]) == 4
    assert set(happy["probabilities"]) == set(EXPRESSIONS) and happy["seconds"] > 0
    assert none["emotion"] is None and none["mood"] is None and none["face"] is None and "error" not in none
    assert "corrupt" in bad["error"] and "empty" in emp["error"]
    assert "Traceback" not in p.stderr

    p = run_cli("predict", "--json", str(face))
    assert p.returncode == 0


def test_cli_text_output_like_the_original(tmp_path):
    face = tmp_path / "face.jpg"
    face.write_bytes(jpeg(data.astronaut()))
    p = run_cli("predict", str(face))
    assert p.returncode == 0, p.stderr
    out = p.stdout
    assert "Emotion: Happy" in out and "Top 3: Happy" in out and "Mood: happy" in out and "Time taken:" in out
    for name in EXPRESSIONS:
        assert name in out
