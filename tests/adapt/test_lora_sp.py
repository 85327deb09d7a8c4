"""LoRA and LoRA-SP mechanics: zero initial update, merge, a fixed exact-half mask, no state for frozen entries."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from trustmap.adapt.lora import LoRALinear, apply_lora, count_trainable, freeze_except, lora_modules, merge_lora
from trustmap.adapt.lora_sp import SparseLoRALinear, apply_lora_sp, half_mask
from trustmap.utils.seed import torch_generator


def test_lora_starts_at_the_base_model_and_merges_exactly(tiny, batch):
    ids, y = batch
    tiny.eval()
    before = tiny(ids)
    freeze_except(tiny)
    names = apply_lora(tiny.encoder, targets=("query", "value"), r=4, alpha=8, seed=0)
    assert len(names) == 4 and all(isinstance(m, LoRALinear) for _, m in lora_modules(tiny))
    assert torch.equal(tiny(ids), before)  # B = 0
    assert count_trainable(tiny) == 4 * 4 * (32 + 32) + 32 * 2 + 2
    opt = torch.optim.AdamW([p for p in tiny.parameters() if p.requires_grad], lr=1e-2)
    for _ in range(3):
        opt.zero_grad()
        F.cross_entropy(tiny(ids), y).backward()
        opt.step()
    adapted = tiny(ids)
    assert not torch.allclose(adapted, before)
    assert merge_lora(tiny) == 4
    assert not list(lora_modules(tiny))
    torch.testing.assert_close(tiny(ids), adapted, atol=1e-5, rtol=1e-5)


def test_unknown_target_names_the_linear_layers(tiny):
    with pytest.raises(ValueError, match="query"):
        apply_lora(tiny.encoder, targets=("q_proj",))


@pytest.mark.parametrize("granularity", ["entry", "row"])
def test_half_mask_is_exact(granularity):
    m = half_mask((8, 32), granularity=granularity, generator=torch_generator(3))
    assert int(m.sum()) == 8 * 32 // 2
    if granularity == "row":
        assert all(bool(r.all()) or not bool(r.any()) for r in m)


def test_lora_sp_mask_fixed_half_and_no_optimizer_state_for_frozen_entries(tiny, batch):
    ids, y = batch
    freeze_except(tiny)
    apply_lora_sp(tiny.encoder, targets=("query", "value"), r=4, alpha=8, seed=0)
    layers = [m for _, m in lora_modules(tiny)]
    assert all(isinstance(m, SparseLoRALinear) for m in layers)
    snap = [(m.mask_A.clone(), m.mask_B.clone(), *(t.detach().clone() for t in m.factors())) for m in layers]
    for m in layers:
        assert int(m.mask_A.sum()) == m.A0.numel() // 2 and int(m.mask_B.sum()) == m.B0.numel() // 2
        assert m.num_free == m.num_total // 2
    params = [p for p in tiny.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-2)
    for _ in range(4):
        opt.zero_grad()
        F.cross_entropy(tiny(ids), y).backward()
        opt.step()
    state_ids = {id(p) for p in opt.state}
    assert state_ids == {id(p) for p in params}  # state only for packed active entries (and the head)
    for m in layers:
        assert m.active.numel() == m.num_total // 2
        assert opt.state[m.active]["exp_avg"].numel() == m.num_total // 2
        assert not m.A0.requires_grad and not m.B0.requires_grad
    changed_any = False
    for m, (ma, mb, a0, b0) in zip(layers, snap):
        assert torch.equal(m.mask_A, ma) and torch.equal(m.mask_B, mb)  # fixed
        a, b = m.factors()
        assert torch.equal(a[~ma], a0[~ma]) and torch.equal(b[~mb], b0[~mb])  # frozen entries never move
        assert torch.count_nonzero(b[~mb]) == 0  # frozen entries of B stay 0
        changed_any |= not torch.equal(b[mb], b0[mb])
    assert changed_any


def test_lora_sp_starts_from_loras_factors(tiny):
    other = type(tiny)()
    apply_lora(tiny.encoder, seed=5)
    apply_lora_sp(other.encoder, seed=5)
    for (_, a), (_, b) in zip(lora_modules(tiny), lora_modules(other)):
        assert torch.equal(a.lora_A, b.factors()[0])
    masks_a = [m.mask_A for _, m in lora_modules(other)]
    assert not torch.equal(masks_a[0], masks_a[1])  # each layer draws its own mask
