"""ViTCN parts: shapes, parameter matching, and the contrast module's permutation behaviour."""

from __future__ import annotations

import torch

from trustmap.models.vitcn import ContrastReasoner, PanelCNN, PanelViT, parameter_count


def test_shapes_and_parameter_matching():
    torch.manual_seed(0)
    vit, cnn = ContrastReasoner(PanelViT()), ContrastReasoner(PanelCNN(width=48))
    x = torch.rand(2, 16, 20, 20)
    assert vit(x).shape == (2, 8) and cnn(x).shape == (2, 8)
    assert abs(parameter_count(cnn) / parameter_count(vit) - 1) < 0.2


def test_scores_follow_the_candidates_when_they_are_permuted():
    torch.manual_seed(0)
    for model in (ContrastReasoner(PanelViT(layers=1)), ContrastReasoner(PanelViT(layers=1), contrast=False)):
        model.eval()
        x = torch.rand(1, 16, 20, 20)
        perm = torch.randperm(8)
        shuffled = torch.cat([x[:, :8], x[:, 8:][:, perm]], 1)
        assert torch.allclose(model(shuffled), model(x)[:, perm], atol=1e-5)


def test_contrast_scores_ignore_a_shift_shared_by_all_candidates():
    torch.manual_seed(0)
    model = ContrastReasoner(PanelCNN(width=8)).eval()
    x = torch.rand(1, 16, 20, 20)
    s = model(x)
    assert torch.isfinite(s).all()
    # identical candidates: the contrast residual is zero, so all scores tie
    same = torch.cat([x[:, :8], x[:, 8:9].expand(-1, 8, -1, -1)], 1)
    assert torch.allclose(model(same), model(same)[:, :1].expand(-1, 8), atol=1e-6)
