"""relax-trigger (projection + conflict loss), its L-inf budget and mask, poisoning and the kernel ASR."""

import numpy as np
import pytest
import torch

from trustmap.attacks.kip_backdoor import (
    RelaxConfig,
    kernel_asr,
    patch_mask_pattern,
    poison_with,
    relax_trigger,
    trigger_losses,
)
from trustmap.data.distill import one_hot
from trustmap.errors import TrustmapError


def _images(n=120, classes=4, seed=0):
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(classes), n // classes)
    x = np.clip(rng.random((n, 1, 16, 16)) * 0.5 + y[:, None, None, None] * 0.1, 0, 1).astype(np.float32)
    return x, y


def test_relax_trigger_stays_in_its_mask_and_linf_budget_and_is_deterministic():
    x, y = _images()
    support = x[::12]
    cfg = RelaxConfig(size=6, budget=0.3, steps=8, clean_batch=20, poison_batch=4)
    trig = relax_trigger(x, y, support, y[::12], target=0, num_classes=4, config=cfg, seed=1)
    again = relax_trigger(x, y, support, y[::12], target=0, num_classes=4, config=cfg, seed=1)
    assert np.array_equal(trig.pattern, again.pattern) and trig.losses == again.losses and len(trig.losses) == 8
    inside = np.zeros((1, 16, 16), bool)
    inside[:, 9:15, 9:15] = True  # 6x6, 1 px from the bottom-right edges
    assert np.allclose(trig.mask[inside], 0.3) and not trig.mask[~inside].any()
    assert trig.pattern.min() >= 0 and trig.pattern.max() <= 1 and not trig.pattern[~inside].any()
    stamped = trig.apply(x)
    diff = np.abs(stamped - x)
    assert diff.max() <= 0.3 + 1e-6 and not diff[:, ~inside].any()
    assert all(np.isfinite(trig.losses)) and len(trig.conflict) == len(trig.projection) == 8


def test_projection_loss_vanishes_when_the_support_spans_the_batch():
    x, y = _images(40)
    xa, ya = torch.from_numpy(x[:30]).double(), one_hot(y[:30], 4)
    xb, yb = torch.from_numpy(x[30:]).double(), one_hot(np.zeros(10, int), 4)
    full = torch.cat([xa, xb]).reshape(40, -1)
    conflict, proj_full = trigger_losses(full, xa, ya, xb, yb)
    _, proj_small = trigger_losses(full[:4], xa, ya, xb, yb)
    assert conflict >= 0 and proj_full >= 0 and proj_full < 1e-3 * proj_small


def test_poison_with_shares_indices_across_triggers_and_asr_counts_non_target():
    x, y = _images()
    m2, p2 = patch_mask_pattern(2, (1, 16, 16))
    m4, p4 = patch_mask_pattern(4, (1, 16, 16))
    x2, y2, i2 = poison_with(x, y, mask=m2, pattern=p2, target=0, rate=0.1, seed=5)
    _, _, i4 = poison_with(x, y, mask=m4, pattern=p4, target=0, rate=0.1, seed=5)
    assert np.array_equal(i2, i4) and len(i2) == 12 and (y[i2] != 0).all() and (y2[i2] == 0).all()
    assert np.allclose(x2[i2][:, :, 13:15, 13:15], 1.0) and np.array_equal(np.delete(x2, i2, 0), np.delete(x, i2, 0))
    with pytest.raises(TrustmapError, match="fraction"):
        poison_with(x, y, mask=m2, pattern=p2, target=0, rate=1.5, seed=0)
    # a support made only of triggered target-class images: every triggered input is classified as the target
    support = np.concatenate([x2[i2][:8], x[y == 1][:2], x[y == 2][:2], x[y == 3][:2]])
    labels = np.array([0] * 8 + [1, 1, 2, 2, 3, 3])
    asr = kernel_asr(support, labels, x, y, mask=m2, pattern=p2, target=0, num_classes=4)
    assert 0.0 <= asr <= 1.0
    with pytest.raises(TrustmapError, match="budget"):
        RelaxConfig(budget=0.0)
