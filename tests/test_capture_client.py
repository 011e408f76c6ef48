"""The capture client: its frame sources, and `musicalface capture` run with
TensorFlow made unimportable against a real capture service and worker."""
import os
import subprocess
import sys
import textwrap

import cv2
import numpy as np
import pytest
import redis

from services.capture.client import CaptureClient, run
from services.capture.settings import CaptureSettings
from services.capture.sources import Frame, Pacer, SourceError, image_frame, open_source
from services.emotion.image_decode import header_size, image_format
from tests.conftest import REPO, free_port
from tests.pipeline_parts import (astronaut_jpeg, blank_jpeg, capture_service, corrupt_jpeg, emotion_model_dir,
                                  start_workers, stop_workers)

JPEG = astronaut_jpeg()

# Runs the musicalface CLI in a Python where TensorFlow (and Keras, TF Serving's protos) cannot be imported.
NO_TF = textwrap.dedent("""
    import sys
    class NoTensorFlow:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("tensorflow", "tensorflow_serving", "keras", "tf_keras"):
                raise ModuleNotFoundError(f"No module named {name!r} (blocked by the test)", name=name)
    sys.meta_path.insert(0, NoTensorFlow())
    from musicalface.cli import main
    code = main(sys.argv[1:])
    assert not [m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras")], "TensorFlow was imported"
    sys.exit(code)
""")


def musicalface_without_tf(*args, env=None, timeout=180):
    full_env = {**os.environ, "PYTHONPATH": str(REPO)}
    full_env.pop("CAPTURE_TOKEN", None)
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-c", NO_TF, *args], cwd=REPO, env=full_env, capture_output=True,
                          text=True, timeout=timeout)


# --- sources ------------------------------------------------------------------------------------------------

def write_video(path, frames=20, fps=10):
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (160, 120))
    for i in range(frames):
        img = np.full((120, 160, 3), i * 10, np.uint8)
        out.write(img)
    out.release()


def test_a_folder_gives_its_images_in_order_and_shrinks_big_ones(tmp_path):
    big = np.zeros((1200, 900, 3), np.uint8)
    cv2.imwrite(str(tmp_path / "b.png"), big)
    (tmp_path / "a.jpg").write_bytes(JPEG)
    cv2.imwrite(str(tmp_path / "c.bmp"), np.zeros((10, 10, 3), np.uint8))
    (tmp_path / "notes.txt").write_text("not an image")
    frames = list(open_source(str(tmp_path), fps=1000, max_side=640))
    assert [f.name for f in frames] == ["a.jpg", "b.png", "c.bmp"]
    assert frames[0].data == JPEG  # small enough JPEG: sent as it is
    assert image_format(frames[1].data) == "jpeg" and max(header_size(frames[1].data, "jpeg")) == 640
    assert image_format(frames[2].data) == "jpeg"  # BMP re-encoded


def test_a_video_is_sampled_at_the_frame_rate(tmp_path):
    path = tmp_path / "clip.avi"
    write_video(path, frames=20, fps=10)
    frames = list(open_source(str(path), fps=5, max_side=640))
    # 2 s of video at 5 frames a second: every other frame
    assert [f.name for f in frames] == [f"clip.avi#{n}" for n in range(1, 21, 2)]
    greys = [int(cv2.imdecode(np.frombuffer(f.data, np.uint8), cv2.IMREAD_GRAYSCALE).mean()) for f in frames]
    assert greys == pytest.approx([i * 10 for i in range(0, 20, 2)], abs=3)


def test_bad_sources_say_why(tmp_path):
    with pytest.raises(SourceError, match="no such file, folder or webcam"):
        open_source(str(tmp_path / "missing.jpg"))
    with pytest.raises(SourceError, match="no images in this folder"):
        open_source(str(tmp_path))
    (tmp_path / "fake.mp4").write_text("not a video")
    with pytest.raises(SourceError, match="not a video OpenCV can read"):
        open_source(str(tmp_path / "fake.mp4"))
    with pytest.raises(SourceError, match="cannot open webcam 97"):
        open_source("97")
    (tmp_path / "fake.png").write_text("not a picture")  # sent as it is, for the service to refuse
    assert image_frame(tmp_path / "fake.png", 640) == Frame(b"not a picture", "fake.png")
    (tmp_path / "empty.jpg").write_bytes(b"")
    assert image_frame(tmp_path / "empty.jpg", 640) == Frame(b"", "empty.jpg")


def test_the_pacer_does_not_burst_after_a_stall():
    import time

    p = Pacer(50)
    p.wait()
    time.sleep(0.2)  # ten ticks late
    t0 = time.monotonic()
    p.wait()
    p.wait()
    assert time.monotonic() - t0 >= 0.015  # the second wait still waited for its tick


# --- the client against a real service ---------------------------------------------------------------------

