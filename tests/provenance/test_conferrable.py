"""Conferrable adversarial examples (arXiv 1912.00888): a KnockoffNets copy keeps the fingerprint, an
independently trained model does not, and ModelDiff's DDV alone cannot tell them apart."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from trustmap.errors import TrustmapError
from trustmap.models import TrainConfig, build_model, fit
from trustmap.probes.extraction.knockoff import train_thief
from trustmap.provenance.conferrable import cae_accuracy, make_fingerprint, verify


def _queries(x: np.ndarray, seed: int) -> np.ndarray:
    """Out-of-task images of the same shape: digits with their 2x2 blocks shuffled (a thief's natural pool)."""
    rng = np.random.default_rng(seed)
    blocks = x.reshape(len(x), 1, 4, 2, 4, 2).transpose(0, 1, 2, 4, 3, 5).reshape(len(x), 16, 4)
    out = np.stack([b[rng.permutation(16)] for b in blocks])
    return out.reshape(len(x), 1, 4, 4, 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(x.shape).astype(np.float32)


def _train(arch: str, x, y, seed: int) -> torch.nn.Module:
    from trustmap.data.dataset import Split

    model = build_model(arch, input_shape=(1, 8, 8), num_classes=10, seed=seed)
    fit(model, Split(x, y), config=TrainConfig(epochs=5, batch_size=64, lr=3e-3), seed=seed, progress=False)
    return model.eval()


@pytest.fixture(scope="module")
def setup():
    from trustmap.data import load_dataset

    ds = load_dataset("digits")
    x, y = ds.train.x, ds.train.y
    source = _train("cnn-s", x, y, 0)
    q = np.concatenate([_queries(x, 1), _queries(x, 2)])
    with torch.no_grad():
        hard = source(torch.from_numpy(q)).argmax(1).numpy()
    stolen = train_thief(
        build_model("mlp", input_shape=(1, 8, 8), num_classes=10, seed=5),
        q,
        hard,
        soft=False,
        seed=5,
        config=TrainConfig(epochs=6, batch_size=64, lr=3e-3),
    )
    independent = {"same-arch": _train("cnn-s", x, y, 7), "thief-arch": _train("mlp", x, y, 8)}
    fp = make_fingerprint(
        source,
        train_x=x,
        train_y=y,
        seeds_x=ds.test.x,
        seeds_y=ds.test.y,
        query_x=_queries(ds.test.x, 3),
        n=60,
        epochs=4,
        steps=20,
        value_range=(0.0, 1.0),
        seed=0,
    )
    return {"ds": ds, "source": source, "stolen": stolen, "independent": independent, "fp": fp}


def test_stolen_copy_keeps_the_fingerprint_independent_models_do_not(setup):
    fp, stolen = setup["fp"], setup["stolen"]
    assert cae_accuracy(fp, setup["source"]) == 1.0
    copy_score = cae_accuracy(fp, stolen)
    for name, model in setup["independent"].items():
        assert copy_score > cae_accuracy(fp, model) + 0.1, name
    assert fp.surrogate_accuracy > fp.reference_accuracy
    assert verify(fp, stolen).stolen
    assert not any(verify(fp, m).stolen for m in setup["independent"].values())


def test_fingerprint_shapes_and_determinism(setup):
    fp, ds = setup["fp"], setup["ds"]
    assert fp.inputs.shape == (60, 1, 8, 8) and fp.labels.shape == (60,)
    assert float(fp.inputs.min()) >= 0.0 and float(fp.inputs.max()) <= 1.0
    res = verify(fp, setup["stolen"]).to_dict()
    assert set(res) >= {"cae_accuracy", "threshold", "stolen", "n_fingerprints"}
    with pytest.raises(TrustmapError, match="at least"):
        make_fingerprint(
            setup["source"], train_x=ds.train.x[:5], train_y=ds.train.y[:5], seeds_x=ds.test.x, seeds_y=ds.test.y
        )
