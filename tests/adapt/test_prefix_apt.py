"""Prefix tuning (P-Tuning v2) and APT mechanics on a tiny BERT, under both attention implementations."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from trustmap.adapt.apt import apply_apt, apt_modules, layer_scales
from trustmap.adapt.lora import count_trainable, freeze_except
from trustmap.adapt.prefix import PrefixSelfAttention, apply_prefix, prefix_modules

from .conftest import TinyClassifier


@pytest.mark.parametrize("attn", ["sdpa", "eager"])
def test_prefix_counts_shapes_and_padding(attn, batch):
    ids, _ = batch
    model = TinyClassifier(attn=attn)
    freeze_except(model)
    apply_prefix(model.encoder, length=5, seed=0)
    assert len(prefix_modules(model)) == 2
    assert count_trainable(model) == 2 * 2 * 5 * 32 + 32 * 2 + 2
    model.eval()
    out = model(ids)
    assert out.shape == (8, 2)
    # padding must not leak: the padded row gives the same output as the same text unpadded
    short = ids[3:4, :4]
    torch.testing.assert_close(model(short), out[3:4], atol=1e-5, rtol=1e-5)


def test_prefix_changes_the_model_and_trains_only_prefixes(batch):
    ids, y = batch
    model = TinyClassifier()
    model.eval()
    base = model(ids)
    freeze_except(model)
    apply_prefix(model.encoder, length=4, seed=0)
    assert not torch.allclose(model(ids), base)
    F.cross_entropy(model(ids), y).backward()
    with_grad = {n.rpartition(".")[2] for n, p in model.named_parameters() if p.grad is not None}
    assert with_grad == {"prefix_key", "prefix_value", "weight", "bias"}  # weight/bias: the head only
    assert all(p.grad is None for n, p in model.named_parameters() if not n.startswith("head") and "prefix" not in n)


def test_apt_parameter_count_matches_methods_md_at_minilm_size():
    """d=384, p=8: APT-8 adds d*p + 1 per layer -> 6 * 9,217 = 55,302 vs PT2-12's 6 * 9,216 = 55,296."""
    apt_one, pt_one = TinyClassifier(hidden=384, layers=1), TinyClassifier(hidden=384, layers=1)
    for m in (apt_one, pt_one):
        freeze_except(m, trainable=())
    apply_apt(apt_one.encoder, length=8)
    apply_prefix(pt_one.encoder, length=12)
    assert 6 * count_trainable(apt_one) == 55_302
    assert 6 * count_trainable(pt_one) == 55_296


def test_apt_gates_depend_on_input_and_scales_learn(batch):
    ids, y = batch
    model = TinyClassifier()
    freeze_except(model)
    apply_apt(model.encoder, length=4, seed=0)
    mods = apt_modules(model)
    assert all(isinstance(m, PrefixSelfAttention) for m in mods) and layer_scales(model) == [1.0, 1.0]
    model(ids)
    assert torch.allclose(mods[0].last_gate, torch.full((8, 4), 0.5))  # W = 0 at init
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=5e-2)
    for _ in range(5):
        opt.zero_grad()
        F.cross_entropy(model(ids), y).backward()
        opt.step()
    model(ids)
    gate = mods[0].last_gate
    assert gate.shape == (8, 4) and not torch.allclose(gate[0], gate[1])
    assert layer_scales(model) != [1.0, 1.0]