def test_the_client_backs_off_on_429_and_shows_refusals(redis_url):
    redis.Redis.from_url(redis_url).flushdb()
    lines = []
    with capture_service(CaptureSettings(redis_url=redis_url, max_queue_depth=1, frames_per_job=1)) as url:
        client = CaptureClient(url, "busy")
        frames = [Frame(JPEG, "one.jpg"), Frame(b"GIF89a", "two.gif"), Frame(JPEG, "three.jpg")]
        code = run(client, frames, wait_s=0.3, out=lines.append)
        client.close()
    assert code == 1  # no worker: nothing came back
    assert lines[0] == "[busy] two.gif: refused (415): not a JPEG or PNG frame"
    assert lines[1].startswith("[busy] three.jpg: service busy (too many frames waiting (1)")
    assert "skipping frames for 1 s" in lines[1]
    assert "no result for the last frame" in lines[-1]


@pytest.fixture(scope="module")
def pipeline(redis_url):
    model_dir, _ = emotion_model_dir()
    conn = redis.Redis.from_url(redis_url)
    conn.flushdb()
    procs = start_workers(1, {"EMOTION_MODEL_DIR": str(model_dir)}, redis_url, ["client-test-worker"])
    try:
        with capture_service(CaptureSettings(redis_url=redis_url)) as url, \
                capture_service(CaptureSettings(redis_url=redis_url, capture_token="tok-123")) as locked:
            yield model_dir, url, locked
    finally:
        print(stop_workers(procs)[0][-2000:])
        conn.flushdb()


def test_capture_a_photo_without_tensorflow(pipeline, tmp_path):
    from services.emotion.classifier import InProcessModel
    from services.emotion.reader import EmotionReader

    model_dir, url, _ = pipeline
    expected = EmotionReader(InProcessModel(model_dir)).read_bytes(JPEG)
    photo = tmp_path / "astronaut.jpg"
    photo.write_bytes(JPEG)
    r = musicalface_without_tf("capture", str(photo), "--camera", "desk", "--url", url, "--wait", "60")
    assert r.returncode == 0, r.stdout + r.stderr
    x, y, w, h = expected.face
    assert (f"[desk] astronaut.jpg (frame 1): {expected.emotion} ({expected.confidence:.1%}) -> {expected.mood}"
            f"  face at x={x} y={y} w={w} h={h}") in r.stdout
    assert "[desk] sent 1 frame(s), 0 refused; camera mood:" in r.stdout
    assert "Traceback" not in r.stderr


def test_capture_a_folder_shows_each_result(pipeline, tmp_path):
    _, url, _ = pipeline
    (tmp_path / "1-blank.jpg").write_bytes(blank_jpeg())
    (tmp_path / "2-broken.jpg").write_bytes(corrupt_jpeg())
    (tmp_path / "3-empty.png").write_bytes(b"")
    (tmp_path / "4-face.jpg").write_bytes(JPEG)
    r = musicalface_without_tf("capture", str(tmp_path), "--camera", "folder", "--url", url, "--fps", "2",
                               "--wait", "60")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "[folder] 3-empty.png: refused (400): empty frame" in r.stdout
    assert "[folder] 4-face.jpg (frame 3): " in r.stdout
    assert "sent 3 frame(s), 1 refused" in r.stdout


def test_capture_a_video_file(pipeline, tmp_path):
    _, url, _ = pipeline
    write_video(tmp_path / "clip.avi", frames=10, fps=10)
    r = musicalface_without_tf("capture", str(tmp_path / "clip.avi"), "--camera", "video", "--url", url,
                               "--fps", "10", "--wait", "60")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "[video] clip.avi#10 (frame 10): no face" in r.stdout
    assert "sent 10 frame(s), 0 refused" in r.stdout


def test_token_unreachable_and_missing_source_are_one_line_errors(pipeline, tmp_path):
    _, url, locked = pipeline
    photo = tmp_path / "p.jpg"
    photo.write_bytes(JPEG)
    r = musicalface_without_tf("capture", str(photo), "--url", locked)
    assert r.returncode == 1 and r.stderr.strip().endswith("refused our token: set CAPTURE_TOKEN to its token")
    assert len(r.stderr.strip().splitlines()) == 1
    r = musicalface_without_tf("capture", str(photo), "--url", locked, "--wait", "60",
                               env={"CAPTURE_TOKEN": "tok-123"})
    assert r.returncode == 0, r.stdout + r.stderr
    r = musicalface_without_tf("capture", str(photo), "--url", f"http://127.0.0.1:{free_port()}")
    assert r.returncode == 1 and "cannot reach the capture service" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    r = musicalface_without_tf("capture", str(tmp_path / "nope.jpg"), "--url", url)
    assert r.returncode == 1 and r.stderr.strip() == f"musicalface: error: {tmp_path / 'nope.jpg'}: no such file, " \
                                                     "folder or webcam index"
