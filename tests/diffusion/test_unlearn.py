"""Class forgetting: every method changes a copy, deterministically; bad input is refused."""

import numpy as np
import pytest
import torch

from trustmap.diffusion.data import fm_images, to_model_range
from trustmap.diffusion.unlearn import ForgetConfig, diffusion_fisher, forget_class
from trustmap.errors import DataError, TrustmapError

CFG = ForgetConfig(steps=3, batch_size=8, fisher_batches=2)


@pytest.mark.parametrize("method", ["sfr-on", "ga", "ft"])
def test_each_method_changes_a_copy_deterministically(tiny_models, method):
    model = tiny_models[True]
    x, y = fm_images(14, n=128)
    before = [p.clone() for p in model.unet.parameters()]
    a, info = forget_class(model, x, y, forget=1, method=method, config=CFG, seed=3)
    b, _ = forget_class(model, x, y, forget=1, method=method, config=CFG, seed=3)
    assert all(torch.equal(p, q) for p, q in zip(model.unet.parameters(), before))
    assert all(torch.equal(p, q) for p, q in zip(a.unet.parameters(), b.unet.parameters()))
    assert any(not torch.equal(p, q) for p, q in zip(a.unet.parameters(), before))
    assert ("forget_loss" in info) == (method != "ft") and ("remain_loss" in info) == (method != "ga")
    if method == "sfr-on":
        assert 0 < info["mask_density"] < 1


def test_fisher_is_nonnegative_and_shaped_like_the_weights(tiny_models):
    model = tiny_models[True]
    x, y = fm_images(14, n=32)
    f = diffusion_fisher(
        model,
        torch.from_numpy(to_model_range(x)),
        torch.from_numpy(y),
        batches=2,
        batch_size=8,
        g=torch.Generator().manual_seed(0),
    )
    params = dict(model.unet.named_parameters())
    assert set(f) == set(params) and all(f[n].shape == params[n].shape and (f[n] >= 0).all() for n in f)
    assert sum(float(v.sum()) for v in f.values()) > 0


def test_bad_input_is_refused(tiny_models):
    x, y = fm_images(14, n=64)
    with pytest.raises(TrustmapError):
        forget_class(tiny_models[True], x, y, forget=1, method="retrain", config=CFG)
    with pytest.raises(TrustmapError):
        forget_class(tiny_models[False], x, y, forget=1, config=CFG)
    with pytest.raises(DataError):
        forget_class(tiny_models[True], x, np.where(y == 1, 0, y), forget=1, config=CFG)
    with pytest.raises(DataError):
        forget_class(tiny_models[True], x, y[:10], forget=1, config=CFG)
    with pytest.raises(TrustmapError):
        ForgetConfig(steps=0)
