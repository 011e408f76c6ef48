"""A few synthetic batches through training, resume, export and report."""
import json

import numpy as np
import tensorflow as tf

from musicalface.contracts import EmotionSignature as Sig
from training import emotion_report, train_emotion


def synthetic_npz(path, n=96):
    rng = np.random.default_rng(0)
    y = np.arange(n) % 7
    x = rng.integers(0, 60, (n, 48, 48)).astype(np.uint8)
    x += (y * 30)[:, None, None].astype(np.uint8)  # a class you can see in the brightness
    np.savez(path, train_x=x, train_y=y, val_x=x[:35], val_y=y[:35])


def test_train_resume_export_report(tmp_path):
    data, run, models = tmp_path / "fer.npz", tmp_path / "run", tmp_path / "models"
    synthetic_npz(data)
    args = ["--data", str(data), "--arch", "tiny", "--batch-size", "32", "--out", str(run)]
    assert train_emotion.main([*args, "--epochs", "1"]) == 0
    assert json.loads((run / "state.json").read_text())["epochs_done"] == 1
    assert train_emotion.main([*args, "--epochs", "2", "--export", "3", "--models-dir", str(models),
                               "--reports-dir", str(tmp_path / "reports")]) == 0
    assert (tmp_path / "reports" / "v3" / "metrics.json").exists()
    log = (run / "log.csv").read_text().splitlines()
    assert len(log) == 3  # header + one row per epoch: the second run resumed, it did not start over

    fn = tf.saved_model.load(str(models / "3")).signatures[Sig.name]
    p = fn(**{Sig.input: tf.zeros([2, 48, 48, 1])})[Sig.output].numpy()
    assert p.shape == (2, 7)

    report = tmp_path / "report"
    x = np.load(data)["val_x"]
    y = np.load(data)["val_y"]
    emotion_report.write(models / "3", run, x, y, report)
    metrics = json.loads((report / "metrics.json").read_text())
    assert 0 <= metrics["accuracy_7"] <= 1 and len(metrics["per_class"]) == 7
    assert metrics["tta"] == "flip+shift" and set(metrics["accuracy_7_by_tta"]) == {"none", "flip", "flip+shift"}
    assert np.array(metrics["confusion_7"]).sum() == len(y)
    for png in ("confusion_7.png", "confusion_4.png", "curves.png"):
        assert (report / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "PublicTest" in (report / "README.md").read_text()


def test_test_time_views():
    from training.export_emotion import tta_views

    x = tf.constant(np.arange(2 * 48 * 48, dtype=np.float32).reshape(2, 48, 48, 1))
    for tta, n in (("none", 1), ("flip", 2), ("flip+shift", 10)):
        views, v = tta_views(x, tta)
        assert v == n and views.shape == (2 * n, 48, 48, 1)
    views, _ = tta_views(x, "flip+shift")
    assert np.array_equal(views[:2], x) and np.array_equal(views[10:12], x[:, :, ::-1])
    assert np.array_equal(views[2, 3:, :, 0], x[0, :-3, :, 0])  # the first shift moves the face down by 3


def test_epochs_that_fit():
    fit = train_emotion.epochs_that_fit
    assert fit(budget=100, elapsed=20, epoch_seconds=10, done=2, planned=50) == 10
    assert fit(budget=100, elapsed=20, epoch_seconds=1, done=2, planned=50) == 50  # never more than planned
    assert fit(budget=10, elapsed=20, epoch_seconds=10, done=2, planned=50) == 3  # over budget: one more to anneal


def test_time_budget_replans_and_resume_trims_the_log(tmp_path):
    data, run = tmp_path / "fer.npz", tmp_path / "run"
    synthetic_npz(data)
    args = ["--data", str(data), "--arch", "tiny", "--batch-size", "32", "--out", str(run)]
    # A budget already spent after the two timing epochs leaves room for one more, which anneals.
    assert train_emotion.main([*args, "--epochs", "20", "--time-budget", "0.001"]) == 0
    meta = json.loads((run / "meta.json").read_text())
    assert meta["replanned"][0]["after_epoch"] == 2 and meta["replanned"][0]["to"] == 3
    assert meta["args"]["epochs"] == 3 and meta["backend"] == "tensorflow"
    assert json.loads((run / "state.json").read_text()) == {"epochs_done": 3, "of": 3}
    lines = (run / "log.csv").read_text().splitlines()
    assert len(lines) == 4 and float(lines[-1].split(",")[lines[0].split(",").index("lr")]) < 1e-6

    # Lengthened with checkpoints at most hourly: only the last epoch is saved.
    assert train_emotion.main([*args, "--epochs", "6", "--checkpoint-every", "3600"]) == 0
    assert json.loads((run / "state.json").read_text()) == {"epochs_done": 6, "of": 6}
    # A run that died with its last checkpoint at epoch 4 but epochs 5-6 logged: the resume
    # trains 5-6 again and the log keeps one row per epoch.
    (run / "state.json").write_text(json.dumps({"epochs_done": 4, "of": 6}))
    assert train_emotion.main([*args, "--epochs", "6"]) == 0
    assert len((run / "log.csv").read_text().splitlines()) == 1 + 6
