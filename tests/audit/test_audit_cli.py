"""`trustmap audit`: end to end on a small Fashion-MNIST model, resume, determinism and bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.cli.helpers import run_cli
from trustmap.models import save_model

FAST = "fgsm,pgd-linf,mia-loss,knockoff,robust-fairness"


@pytest.fixture(scope="module")
def audited(tmp_path_factory, small_cnn, fashion):
    """A saved small CNN plus member/non-member index files (members = its 6,000 training images)."""
    from trustmap.data import stratified_indices

    root = tmp_path_factory.mktemp("audit")
    model = save_model(small_cnn.module, root / "m.pt2", meta=small_cnn.meta)
    members = stratified_indices(fashion.train.y, 6000, seed=0)  # what the fixture trained on
    rest = np.setdiff1d(np.arange(len(fashion.train)), members)
    np.savez(root / "members.npz", indices=members)
    np.savez(root / "non.npz", indices=rest[:4000])
    return root, model


def _audit(capsys, root, model, out, *extra):
    return run_cli(
        capsys,
        "audit",
        "--model",
        str(model),
        "--data",
        "fashion-mnist",
        "--members",
        str(root / "members.npz"),
        "--nonmembers",
        str(root / "non.npz"),
        "--budget",
        "quick",
        "--out",
        str(out),
        *extra,
    )


def test_audit_writes_report_resumes_and_is_deterministic(capsys, audited, tmp_path):
    root, model = audited
    res = _audit(capsys, root, model, tmp_path / "a", "--probes", FAST)
    assert res.code == 0, res.err
    doc = json.loads((tmp_path / "a" / "report.json").read_text())
    assert doc["schema_version"] == "1.1"
    assert [p["probe"] for p in doc["probes"]] == FAST.split(",")
    assert {g["dimension"] for g in doc["scorecard"]} == {"privacy", "security", "fairness", "robustness"}
    assert all(p["status"] == "ok" for p in doc["probes"]), [p.get("reason") for p in doc["probes"]]
    # mend with: the model's own dataset and architecture, and PGD-AT for mean robustness (BAT: worst class)
    mends = {w["probe"]: (w["defence"], w["command"]) for w in doc["weaknesses"]}
    assert {"fgsm", "pgd-linf"} <= set(mends), doc["weaknesses"]
    for probe, (defence, command) in mends.items():
        assert "DATA" not in command and "ARCH" not in command and "MODEL" not in command, command
        if probe in ("fgsm", "pgd-linf"):
            assert defence == "pgd-at" and command == (
                "trustmap harden --method pgd-at --data fashion-mnist --arch cnn-s --out hardened.pt2"
            )
        if probe == "robust-fairness":
            assert defence == "bat"
        if probe == "mia-loss":
            assert f"--model {model}" in command
    assert all(p["directions"] and p["headline"] for p in doc["probes"])
    html = (tmp_path / "a" / "report.html").read_text()
    assert all(f'id="probe-{p}"' in html for p in FAST.split(","))

    # the same command again resumes every probe from the store and gives an identical JSON
    res = _audit(capsys, root, model, tmp_path / "b", "--probes", FAST)
    assert res.code == 0 and res.out.count("resumed from the store") == 5
    assert (tmp_path / "a" / "report.json").read_text() == (tmp_path / "b" / "report.json").read_text()

    # --fresh recomputes, and with the same seed the JSON is still identical
    res = _audit(capsys, root, model, tmp_path / "c", "--probes", FAST, "--fresh")
    assert res.code == 0 and "resumed" not in res.out
    assert (tmp_path / "a" / "report.json").read_text() == (tmp_path / "c" / "report.json").read_text()


def test_black_box_model_skips_white_box_probes(capsys, audited, tmp_path):
    root, model = audited
    res = _audit(capsys, root, model, tmp_path / "bb", "--probes", "pgd-linf,mia-loss", "--black-box")
    assert res.code == 0, res.err
    doc = json.loads((tmp_path / "bb" / "report.json").read_text())
    pgd, mia = doc["probes"]
    assert pgd["status"] == "skipped" and "gradients" in pgd["reason"]
    assert mia["status"] == "ok"


def test_membership_probes_skip_without_members(capsys, audited, tmp_path):
    _, model = audited
    res = run_cli(
        capsys,
        "audit",
        "--model",
        str(model),
        "--data",
        "fashion-mnist",
        "--budget",
        "quick",
        "--probes",
        "mia-loss",
        "--out",
        str(tmp_path / "r"),
    )
    assert res.code == 0, res.err
    (probe,) = json.loads((tmp_path / "r" / "report.json").read_text())["probes"]
    assert probe["status"] == "skipped" and "--members" in probe["reason"]


def _no_report(res, out) -> None:
    assert res.code == 2, res.err
    assert len(res.err.strip().splitlines()) == 1 and res.err.startswith("error:")
    assert not (out / "report.html").exists() and not (out / "report.json").exists()


def test_data_model_mismatch(capsys, audited, tmp_path):
    _, model = audited
    out = tmp_path / "r"
    _no_report(run_cli(capsys, "audit", "--model", str(model), "--data", "digits", "--out", str(out)), out)


def test_members_file_of_wrong_shape(capsys, audited, tmp_path):
    root, model = audited
    np.savez(tmp_path / "bad.npz", x=np.zeros((10, 1, 8, 8), np.float32), y=np.zeros(10, int))
    out = tmp_path / "r"
    res = run_cli(
        capsys,
        "audit",
        "--model",
        str(model),
        "--data",
        "fashion-mnist",
        "--members",
        str(tmp_path / "bad.npz"),
        "--nonmembers",
        str(root / "non.npz"),
        "--out",
        str(out),
    )
    _no_report(res, out)
    assert "shape" in res.err


def test_empty_dataset(capsys, audited, tmp_path):
    _, model = audited
    np.savez(tmp_path / "empty.npz", x=np.zeros((0, 1, 28, 28), np.float32), y=np.zeros(0, int))
    out = tmp_path / "r"
    res = run_cli(capsys, "audit", "--model", str(model), "--data", str(tmp_path / "empty.npz"), "--out", str(out))
    _no_report(res, out)
    assert "empty" in res.err


def test_unknown_probe_and_bad_config(capsys, audited, tmp_path):
    _, model = audited
    out = tmp_path / "r"
    res = run_cli(
        capsys, "audit", "--model", str(model), "--data", "fashion-mnist", "--probes", "nope", "--out", str(out)
    )
    _no_report(res, out)
    cfg = tmp_path / "c.toml"
    cfg.write_text("[probes.pgd-linf]\nstepz = 3\n")
    res = run_cli(
        capsys,
        "audit",
        "--model",
        str(model),
        "--data",
        "fashion-mnist",
        "--config",
        str(cfg),
        "--probes",
        "pgd-linf",
        "--out",
        str(out),
    )
    _no_report(res, out)
    assert "stepz" in res.err
