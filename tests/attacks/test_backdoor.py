"""BadNets/blended triggers, poisoning and ``trustmap train --poison``."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.cli.helpers import run_cli
from trustmap.attacks import Trigger, apply_trigger, poison_split, poisoning
from trustmap.data.dataset import Split
from trustmap.errors import TrustmapError


def images(n: int = 40, seed: int = 0) -> Split:
    rng = np.random.default_rng(seed)
    return Split(rng.random((n, 1, 12, 12), dtype=np.float32), np.arange(n, dtype=np.int64) % 4)


def test_patch_changes_only_its_corner_and_matches_torch():
    x = images().x
    for position, (rows, cols) in {
        "bottom-right": (slice(7, 11), slice(7, 11)),
        "top-left": (slice(1, 5), slice(1, 5)),
    }.items():
        trig = Trigger("patch", size=4, position=position, pattern="solid", value=1.0)
        out = apply_trigger(x, trig)
        assert np.all(out[:, :, rows, cols] == 1.0)
        outside = np.ones(x.shape[1:], bool)
        outside[:, rows, cols] = False
        assert np.array_equal(out[:, outside], x[:, outside])
        assert torch.allclose(apply_trigger(torch.from_numpy(x), trig), torch.from_numpy(out))
    checker = apply_trigger(np.zeros((1, 1, 12, 12), np.float32), Trigger("patch", size=4))
    assert checker.sum() == 8  # half the 16 cells are lit


def test_blend_mixes_a_seeded_pattern():
    x = images().x
    a = apply_trigger(x, Trigger("blend", alpha=0.2, seed=1))
    b = apply_trigger(x, Trigger("blend", alpha=0.2, seed=1))
    c = apply_trigger(x, Trigger("blend", alpha=0.2, seed=2))
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    pattern = (a - 0.8 * x) / 0.2  # the same full-image pattern on every image
    assert np.allclose(pattern, pattern[:1], atol=1e-5) and pattern.min() >= -1e-5 and pattern.max() <= 1 + 1e-5


def test_poison_split_relabels_the_chosen_non_target_examples():
    split = images(40)
    out = poison_split(split, trigger=Trigger("patch"), target=3, rate=0.25, seed=0)
    assert len(out.indices) == 10 and np.all(split.y[out.indices] != 3)
    assert np.all(out.split.y[out.indices] == 3)
    rest = np.setdiff1d(np.arange(40), out.indices)
    assert np.array_equal(out.split.y[rest], split.y[rest]) and np.array_equal(out.split.x[rest], split.x[rest])
    assert not np.array_equal(out.split.x[out.indices], split.x[out.indices])
    assert split.y.tolist() == (np.arange(40) % 4).tolist()  # the input is not modified
    again = poison_split(split, trigger=Trigger("patch"), target=3, rate=0.25, seed=0)
    other = poison_split(split, trigger=Trigger("patch"), target=3, rate=0.25, seed=1)
    assert np.array_equal(again.indices, out.indices) and not np.array_equal(other.indices, out.indices)
    assert out.describe()["poisoned"] == 10 and out.describe()["target"] == 3


@pytest.mark.parametrize(
    "kw", [{"rate": 0.0}, {"rate": 1.0}, {"rate": float("nan")}, {"target": 4}, {"target": -1}, {"rate": 0.9}]
)
def test_poison_split_refuses_bad_options(kw):
    with pytest.raises(TrustmapError):
        poison_split(images(40), trigger=Trigger("patch"), **{"target": 1, "rate": 0.1, "seed": 0, **kw})


@pytest.mark.parametrize("kw", [{"kind": "dots"}, {"position": "middle"}, {"size": 0}, {"alpha": 0.0}, {"value": 2.0}])
def test_trigger_refuses_bad_options(kw):
    with pytest.raises(TrustmapError):
        Trigger(**kw)


def test_poisoning_option_checks():
    assert poisoning(None) is None
    with pytest.raises(TrustmapError, match="need --poison"):
        poisoning(None, target=3)
    with pytest.raises(TrustmapError):
        poisoning("stripes")
    with pytest.raises(TrustmapError):
        poisoning("patch", rate=1.5)
    p = poisoning("blend", target=2, seed=5)
    assert p is not None and p.rate == 0.1 and p.target == 2 and p.trigger.kind == "blend"


def test_train_poison_cli_records_the_poisoning(tmp_path, capsys):
    from trustmap.models.io import load_model

    out = tmp_path / "bd.pt2"
    r = run_cli(
        capsys,
        "train",
        "--data",
        "digits",
        "--arch",
        "cnn-s",
        "--epochs",
        "1",
        "--out",
        str(out),
        "--poison",
        "patch",
        "--poison-target",
        "3",
        "--poison-rate",
        "0.1",
    )
    assert r.code == 0, r.err
    poison = load_model(out).meta.extra["poison"]
    assert poison["kind"] == "patch" and poison["target"] == 3 and poison["rate"] == 0.1
    assert poison["poisoned"] == round(0.1 * 1437)


@pytest.mark.parametrize(
    "args",
    [
        ("--poison-target", "3"),
        ("--poison", "patch", "--poison-target", "10"),
        ("--poison", "dots"),
        ("--poison", "patch", "--poison-rate", "0"),
    ],
)
def test_train_poison_cli_refuses_bad_flags(tmp_path, capsys, args):
    out = tmp_path / "bd.pt2"
    r = run_cli(capsys, "train", "--data", "digits", "--arch", "cnn-s", "--epochs", "1", "--out", str(out), *args)
    assert r.code == 2 and "Traceback" not in r.out + r.err
    assert len((r.out + r.err).strip().splitlines()) == 1
    assert not out.exists()
