"""The defence registry: ``harden``/``unlearn`` dispatch through it, so a defence registered in a test is a
``--method`` choice at once, and an unknown method is one line listing the valid ids."""

from __future__ import annotations

import pytest

from tests.cli.helpers import run_cli
from trustmap.defenses import (
    DEFENCES,
    DefenceResult,
    Defended,
    HardenDefence,
    HardenJob,
    defence_ids,
    register_defence,
)
from trustmap.defenses.registry import UnlearnDefence, UnlearnJob

HARDEN = ["pgd-at", "trades", "frl-lite", "bat", "ini", "reverse-sigmoid", "top1", "dp-sgd"]
UNLEARN = ["sfr-on", "gradient-ascent", "finetune", "salun-lite", "retrain"]


class Untrained(HardenDefence):
    """A toy defence: the freshly initialised model, unchanged."""

    id = "toy-untrained"
    summary = "keeps the initial weights (a test defence)"

    def run(self, job: HardenJob) -> Defended:
        return Defended(
            job.model.eval(),
            DefenceResult(self.id, 0.0, 0, {"toy_train_size": float(len(job.train))}),
            meta={"toy": True},
        )


def test_every_builtin_defence_is_registered_with_its_kind():
    assert defence_ids("harden") == HARDEN and defence_ids("unlearn") == UNLEARN
    for name, cls in DEFENCES.items():
        assert cls.id == name and cls.summary and cls.kind in ("harden", "unlearn")


def test_a_toy_defence_registered_in_a_test_is_a_harden_method(capsys, tmp_path):
    from trustmap.models import load_model
    from trustmap.store import ResultsStore

    out = tmp_path / "toy.pt2"
    with DEFENCES.scoped():
        register_defence(Untrained)
        assert "toy-untrained" in defence_ids("harden") and "toy-untrained" not in defence_ids("unlearn")
        assert "toy-untrained" in run_cli(capsys, "harden", "--help").out
        res = run_cli(
            capsys,
            "harden",
            "--method",
            "toy-untrained",
            "--data",
            "fashion-mnist",
            "--arch",
            "logreg",
            "--train-size",
            "50",
            "--out",
            str(out),
        )
        assert res.code == 0, res.err
    meta = load_model(out).meta
    assert meta.arch == "logreg" and meta.extra == {"defence": "toy-untrained", "seed": 0, "toy": True}
    run = ResultsStore.open(None).runs(command="harden")[0]
    assert run.status == "ok" and run.metrics["toy_train_size"] == 50.0 and run.args["method"] == "toy-untrained"
    assert "toy-untrained" not in defence_ids()  # scoped: the toy does not leak into other tests


def test_an_unknown_method_is_exit_2_listing_the_valid_ids(capsys, tmp_path):
    res = run_cli(
        capsys, "harden", "--method", "toy-untrained", "--data", "fashion-mnist", "--out", str(tmp_path / "x.pt2")
    )
    assert res.code == 2 and "Traceback" not in res.err + res.out
    lines = [ln for ln in res.err.splitlines() if ln.strip()]
    assert len(lines) == 1 and "unknown harden method 'toy-untrained'; choose from " + ", ".join(HARDEN) in lines[0]
    assert not (tmp_path / "x.pt2").exists()
    # an unlearn method is not a harden method (and the reverse)
    res = run_cli(
        capsys,
        "unlearn",
        "--method",
        "bat",
        "--forget",
        "class:1",
        "--model",
        str(tmp_path / "m.pt2"),
        "--out",
        str(tmp_path / "u.pt2"),
    )
    assert res.code == 2 and "unknown unlearn method 'bat'; choose from " + ", ".join(UNLEARN) in res.err


class NoSummary(HardenDefence):
    id = "toy-no-summary"

    def run(self, job: HardenJob) -> Defended:
        raise AssertionError


class NoRun(UnlearnDefence):
    id = "toy-no-run"
    summary = "never runs"


class WrongId(UnlearnDefence):
    id = "toy-wrong"
    summary = "registered under another id"

    def run(self, job: UnlearnJob) -> Defended:
        raise AssertionError


@pytest.mark.parametrize(
    ("add", "match"),
    [
        (lambda: register_defence(NoSummary), "needs a one-line summary"),
        (lambda: register_defence(NoRun), "must override run"),
        (lambda: DEFENCES.add("toy-other", WrongId), "has id 'toy-wrong'"),
        (lambda: DEFENCES.add("toy-func", lambda job: None), "HardenDefence or UnlearnDefence"),
        (lambda: register_defence(type("Dup", (Untrained,), {"id": "bat"})), "already registered"),
    ],
)
def test_malformed_defences_are_refused(add, match):
    with DEFENCES.scoped(), pytest.raises(ValueError, match=match):
        add()
