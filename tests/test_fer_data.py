"""FER2013 in its three forms reads into the same arrays."""
import csv

import cv2
import numpy as np
import pytest

from musicalface.contracts import EXPRESSIONS
from training import fer_data


@pytest.fixture(scope="module")
def npz(shared_data):
    return fer_data.load(shared_data / "fer2013" / "fer2013.npz")


def test_npz_counts_match_the_readme(npz):
    (xtr, ytr), (xva, yva) = npz["train"], npz["val"]
    assert xtr.shape == (28709, 48, 48) and xva.shape == (3589, 48, 48)
    assert np.bincount(ytr).tolist() == [3995, 436, 4097, 7215, 4830, 3171, 4965]
    assert np.bincount(yva).tolist() == [467, 56, 496, 895, 653, 415, 607]


def test_kaggle_csv(tmp_path, npz):
    (xtr, ytr), (xva, yva) = npz["train"], npz["val"]
    path = tmp_path / "fer2013.csv"
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["emotion", "pixels", "Usage"])
        for x, y, usage in [(xtr[0], ytr[0], "Training"), (xtr[1], ytr[1], "Training"), (xva[0], yva[0], "PublicTest"),
                            (xva[1], yva[1], "PrivateTest")]:
            w.writerow([int(y), " ".join(map(str, x.ravel())), usage])
    got = fer_data.load(path)
    assert np.array_equal(got["train"][0], xtr[:2]) and got["train"][1].tolist() == ytr[:2].tolist()
    assert np.array_equal(got["val"][0], xva[:1]) and got["test"][0].shape == (1, 48, 48)
    assert np.array_equal(fer_data.load(tmp_path)["train"][0], xtr[:2])  # a folder holding fer2013.csv


def test_kaggle_csv_with_bad_rows(tmp_path):
    path = tmp_path / "fer2013.csv"
    path.write_text("emotion,pixels,Usage\n3,1 2 3,Training\n")
    with pytest.raises(fer_data.DataError, match="3 pixels"):
        fer_data.load(path)
    path.write_text("label,image\n")
    with pytest.raises(fer_data.DataError, match="columns"):
        fer_data.load(path)


def test_image_folders_by_class_name_or_code(tmp_path, npz):
    (xtr, ytr), (xva, yva) = npz["train"], npz["val"]
    for split, x, y, by_code in (("train", xtr[:14], ytr[:14], False), ("test", xva[:7], yva[:7], True)):
        for i, (img, label) in enumerate(zip(x, y)):
            folder = tmp_path / split / (str(label) if by_code else EXPRESSIONS[label].lower())
            folder.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(folder / f"{i}.png"), img)
    got = fer_data.load(tmp_path)
    assert sorted(got["train"][1].tolist()) == sorted(ytr[:14].tolist())
    assert sorted(got["val"][1].tolist()) == sorted(yva[:7].tolist())
    assert got["train"][0].shape == (14, 48, 48)


def test_missing_or_unknown(tmp_path):
    with pytest.raises(fer_data.DataError, match="does not exist"):
        fer_data.load(tmp_path / "nope.npz")
    (tmp_path / "train" / "grumpy").mkdir(parents=True)
    with pytest.raises(fer_data.DataError, match="unknown class folder"):
        fer_data.load(tmp_path)
