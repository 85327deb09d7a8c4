"""``trustmap harden`` and ``trustmap unlearn``: bad input is one line with exit code 2; good input saves a
model and records a run."""

import pytest
import torch

from tests.cli.helpers import run_cli


@pytest.fixture(scope="module")
def model_file(tmp_path_factory, fashion):
    from trustmap.models import build_model, save_model
    from trustmap.models.workflows import meta_for

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("m") / "logreg.pt2"
    save_model(
        build_model("logreg", input_shape=(1, 28, 28), num_classes=10),
        path,
        meta=meta_for(fashion, "logreg"),
    )
    return path


def _one_line_error(res, *words):
    assert res.code == 2, res
    lines = [ln for ln in res.err.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), res.err
    assert all(w in lines[0] for w in words), lines[0]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--method", "nope"], ["unknown harden method", "bat"]),
        (["--method", "bat", "--eps", "0"], ["--eps"]),
        (["--method", "bat", "--epochs", "0"], ["--epochs"]),
        (["--method", "ini", "--data", "no-such-data"], ["no-such-data"]),
        (["--method", "pgd-at", "--epsilon", "8"], ["--epsilon applies only to", "dp-sgd"]),
        (["--method", "dp-sgd", "--epsilon", "0"], ["--epsilon must be a positive number"]),
        (["--method", "dp-sgd", "--epsilon", "nan"], ["--epsilon must be a positive number"]),
    ],
)
def test_harden_bad_input(capsys, tmp_path, args, words):
    from trustmap.store import ResultsStore

    base = {"--data": "fashion-mnist", "--out": str(tmp_path / "h.pt2")}
    extra = [a for k, v in base.items() if k not in args for a in (k, v)]
    _one_line_error(run_cli(capsys, "harden", *args, *extra), *words)
    assert not (tmp_path / "h.pt2").exists()
    assert ResultsStore.open(None).runs() == []  # inputs are checked before a run is recorded


@pytest.mark.parametrize(
    ("method", "forget", "words"),
    [
        ("sfr-on", "class:42", ["class:42", "10 classes"]),
        ("sfr-on", "random:1.5", ["random:F"]),
        ("sfr-on", "everything", ["class:K"]),
        ("magic", "class:3", ["unknown unlearn method", "sfr-on"]),
    ],
)
def test_unlearn_bad_input(capsys, tmp_path, model_file, method, forget, words):
    res = run_cli(
        capsys,
        "unlearn",
        "--method",
        method,
        "--forget",
        forget,
        "--model",
        str(model_file),
        "--out",
        str(tmp_path / "u.pt2"),
    )
    _one_line_error(res, *words)


def test_unlearn_missing_model_is_one_line(capsys, tmp_path):
    res = run_cli(
        capsys,
        "unlearn",
        "--method",
        "sfr-on",
        "--forget",
        "class:3",
        "--model",
        str(tmp_path / "x.pt2"),
        "--out",
        str(tmp_path / "u.pt2"),
    )
    _one_line_error(res, "does not exist")


def test_unlearn_sfr_on_saves_and_records(capsys, tmp_path, model_file):
    from trustmap.models import load_model
    from trustmap.store import ResultsStore

    out = tmp_path / "u.pt2"
    res = run_cli(
        capsys,
        "unlearn",
        "--method",
        "sfr-on",
        "--forget",
        "class:3",
        "--model",
        str(model_file),
        "--out",
        str(out),
        "--steps",
        "5",
    )
    assert res.code == 0, res.err
    handle = load_model(out)
    assert handle.meta.extra["unlearned"] == "sfr-on" and handle.meta.extra["forget"] == "class:3"
    run = ResultsStore.open(None).runs(command="unlearn")[0]
    assert run.status == "ok" and "forget_accuracy" in run.metrics


def test_harden_pgd_at_and_top1_wrapper(capsys, tmp_path, model_file):
    from trustmap.models import load_model

    out = tmp_path / "h.pt2"
    res = run_cli(
        capsys,
        "harden",
        "--method",
        "pgd-at",
        "--data",
        "fashion-mnist",
        "--arch",
        "logreg",
        "--train-size",
        "100",
        "--epochs",
        "1",
        "--out",
        str(out),
    )
    assert res.code == 0, res.err
    assert load_model(out).meta.extra["defence"] == "pgd-at"
    wrapped = tmp_path / "t.pt2"
    res = run_cli(
        capsys,
        "harden",
        "--method",
        "top1",
        "--data",
        "fashion-mnist",
        "--model",
        str(model_file),
        "--out",
        str(wrapped),
    )
    assert res.code == 0, res.err
    probs = torch.softmax(
        torch.from_numpy(load_model(wrapped).predict(torch.rand(4, 1, 28, 28).numpy())),
        1,
    )
    assert torch.allclose(probs.max(1).values, torch.ones(4))
