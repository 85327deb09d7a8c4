"""LDA prototype heads: CosFace reduction, margin, APS pruning, few-shot prototypes and centroid update."""

from __future__ import annotations

import torch

from trustmap.models.lda_fas import PrototypeHead, SoftmaxHead, SpoofNet


def test_single_prototype_head_scores_are_scaled_cosines():
    torch.manual_seed(0)
    head = PrototypeHead(classes=2, per_class=1, dim=8, scale=16.0)
    z = torch.randn(5, 8)
    cos = torch.nn.functional.normalize(z, dim=1) @ torch.nn.functional.normalize(head.weight[:, 0], dim=1).T
    assert torch.allclose(head(z), 16.0 * cos, atol=1e-5)
    y = torch.zeros(5, dtype=torch.long)
    no_margin = PrototypeHead(classes=2, per_class=1, dim=8, margin=0.0)
    no_margin.weight.data = head.weight.data.clone()
    assert head.loss(z, y) > no_margin.loss(z, y)  # the margin makes the true class harder


def test_aps_prunes_unused_prototypes_and_few_shot_prototype_wins_its_samples():
    torch.manual_seed(0)
    head = PrototypeHead(classes=2, per_class=3, dim=4)
    head.weight.data = torch.eye(4)[[0, 1, 2, 3, 2, 1]].reshape(2, 3, 4)
    z = torch.cat([torch.eye(4)[[0]].repeat(10, 1), torch.eye(4)[[3]].repeat(10, 1)])
    y = torch.tensor([0] * 10 + [1] * 10)
    assert head.prune(z, y) == 4 and head.prototypes_alive == [1, 1]
    new = torch.tensor([[0.0, 0.0, 0.0, 0.0]]) + torch.tensor([0.0, 1.0, 1.0, 0.0])
    before = head(new)
    head.add_prototype(1, new.repeat(3, 1))
    assert head.prototypes_alive == [1, 2] and head(new)[0, 1] > before[0, 1]
    cos = PrototypeHead(classes=2, per_class=1, dim=4)
    cos.weight.data = torch.eye(4)[[0, 3]].reshape(2, 1, 4)
    cos.centroid_update(1, torch.eye(4)[[1]])
    assert torch.allclose(cos.weight.data[1, 0], torch.tensor([0.0, 1.0, 0.0, 1.0]) / 2**0.5)


def test_spoof_net_shapes_and_trains_both_heads():
    x = torch.rand(6, 1, 25, 25)
    for head in (SoftmaxHead(classes=2, dim=64), PrototypeHead(classes=2, per_class=5, dim=64)):
        net = SpoofNet(head)
        assert net(x).shape == (6, 2) and net.embed(x).shape == (6, 64)
        loss = net.loss(x, torch.tensor([0, 1] * 3))
        loss.backward()
        assert torch.isfinite(loss) and net.trunk.net[0].weight.grad is not None
