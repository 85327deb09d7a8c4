"""``trustmap sweep``: four models audited in parallel on a local Ray runtime, one comparative page,
resumed through the store, and a broken model reported in its own row."""

from __future__ import annotations

import json

import pytest

from tests.cli.helpers import run_cli

pytestmark = pytest.mark.xdist_group("ray")  # one Ray runtime at a time (--dist loadgroup)


@pytest.fixture(scope="module")
def zoo(tmp_path_factory):
    """Four digits models (two architectures, two seeds each), trained with member splits (~1 s each)."""
    from trustmap.models.workflows import train_and_save

    root = tmp_path_factory.mktemp("zoo")
    paths = []
    for arch in ("logreg", "mlp"):
        for seed in (0, 1):
            out = root / f"{arch}-{seed}.pt2"
            train_and_save("digits", out=out, arch=arch, epochs=3, seed=seed, member_fraction=0.5)
            paths.append(out)
    return paths


def test_sweep_audits_every_model_links_each_report_reports_failures_and_resumes(capsys, zoo, tmp_path):
    store = tmp_path / "store.sqlite"
    out = tmp_path / "sweep"
    bad = tmp_path / "broken.pt2"
    bad.write_bytes(b"not a model")
    args = [
        "--store",
        str(store),
        "sweep",
        *map(str, zoo),
        "--data",
        "digits",
        "--out",
        str(out),
        "--probes",
        "fgsm,mia-loss",
        "--workers",
        "2",
    ]
    res = run_cli(capsys, *args, str(bad))
    assert res.code == 1, res.err + res.out  # one model failed; the others are reported
    assert "Traceback" not in res.out + res.err
    doc = json.loads((out / "sweep.json").read_text())
    assert [m["name"] for m in doc["models"]] == ["logreg-0", "logreg-1", "mlp-0", "mlp-1", "broken"]
    assert [m["status"] for m in doc["models"]] == ["ok"] * 4 + ["failed"] and doc["models"][4]["error"]
    page = (out / "index.html").read_text()
    assert "failed:" in page
    for m in doc["models"][:4]:
        report = json.loads((out / m["name"] / "report.json").read_text())
        assert {p["probe"]: p["status"] for p in report["probes"]} == {"fgsm": "ok", "mia-loss": "ok"}
        assert report["data"]["n_members"] > 0  # the member files beside each model were used
        assert f'href="{m["name"]}/report.html"' in page
        assert m["grades"]["robustness"]["grade"] in "ABCDF"
    # a second sweep finds every probe in the store: same grades, and the audits say they resumed
    res2 = run_cli(capsys, *args)
    assert res2.code == 0, res2.err
    doc2 = json.loads((out / "sweep.json").read_text())
    assert [m["grades"] for m in doc2["models"]] == [m["grades"] for m in doc["models"][:4]]
    from trustmap.store import ResultsStore

    assert len(ResultsStore.open(store).runs(limit=1000, command="audit")) == 8


@pytest.mark.parametrize(
    "args",
    [
        ["sweep", "--data", "digits"],
        ["sweep", "missing.pt2", "--data", "digits"],
        ["sweep", "MODEL", "--data", "digits", "--workers", "0"],
    ],
)
def test_bad_sweeps_exit_2_and_write_nothing(capsys, zoo, tmp_path, monkeypatch, args):
    monkeypatch.chdir(tmp_path)
    args = [str(zoo[0]) if a == "MODEL" else a for a in args]
    res = run_cli(capsys, "--store", str(tmp_path / "s.sqlite"), *args, "--out", str(tmp_path / "out"))
    assert res.code == 2 and "Traceback" not in res.out + res.err
    assert not (tmp_path / "out").exists()
