"""`trustmap data|train|eval|runs`: happy paths and every bad-input case (exit 2, one line, no file)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from tests.cli.helpers import run_cli
from trustmap.models import build_model


@pytest.fixture(scope="module")
def digits_model(tmp_path_factory):
    """A small MLP for the 8x8 digits, trained through the CLI."""
    out = tmp_path_factory.mktemp("m") / "digits.pt2"
    from trustmap.cli.app import main

    try:
        main(["train", "--data", "digits", "--arch", "mlp", "--epochs", "8", "--out", str(out)])
    except SystemExit as exc:
        assert exc.code == 0
    return out


def one_line_error(res, pattern: str) -> None:
    assert res.code == 2, (res.code, res.err)
    lines = [l for l in res.err.strip().splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), res.err
    assert "Traceback" not in res.err
    import re

    assert re.search(pattern, lines[0]), lines[0]


def test_data_list_and_show(capsys):
    res = run_cli(capsys, "data", "list")
    assert res.code == 0 and "fashion-mnist" in res.out and "rotten-tomatoes" in res.out
    res = run_cli(capsys, "data", "show", "german-credit", "--json")
    desc = json.loads(res.out)
    assert desc["train"] == 700 and desc["sensitive"] == ["sex", "age"]


def test_train_eval_and_runs(capsys, digits_model, tmp_path):
    res = run_cli(capsys, "eval", "--model", str(digits_model), "--data", "digits", "--json")
    assert res.code == 0
    out = json.loads(res.out)
    assert 0.85 < out["accuracy"] <= 1 and len(out["per_class_accuracy"]) == 10
    res = run_cli(capsys, "runs", "--command", "eval")
    assert res.code == 0 and "eval" in res.out
    res = run_cli(capsys, "runs", "show", str(out["run_id"]), "--json")
    rec = json.loads(res.out)
    assert rec["status"] == "ok" and rec["dataset"] == "digits" and len(rec["model_sha256"]) == 64
    assert rec["metrics"]["accuracy"] == out["accuracy"] and "torch" in rec["versions"]


def test_eval_on_user_npz(capsys, digits_model, tmp_path):
    from trustmap.data import load_dataset

    ds = load_dataset("digits")
    path = tmp_path / "mine.npz"
    np.savez(path, x=ds.test.x[:50, 0], y=ds.test.y[:50])  # (N, 8, 8): the loader adds the channel
    res = run_cli(capsys, "eval", "--model", str(digits_model), "--data", str(path), "--json")
    assert res.code == 0 and json.loads(res.out)["accuracy"] > 0.8


def test_unknown_dataset(capsys, tmp_path):
    res = run_cli(capsys, "train", "--data", "cifar10", "--out", str(tmp_path / "m.pt2"))
    one_line_error(res, "unknown dataset 'cifar10'")
    assert not (tmp_path / "m.pt2").exists()


def test_missing_data_package(capsys, tmp_path, monkeypatch):
    from trustmap.data import registry

    monkeypatch.setenv("TRUSTMAP_FASHION_DIR", str(tmp_path / "nowhere"))
    monkeypatch.setattr(registry, "_CACHE", {})
    res = run_cli(capsys, "train", "--data", "fashion-mnist", "--out", str(tmp_path / "m.pt2"))
    one_line_error(res, "apt-get install -y dataset-fashion-mnist")


def test_shape_mismatch(capsys, digits_model):
    res = run_cli(capsys, "eval", "--model", str(digits_model), "--data", "mnist-5k")
    one_line_error(res, r"expects inputs of shape \(1, 8, 8\).*\(1, 28, 28\)")


def test_nan_in_data(capsys, digits_model, tmp_path):
    x = np.zeros((10, 1, 8, 8), np.float32)
    x[0, 0, 0, 0] = np.inf
    np.savez(tmp_path / "nan.npz", x=x, y=np.zeros(10, int))
    one_line_error(
        run_cli(capsys, "eval", "--model", str(digits_model), "--data", str(tmp_path / "nan.npz")), "NaN or Inf"
    )


def test_labels_outside_model_classes(capsys, digits_model, tmp_path):
    np.savez(tmp_path / "l.npz", x=np.zeros((10, 1, 8, 8), np.float32), y=np.arange(10) + 3)
    res = run_cli(capsys, "eval", "--model", str(digits_model), "--data", str(tmp_path / "l.npz"))
    one_line_error(res, r"labels in \[3, 12\] but the model knows 10 classes")


def test_corrupt_model(capsys, digits_model, tmp_path):
    bad = tmp_path / "bad.pt2"
    bad.write_bytes(digits_model.read_bytes()[:3000])
    one_line_error(run_cli(capsys, "eval", "--model", str(bad), "--data", "digits"), "corrupt or truncated")


def test_pickled_model(capsys, tmp_path):
    model = build_model("mlp", input_shape=(1, 8, 8), num_classes=10)
    torch.save(model, tmp_path / "p.pt")
    one_line_error(
        run_cli(capsys, "eval", "--model", str(tmp_path / "p.pt"), "--data", "digits"),
        "pickled full model.*export it instead",
    )


def test_unwritable_output(capsys, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):  # root ignores permissions: use a path under a file instead
            target = tmp_path / "afile"
            target.write_text("x")
            out = target / "m.pt2"
        else:
            out = locked / "m.pt2"
        res = run_cli(capsys, "train", "--data", "digits", "--arch", "mlp", "--out", str(out))
        one_line_error(res, "cannot (create folder|write)")
    finally:
        locked.chmod(0o700)


def test_interrupt_leaves_no_partial_model(tmp_path):
    """SIGTERM during training: the run is recorded as interrupted and no model file appears."""
    import signal
    import time

    env = {**os.environ, "TRUSTMAP_STORE": str(tmp_path / "s.sqlite")}
    out = tmp_path / "m.pt2"
    proc = subprocess.Popen(
        [sys.executable, "-m", "trustmap", "train", "--data", "fashion-mnist", "--arch", "cnn", "--out", str(out)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    from trustmap.store import ResultsStore

    deadline = time.time() + 60
    while time.time() < deadline:
        time.sleep(0.5)
        if (tmp_path / "s.sqlite").exists() and ResultsStore.open(tmp_path / "s.sqlite").runs():
            break
    time.sleep(3)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".m")]
    (rec,) = ResultsStore.open(tmp_path / "s.sqlite").runs()
    assert rec.status == "interrupted"


def test_debug_shows_traceback():
    proc = subprocess.run(
        [sys.executable, "-m", "trustmap", "--debug", "train", "--data", "nope", "--out", "x.pt2"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode != 0 and "Traceback" in proc.stderr
