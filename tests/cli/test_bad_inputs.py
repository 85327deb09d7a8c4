"""The bad inputs of issue 12, each with the exact message a user sees (the fuzz table checks the exit
code, the absence of tracebacks and of new files for many more)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

from tests.cli.helpers import run_cli


@pytest.fixture(scope="module")
def digits_files(tmp_path_factory):
    """An untrained digits MLP (enough for input checks) and digits test data in three scalings."""
    from trustmap.data import load_dataset
    from trustmap.models import build_model
    from trustmap.models.io import save_model
    from trustmap.models.workflows import meta_for

    d = tmp_path_factory.mktemp("digits")
    ds = load_dataset("digits")
    torch.manual_seed(0)
    save_model(build_model("mlp", input_shape=(1, 8, 8), num_classes=10), d / "m.pt2", meta=meta_for(ds, "mlp"))
    x, y = ds.test.x[:50], ds.test.y[:50]
    np.savez(d / "unit.npz", x=x, y=y)
    np.savez(d / "scaled.npz", x=x * 255, y=y)
    np.savez(d / "uint8.npz", x=(x * 255).astype(np.uint8), y=y)
    return d


def error_line(res) -> str:
    assert res.code == 2 and "Traceback" not in res.err, (res.code, res.err)
    lines = [line for line in res.err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), res.err
    return lines[0]


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--lr", "nan"], r"--lr must be a finite number above 0, got nan"),
        (["--lr", "-1"], r"--lr must be a finite number above 0, got -1"),
        (["--lr", "0"], r"--lr must be a finite number above 0, got 0"),
        (["--epochs", "-1"], r"--epochs must be a whole number of at least 1, got -1"),
        (["--epochs", "0"], r"--epochs must be a whole number of at least 1, got 0"),
        (["--batch-size", "0"], r"--batch-size must be a whole number of at least 1, got 0"),
        (["--seed", "-1"], r"--seed must be a whole number from 0 to 4294967295, got -1"),
        (["--seed", "4294967296"], r"--seed must be a whole number from 0 to 4294967295, got 4294967296"),
    ],
)
def test_train_refuses_bad_numbers_instead_of_defaulting_or_crashing(capsys, tmp_path, flags, message):
    out = tmp_path / "new" / "m.pt2"
    res = run_cli(capsys, "train", "--data", "digits", "--arch", "mlp", "--out", str(out), *flags)
    assert re.search(message, error_line(res))
    assert not (tmp_path / "new").exists()


@pytest.mark.parametrize("seed", ["-1", "4294967296"])
def test_audit_seed_is_checked_before_any_probe(capsys, digits_files, tmp_path, seed):
    out = tmp_path / "report"
    res = run_cli(
        capsys,
        "audit",
        "--model",
        str(digits_files / "m.pt2"),
        "--data",
        "digits",
        "--probes",
        "fgsm",
        "--out",
        str(out),
        "--seed",
        seed,
    )
    assert "--seed must be a whole number from 0 to 4294967295" in error_line(res)
    assert not out.exists()


def test_markup_in_a_model_name_prints_as_typed(capsys, tmp_path):
    res = run_cli(capsys, "eval", "--model", str(tmp_path / "[/x].pt2"), "--data", "digits")
    assert "[/x].pt2 does not exist" in error_line(res)
    res = run_cli(capsys, "eval", "--model", str(tmp_path / "[red]m.pt2"), "--data", "digits")
    assert "[red]m.pt2 does not exist" in error_line(res)


def test_markup_in_an_output_name_prints_as_typed(capsys, tmp_path):
    out = tmp_path / "[red]model.pt2"
    res = run_cli(capsys, "train", "--data", "digits", "--arch", "logreg", "--epochs", "1", "--out", str(out))
    assert res.code == 0 and out.exists(), res.err
    assert "[red]model.pt2" in res.out


def test_emoji_codes_in_messages_print_as_typed(capsys, digits_files, tmp_path):
    res = run_cli(
        capsys,
        "unlearn",
        "--method",
        "finetune",
        "--forget",
        "class:-1",
        "--model",
        str(digits_files / "m.pt2"),
        "--out",
        str(tmp_path / "u.pt2"),
    )
    line = error_line(res)
    assert "class:-1" in line and "\N{THUMBS DOWN SIGN}" not in line


@pytest.mark.parametrize("name", ["scaled.npz", "uint8.npz"])
def test_eval_refuses_data_outside_the_models_input_range(capsys, digits_files, name):
    res = run_cli(capsys, "eval", "--model", str(digits_files / "m.pt2"), "--data", str(digits_files / name))
    line = error_line(res)
    assert "values in [0, 255]" in line and "trained on inputs in [0, 1]" in line and "divide by 255" in line
    ok = run_cli(capsys, "eval", "--model", str(digits_files / "m.pt2"), "--data", str(digits_files / "unit.npz"))
    assert ok.code == 0, ok.err


def test_a_failed_audit_leaves_no_default_report_folder(capsys, digits_files, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = run_cli(capsys, "audit", "--model", str(digits_files / "m.pt2"), "--data", "digits", "--probes", "nope")
    assert "unknown probe 'nope'" in error_line(res)
    assert not (tmp_path / "trustmap-report").exists()


def test_table_training_raises_no_user_warning(tmp_path):
    """pandas hands read-only arrays to the training loop; torch warned about them on every table run."""
    csv = tmp_path / "t.csv"
    csv.write_text("a,b,label\n" + "".join(f"{i},{i % 3},{i % 2}\n" for i in range(60)))
    env = {**os.environ, "TRUSTMAP_STORE": str(tmp_path / "s.sqlite")}
    proc = subprocess.run(
        [
            sys.executable,
            "-W",
            "error::UserWarning",
            "-m",
            "trustmap",
            "train",
            "--data",
            str(csv),
            "--label",
            "label",
            "--epochs",
            "1",
            "--out",
            str(tmp_path / "m.pt2"),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "UserWarning" not in proc.stderr


def test_train_and_eval_record_their_runs_in_the_library(tmp_path):
    """The workflows record themselves (the CLI only parses and prints): a Python caller gets the run."""
    from trustmap.models.workflows import evaluate_model, train_and_save
    from trustmap.store import ResultsStore

    store = ResultsStore.open(tmp_path / "s.sqlite")
    trained = train_and_save("digits", out=tmp_path / "m.pt2", arch="logreg", epochs=1, seed=3, store=store)
    rec = store.get_run(trained.run_id)
    assert rec.command == "train" and rec.status == "ok" and rec.seed == 3
    assert rec.model_sha256 == trained.model_sha256 and rec.metrics["test_accuracy"] == trained.test_accuracy
    evaluated = evaluate_model(tmp_path / "m.pt2", "digits", store=store)
    rec = store.get_run(evaluated.run_id)
    assert rec.command == "eval" and rec.metrics["accuracy"] == evaluated.accuracy and rec.dataset == "digits"
    assert train_and_save("digits", out=tmp_path / "n.pt2", arch="logreg", epochs=1).run_id == 0  # no store
    assert len(store.runs()) == 2


def test_runs_shows_a_killed_run_as_interrupted(capsys, tmp_path, monkeypatch):
    path = tmp_path / "s.sqlite"
    monkeypatch.setenv("TRUSTMAP_STORE", str(path))
    script = textwrap.dedent(f"""
        import time
        from trustmap.store import ResultsStore
        with ResultsStore.open({str(path)!r}).run("audit", args={{}}):
            print("started", flush=True)
            time.sleep(60)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "started"
    assert "running" in run_cli(capsys, "runs").out
    proc.kill()
    proc.wait(timeout=30)
    res = run_cli(capsys, "runs")
    assert res.code == 0 and "interrupted" in res.out and "running" not in res.out


def test_a_non_sqlite_store_is_refused_in_one_line(capsys, tmp_path, monkeypatch):
    path = tmp_path / "store.sqlite"
    path.write_bytes(b"x")
    monkeypatch.setenv("TRUSTMAP_STORE", str(path))
    assert "is not a results store" in error_line(run_cli(capsys, "runs"))
    assert path.read_bytes() == b"x"
