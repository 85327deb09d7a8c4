"""DP-SGD on Opacus: the accountant's epsilon, determinism, and that a private model exports and loads."""

from __future__ import annotations

import json
import math

import pytest
import torch

from trustmap.data import stratified_indices
from trustmap.defenses.dp_sgd import DPConfig, dp_sgd
from trustmap.errors import TrustmapError
from trustmap.models import build_model


@pytest.fixture(scope="module")
def members(fashion):
    return fashion.train.subset(stratified_indices(fashion.train.y, 300, seed=0))


def test_spent_epsilon_meets_the_target_and_noise_grows_as_epsilon_shrinks(members):
    net = build_model("cnn-s", input_shape=(1, 28, 28), num_classes=10, seed=0)
    loose = dp_sgd(net, members, config=DPConfig(epsilon=8.0, epochs=1, batch_size=100), seed=0)
    tight = dp_sgd(net, members, config=DPConfig(epsilon=1.0, epochs=1, batch_size=100), seed=0)
    for out, target in ((loose, 8.0), (tight, 1.0)):
        m = out.result.metrics
        assert 0.8 * target < m["epsilon"] <= target + 1e-6
        assert m["delta"] == pytest.approx(1 / 3000)
        assert math.isclose(m["sample_rate"], 100 / 300)
    assert tight.result.metrics["noise_multiplier"] > 2 * loose.result.metrics["noise_multiplier"]
    assert len(tight.result.history) == 1 and tight.result.history[0]["epsilon"] <= 1.0 + 1e-6


def test_same_seed_same_weights_and_the_input_model_is_untouched(members):
    net = build_model("cnn-s", input_shape=(1, 28, 28), num_classes=10, seed=0)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    a = dp_sgd(net, members, config=DPConfig(epsilon=4.0, epochs=1, batch_size=100), seed=3)
    b = dp_sgd(net, members, config=DPConfig(epsilon=4.0, epochs=1, batch_size=100), seed=3)
    c = dp_sgd(net, members, config=DPConfig(epsilon=4.0, epochs=1, batch_size=100), seed=4)
    sa, sb, sc = a.model.state_dict(), b.model.state_dict(), c.model.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert any(not torch.equal(sa[k], sc[k]) for k in sa)
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())


def test_batch_norm_is_replaced_and_the_private_model_saves_and_loads(members, tmp_path, fashion):
    from trustmap.models import load_model, save_model
    from trustmap.models.workflows import meta_for

    net = build_model("cnn", input_shape=(1, 28, 28), num_classes=10, seed=0)
    out = dp_sgd(net, members, config=DPConfig(epsilon=8.0, epochs=1, batch_size=150), seed=0)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in out.model.modules())
    save_model(out.model, tmp_path / "dp.pt2", meta=meta_for(fashion, "cnn"))
    handle = load_model(tmp_path / "dp.pt2")
    x = members.x[:5]
    with torch.no_grad():
        expected = out.model(torch.from_numpy(x)).numpy()
    assert handle.predict(x) == pytest.approx(expected, abs=1e-4)


@pytest.mark.parametrize(
    "bad",
    [
        {"epsilon": 0.0},
        {"epsilon": -1.0},
        {"epsilon": math.nan},
        {"epsilon": math.inf},
        {"delta": 1.5},
        {"epochs": 0},
        {"lr": 0.0},
    ],
)
def test_bad_options_are_one_line_errors(bad):
    with pytest.raises(TrustmapError):
        DPConfig(**bad)


def test_harden_dp_sgd_reports_epsilon_and_the_mia_before_and_after(tmp_path, capsys):
    """``trustmap harden --method dp-sgd``: the spent epsilon and the membership attack on the same model
    trained without privacy (before) and with it (after) are printed, recorded and kept in the model file,
    and the audit report of the private model shows its privacy budget."""
    from tests.cli.helpers import run_cli
    from trustmap.models import load_model
    from trustmap.store import ResultsStore

    out = tmp_path / "private.pt2"
    res = run_cli(
        capsys,
        "harden",
        "--method",
        "dp-sgd",
        "--epsilon",
        "2",
        "--data",
        "fashion-mnist",
        "--arch",
        "mlp",
        "--train-size",
        "400",
        "--epochs",
        "2",
        "--out",
        str(out),
    )
    assert res.code == 0, res
    assert "epsilon=" in res.out and "mia_auc_before=" in res.out and "mia_auc_after=" in res.out
    (run,) = ResultsStore.open(None).runs()
    assert 1.5 < run.metrics["epsilon"] <= 2.0 + 1e-6
    assert 0.0 <= run.metrics["mia_auc_after"] <= 1.0 and 0.0 <= run.metrics["mia_auc_before"] <= 1.0
    # 400 members trained twice as long without privacy leak more than DP-SGD at epsilon 2 does
    assert run.metrics["mia_auc_before"] > run.metrics["mia_auc_after"]
    meta = load_model(out).meta.extra
    assert meta["defence"] == "dp-sgd" and meta["epsilon"] == pytest.approx(run.metrics["epsilon"])
    audit = tmp_path / "audit"
    res = run_cli(
        capsys, "audit", "--model", str(out), "--data", "fashion-mnist", "--probes", "fgsm", "--out", str(audit)
    )
    assert res.code == 0, res
    report = json.loads((audit / "report.json").read_text())
    assert report["model"]["defence"] == "dp-sgd" and report["model"]["epsilon"] == pytest.approx(meta["epsilon"])
    assert "Privacy ε" in (audit / "report.html").read_text()
