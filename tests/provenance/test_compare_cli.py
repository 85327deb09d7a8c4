"""``trustmap compare A B``: JSON output, the verdict, the store record and bad input (exit 2, one line)."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from tests.cli.helpers import run_cli
from trustmap.models import ModelMeta, TrainConfig, build_model, fit, save_model


def one_line_error(res, pattern: str) -> None:
    assert res.code == 2, (res.code, res.out, res.err)
    lines = [line for line in res.err.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), res.err
    assert "Traceback" not in res.err and re.search(pattern, lines[0]), lines[0]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    from trustmap.data import load_dataset

    ds = load_dataset("digits")
    root = tmp_path_factory.mktemp("models")
    meta = ModelMeta(
        kind="image", arch="mlp", input_shape=(1, 8, 8), num_classes=10, value_range=(0.0, 1.0), dataset="digits"
    )
    paths = {}
    for name, seed in (("a", 0), ("b", 1)):
        model = build_model("mlp", input_shape=(1, 8, 8), num_classes=10, seed=seed)
        fit(model, ds.train, config=TrainConfig(epochs=3, batch_size=64, lr=3e-3), seed=seed, progress=False)
        paths[name] = save_model(model, root / f"{name}.pt2", meta=meta)
    paths["st"] = save_model(model, root / "b.safetensors", meta=meta)
    table = build_model("mlp", input_shape=(14,), num_classes=2, seed=0)
    paths["table"] = save_model(
        table,
        root / "adult.pt2",
        meta=ModelMeta(kind="table", arch="mlp", input_shape=(14,), num_classes=2, dataset="adult"),
    )
    nodata = ModelMeta(kind="image", arch="mlp", input_shape=(1, 8, 8), num_classes=10)
    paths["nodata"] = save_model(
        build_model("mlp", input_shape=(1, 8, 8), num_classes=10, seed=2), root / "nodata.pt2", meta=nodata
    )
    np.savez(root / "seeds.npz", x=ds.test.x[:60, 0], y=ds.test.y[:60])
    np.savez(root / "wide.npz", x=np.zeros((10, 5), np.float32), y=np.zeros(10, np.int64))
    paths["npz"], paths["wide"] = root / "seeds.npz", root / "wide.npz"
    return paths


def test_identical_models_json(capsys, files):
    res = run_cli(capsys, "compare", str(files["a"]), str(files["a"]), "--pairs", "30", "--steps", "20", "--json")
    assert res.code == 0, res.err
    out = json.loads(res.out)
    assert out["similarity"] == pytest.approx(1.0) and out["reused"] is True
    assert out["data"] == "digits" and out["threshold"] > 0 and out["label_agreement"] == 1.0
    assert out["weight_cosine"] == pytest.approx(1.0)
    conf = out["conferrable"]  # the extraction-aware copy test, beside DDV: A keeps its own fingerprint
    assert conf["cae_accuracy"] == 1.0 and conf["n_fingerprints"] > 0 and conf["queries"] is None
    assert isinstance(conf["stolen"], bool) and 0.0 <= conf["threshold"] <= 1.0
    rec = json.loads(run_cli(capsys, "runs", "show", str(out["run_id"]), "--json").out)
    assert rec["command"] == "compare" and rec["status"] == "ok" and rec["metrics"]["reused"] is True
    assert rec["metrics"]["cae_accuracy"] == 1.0


def test_other_model_prints_verdict_and_threshold(capsys, files):
    res = run_cli(
        capsys,
        "compare",
        str(files["a"]),
        str(files["st"]),
        "--data",
        str(files["npz"]),
        "--pairs",
        "30",
        "--steps",
        "20",
        "--threshold",
        "0.999",
    )
    assert res.code == 0, res.err
    assert "similarity" in res.out and "independent" in res.out and ">= 0.999" in res.out
    assert "copy test (conferrable examples)" in res.out and "CAE accuracy" in res.out
    args = ("compare", str(files["a"]), str(files["b"]), "--pairs", "30", "--steps", "20", "--json", "--no-cae")
    res, same = run_cli(capsys, *args), run_cli(capsys, *args)
    out = json.loads(res.out)
    assert out["conferrable"] is None
    assert out["similarity"] < 1.0 and out["similarity"] == json.loads(same.out)["similarity"]


def test_incompatible_models(capsys, files):
    res = run_cli(capsys, "compare", str(files["a"]), str(files["table"]), "--json")
    one_line_error(res, r"different inputs.*\(1, 8, 8\).*\(14,\)")


def test_data_that_does_not_fit(capsys, files):
    one_line_error(
        run_cli(capsys, "compare", str(files["a"]), str(files["b"]), "--data", "fashion-mnist"),
        r"model A: .*expects inputs of shape \(1, 8, 8\)",
    )
    one_line_error(run_cli(capsys, "compare", str(files["a"]), str(files["b"]), "--data", str(files["wide"])), r"shape")


def test_no_dataset_anywhere(capsys, files):
    one_line_error(run_cli(capsys, "compare", str(files["nodata"]), str(files["a"])), r"records no dataset.*--data")


def test_bad_options(capsys, files, tmp_path):
    one_line_error(
        run_cli(capsys, "compare", str(files["a"]), str(files["b"]), "--mutation", "evolve"), r"unknown mutation"
    )
    one_line_error(run_cli(capsys, "compare", str(files["a"]), str(tmp_path / "missing.pt2")), r"does not exist")
