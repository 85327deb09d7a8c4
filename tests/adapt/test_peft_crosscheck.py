"""Our LoRA against Hugging Face PEFT's LoRA: same trainable parameters, same training trajectory."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F

from trustmap.adapt.lora import apply_lora, count_trainable, freeze_except, lora_modules

from .conftest import TinyClassifier

peft = pytest.importorskip("peft")


def peft_model(model: TinyClassifier, r: int) -> TinyClassifier:
    cfg = peft.LoraConfig(r=r, lora_alpha=2 * r, target_modules=["query", "value"], lora_dropout=0.0)
    model.encoder = peft.get_peft_model(model.encoder, cfg)
    for p in model.head.parameters():
        p.requires_grad_(True)
    return model


def test_same_count_and_same_training_as_peft(batch):
    ids, y = batch
    ours, theirs = TinyClassifier(), peft_model(TinyClassifier(), r=4)
    freeze_except(ours)
    apply_lora(ours.encoder, targets=("query", "value"), r=4, alpha=8, seed=0)
    assert count_trainable(ours) == count_trainable(theirs)
    # start from PEFT's factors, then train both identically: the logits must agree step by step
    peft_layers = [m for m in theirs.modules() if hasattr(m, "lora_A") and isinstance(m.lora_A, torch.nn.ModuleDict)]
    for (_, mine), other in zip(lora_modules(ours), peft_layers, strict=True):
        with torch.no_grad():
            mine.lora_A.copy_(other.lora_A["default"].weight)
            mine.lora_B.copy_(other.lora_B["default"].weight)
    theirs.head.load_state_dict(ours.head.state_dict())
    opts = [torch.optim.AdamW([p for p in m.parameters() if p.requires_grad], lr=1e-2) for m in (ours, theirs)]
    for _ in range(5):
        for m, opt in zip((ours, theirs), opts):
            opt.zero_grad()
            F.cross_entropy(m(ids), y).backward()
            opt.step()
    torch.testing.assert_close(ours(ids), theirs(ids), atol=1e-5, rtol=1e-4)


def test_minilm_trainable_count_matches_peft():
    from trustmap.adapt.minilm import fresh_minilm

    ours = fresh_minilm(seed=0)
    theirs = copy.deepcopy(ours)
    freeze_except(ours)
    apply_lora(ours.encoder, targets=("query", "value"), r=8, alpha=16)
    cfg = peft.LoraConfig(r=8, lora_alpha=16, target_modules=["query", "value"])
    enc = peft.get_peft_model(theirs.encoder, cfg)
    n_peft, _ = enc.get_nb_trainable_parameters()
    assert count_trainable(ours) - 770 == n_peft == 73_728  # 770 = our head (384 * 2 + 2)
