"""Image folders: a directory of images with a labels.csv index (file, label, group columns)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from tests.cli.helpers import run_cli
from trustmap.data import load_dataset
from trustmap.errors import DataError


def _folder(root, images, labels, groups, *, rgb=False):
    root.mkdir(parents=True, exist_ok=True)
    files = []
    for i, im in enumerate(images):
        arr = (np.clip(im, 0, 1) * 255).astype(np.uint8)
        name = f"img_{i:03d}.png"
        Image.fromarray(np.repeat(arr[..., None], 3, 2) if rgb else arr).save(root / name)
        files.append(name)
    pd.DataFrame({"file": files, "label": labels, "skin_tone": groups}).to_csv(root / "labels.csv", index=False)
    return root


def test_grey_folder_with_group_column_loads(tmp_path):
    images = np.random.default_rng(0).random((6, 12, 10))
    root = _folder(tmp_path / "imgs", images, [0, 1, 2, 0, 1, 2], list("AABBCC"))
    ds = load_dataset(str(root), sensitive=["skin_tone"])
    assert ds.kind == "image" and ds.input_shape == (1, 12, 10) and ds.classes == ("0", "1", "2")
    assert ds.test.sensitive["skin_tone"].tolist() == list("AABBCC") and ds.value_range == (0.0, 1.0)
    assert np.abs(ds.test.x[:, 0] - images).max() <= 1 / 255


def test_rgb_folder_with_text_labels(tmp_path):
    root = _folder(tmp_path / "rgb", np.full((4, 8, 8), 0.5), ["benign", "malignant"] * 2, list("ABAB"), rgb=True)
    ds = load_dataset(str(root))
    assert ds.input_shape == (3, 8, 8) and ds.classes == ("benign", "malignant") and ds.test.y.tolist() == [0, 1, 0, 1]
    assert ds.sensitive_names == ()


def test_bad_folders_are_refused_with_one_line(tmp_path):
    root = _folder(tmp_path / "f", np.zeros((2, 8, 8)), [0, 1], ["A", "B"])
    with pytest.raises(DataError, match="group column 'tone' not in .*columns: file, label, skin_tone"):
        load_dataset(str(root), sensitive=["tone"])
    with pytest.raises(DataError, match="label column 'diagnosis' not in"):
        load_dataset(str(root), label="diagnosis")
    (root / "labels.csv").write_text("file,label,skin_tone\nimg_000.png,0,A\nmissing.png,1,\n")
    with pytest.raises(DataError, match="empty cells"):
        load_dataset(str(root), sensitive=["skin_tone"])
    (root / "labels.csv").write_text("file,label\nimg_000.png,0\nmissing.png,1\n")
    with pytest.raises(DataError, match="missing.png listed in .* does not exist"):
        load_dataset(str(root))
    Image.fromarray(np.zeros((9, 9), np.uint8)).save(root / "big.png")
    (root / "labels.csv").write_text("file,label\nimg_000.png,0\nbig.png,1\n")
    with pytest.raises(DataError, match="different sizes"):
        load_dataset(str(root))
    (root / "labels.csv").unlink()
    with pytest.raises(DataError, match="needs a labels.csv"):
        load_dataset(str(root))


def test_audit_of_an_image_folder_reports_ddi_coco_per_group(capsys, tmp_path, small_cnn, fashion):
    """End to end: folder + group column -> `trustmap audit --probes ddi-coco --sensitive`; JSON, HTML, scorecard."""
    from trustmap.models import save_model
    from trustmap.probes.fairness.contrast import reduce_contrast

    idx = np.concatenate([np.flatnonzero(fashion.test.y == c)[:12] for c in range(10)])
    x = fashion.test.x[idx, 0].copy()
    washed = np.arange(len(idx)) % 2 == 1
    x[washed] = reduce_contrast(x[washed], 0.15)
    groups = np.where(washed, "washed-out", "original")
    root = _folder(tmp_path / "fm", x, fashion.test.y[idx], groups)
    model = save_model(small_cnn.module, tmp_path / "m.pt2", meta=small_cnn.meta)
    out = tmp_path / "out"
    res = run_cli(
        capsys,
        "audit",
        "--model",
        str(model),
        "--data",
        str(root),
        "--sensitive",
        "skin_tone",
        "--probes",
        "ddi-coco",
        "--budget",
        "quick",
        "--out",
        str(out),
    )
    assert res.code == 0, res.err
    doc = json.loads((out / "report.json").read_text())
    (probe,) = doc["probes"]
    assert probe["probe"] == "ddi-coco" and probe["status"] == "ok" and probe["headline"] == "contrast_accuracy_gap"
    assert {r["group"] for r in probe["tables"]["per_group"]} == {"washed-out", "original"}
    assert probe["metrics"]["contrast_accuracy_gap"] > 0.1
    assert "fairness" in {g["dimension"] for g in doc["scorecard"]}
    assert "probe-ddi-coco" in (out / "report.html").read_text()
    bad = run_cli(
        capsys,
        "audit",
        "--model",
        str(model),
        "--data",
        str(root),
        "--sensitive",
        "tone",
        "--probes",
        "ddi-coco",
        "--out",
        str(tmp_path / "bad"),
    )
    assert bad.code == 2 and "group column 'tone' not in" in bad.err
