"""BadDiffusion poisoning keeps the trigger on the poisoned marginal; Elijah's pieces behave as specified."""

import numpy as np
import pytest
import torch

from trustmap.diffusion.backdoor import (
    Poison,
    box_trigger,
    elijah_remove,
    finetune_ddpm,
    hit_rate,
    invert_trigger,
    poisoned_batch,
    scan_backdoor,
    total_variation,
    uniformity,
)
from trustmap.diffusion.data import fm_images, to_pixels
from trustmap.diffusion.model import noise_scheduler
from trustmap.errors import DataError, TrustmapError


def test_box_trigger_marks_only_the_bottom_right_patch():
    r = box_trigger(14, patch=3)
    assert r.shape == (1, 14, 14) and float(r.sum()) == 9.0 and float(r[0, -1, -1]) == 1.0 and float(r[0, 0, 0]) == 0
    with pytest.raises(TrustmapError):
        box_trigger(14, patch=0)
    with pytest.raises(TrustmapError):
        Poison(r, r, rate=0.0)


@pytest.mark.parametrize("t", [1, 10, 500, 999])
def test_poisoned_target_keeps_the_ddpm_mean_on_the_poisoned_marginal(tiny_models, t):
    # BadDiffusion's coefficient: a DDPM step fed the poisoned eps target moves x'_t to the mean of x'_{t-1}
    model = tiny_models[False]
    sched = noise_scheduler(model.config)
    g = torch.Generator().manual_seed(0)
    y, r = torch.rand(1, 14, 14, generator=g) * 2 - 1, box_trigger(14)
    noise = torch.randn(1, 1, 14, 14, generator=g)
    tt = torch.tensor([t])
    x_t, eps = poisoned_batch(model, y, r, tt, noise)
    a, ab, ab_prev = sched.alphas[t], sched.alphas_cumprod[t], sched.alphas_cumprod[t - 1]
    mean = (x_t - (1 - a) / (1 - ab).sqrt() * eps) / a.sqrt()
    expected = ab_prev.sqrt() * y + (1 - ab_prev.sqrt()) * r
    noise_part = mean - expected  # what is left is the clean posterior's noise term, with no trigger in it
    clean_x, clean_eps = poisoned_batch(model, y, torch.zeros_like(r), tt, noise)
    clean_mean = (clean_x - (1 - a) / (1 - ab).sqrt() * clean_eps) / a.sqrt()
    assert torch.allclose(noise_part, clean_mean - ab_prev.sqrt() * y, atol=1e-4)
    assert torch.allclose(clean_eps, noise)


def test_uniformity_is_zero_for_identical_images_and_larger_for_random_ones():
    same = np.repeat(np.full((1, 1, 14, 14), 0.3, np.float32), 16, axis=0)
    rand = np.random.default_rng(0).random((16, 1, 14, 14)).astype(np.float32)
    assert uniformity(same) == pytest.approx(0.0, abs=1e-6)
    assert uniformity(rand) > 0.3  # RMS distance of independent U(0, 1) pixels is 1/sqrt(6)
    assert total_variation(same) == 0.0 and total_variation(rand) > 0
    with pytest.raises(DataError):
        uniformity(rand[:5])


def test_hit_rate_counts_samples_near_the_target():
    target = torch.full((1, 14, 14), -1.0)
    target[:, 4:10, 6:8] = 1.0
    pix = np.repeat(to_pixels(target.numpy())[None], 4, axis=0)
    pix[2:] = 1.0 - pix[2:]
    assert hit_rate(pix, target) == 0.5


def test_finetune_copies_is_deterministic_and_refuses_conditional_models(tiny_models):
    model = tiny_models[False]
    x, _ = fm_images(14, n=64)
    before = [p.clone() for p in model.unet.parameters()]
    poison = Poison(box_trigger(14), torch.zeros(1, 14, 14), rate=0.25)
    a = finetune_ddpm(model, x, poison=poison, steps=3, batch_size=8, seed=1)
    b = finetune_ddpm(model, x, poison=poison, steps=3, batch_size=8, seed=1)
    assert all(torch.equal(p, q) for p, q in zip(model.unet.parameters(), before))
    assert all(torch.equal(p, q) for p, q in zip(a.unet.parameters(), b.unet.parameters()))
    assert any(not torch.equal(p, q) for p, q in zip(a.unet.parameters(), before))
    with pytest.raises(TrustmapError):
        finetune_ddpm(tiny_models[True], x, steps=1)
    with pytest.raises(DataError):
        finetune_ddpm(model, x[:, :, :7], steps=1)


def test_inversion_scan_and_removal_run_and_repeat(tiny_models):
    model = tiny_models[False]
    tau = invert_trigger(model, n=8, iters=3, seed=2)
    assert tau.shape == (1, 14, 14) and torch.isfinite(tau).all()
    assert torch.equal(tau, invert_trigger(model, n=8, iters=3, seed=2))
    scan = scan_backdoor(model, threshold=1.0, trigger=tau, n_samples=12, steps=2)
    assert scan.flagged == (scan.uniformity < 1.0) and scan.uniformity > 0
    x, _ = fm_images(14, n=32)
    fixed = elijah_remove(model, tau, x, steps=2, batch_size=8)
    assert any(not torch.equal(p, q) for p, q in zip(fixed.unet.parameters(), model.unet.parameters()))
    assert not any(p.requires_grad for p in fixed.unet.parameters())
    with pytest.raises(TrustmapError):
        scan_backdoor(tiny_models[True], threshold=0.1)
