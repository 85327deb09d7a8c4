"""InI's four defence loss terms (plus the benign CE), its OOD set and the output-perturbation baselines."""

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from trustmap.defenses.ini import INIConfig, defender_ood, ini, ini_terms, kl, logit_l1
from trustmap.defenses.perturbation import ReverseSigmoid, TopOne, tune_reverse_sigmoid
from trustmap.models import build_model


def _pair():
    torch.manual_seed(0)
    v = build_model("logreg", input_shape=(1, 8, 8), num_classes=5)
    s = build_model("logreg", input_shape=(1, 8, 8), num_classes=5)
    g = torch.Generator().manual_seed(0)
    return (
        v,
        s,
        torch.rand(16, 1, 8, 8, generator=g),
        torch.randint(0, 5, (16,), generator=g),
        torch.rand(16, 1, 8, 8, generator=g),
    )


def test_logit_l1_is_zero_when_clone_matches_centred_log_probs():
    v = torch.randn(4, 5)
    lp = F.log_softmax(v, 1)
    assert logit_l1(v, lp - lp.mean(1, keepdim=True)).item() == pytest.approx(0.0, abs=1e-6)
    assert logit_l1(v, torch.zeros(4, 5)).item() > 0


def test_terms_match_their_definitions():
    v, s, x, y, xo = _pair()
    t = ini_terms(v, s, x, y, xo)
    assert t["benign"].item() == pytest.approx(F.cross_entropy(v(x), y).item(), rel=1e-5)
    assert t["id"].item() == pytest.approx(-logit_l1(v(x), s(x)).item(), rel=1e-5)
    assert t["ood"].item() == pytest.approx(logit_l1(v(xo), s(xo)).item(), rel=1e-5)
    # isolation: cosine between the clone's distillation and true-label parameter gradients
    g1 = torch.cat([g.flatten() for g in torch.autograd.grad(kl(s(x), v(x)), list(s.parameters()))])
    g2 = torch.cat([g.flatten() for g in torch.autograd.grad(F.cross_entropy(s(x), y), list(s.parameters()))])
    assert t["isolation"].item() == pytest.approx(F.cosine_similarity(g1, g2, dim=0).item(), rel=1e-4)
    g3 = torch.cat([g.flatten() for g in torch.autograd.grad(kl(s(xo), v(xo)), list(s.parameters()))])
    assert t["induction"].item() == pytest.approx(g3.abs().mean().item(), rel=1e-4)
    ent = ini_terms(v, s, x, y, xo, ood_loss="entropy")["ood"]
    p = F.softmax(v(xo), 1)
    assert ent.item() == pytest.approx((p * p.log()).sum(1).mean().item(), rel=1e-5)


@pytest.mark.parametrize("term", ["id", "ood", "isolation", "induction"])
def test_each_term_trains_the_victim_through_the_clone(term):
    v, s, x, y, xo = _pair()
    t = ini_terms(v, s, x, y, xo)[term]
    grads = torch.autograd.grad(t, list(v.parameters()), allow_unused=True)
    assert any(g is not None and g.abs().sum() > 0 for g in grads)  # double backward reaches V's weights


def test_defender_ood_permutes_pixels_and_adds_digits(tiny):
    ood = defender_ood(tiny.x, n_permuted=50, seed=0)
    assert ood.shape == (50 + 1797, 1, 28, 28) and ood.dtype == np.float32
    assert 0.0 <= ood.min() and ood.max() <= 1.0
    # each permuted image keeps its pixel values (a permutation), but not their places
    assert any(np.allclose(np.sort(ood[0].ravel()), np.sort(im.ravel())) for im in tiny.x)
    assert not any(np.allclose(ood[0], im) for im in tiny.x)


def test_ini_adds_nothing_at_inference_and_leaves_the_input(logreg, tiny):
    before = copy.deepcopy(logreg.state_dict())
    out = ini(
        logreg,
        tiny,
        ood=defender_ood(tiny.x, n_permuted=100, digits=False),
        config=INIConfig(epochs=1, batch_size=100),
    )
    assert type(out.model) is type(logreg) and out.result.extra_parameters == 0
    assert sum(p.numel() for p in out.model.parameters()) == sum(p.numel() for p in logreg.parameters())
    assert all(torch.equal(before[k], v) for k, v in logreg.state_dict().items())
    assert {
        "mean_isolation",
        "mean_induction",
        "mean_id",
        "mean_ood",
        "mean_benign",
    } <= set(out.result.metrics)


def test_perturbation_wrappers_keep_top1(logreg, tiny):
    x = torch.from_numpy(tiny.x[:100])
    beta = tune_reverse_sigmoid(logreg, x)
    assert beta > 0
    p = ReverseSigmoid(logreg, beta=beta)(x).softmax(1)
    assert torch.allclose(p.sum(1), torch.ones(100), atol=1e-5)
    assert torch.equal(p.argmax(1), logreg(x).argmax(1))
    assert not torch.allclose(p, logreg(x).softmax(1), atol=1e-3)  # it really perturbs
    one = TopOne(logreg)(x).softmax(1)
    assert torch.equal(one.argmax(1), logreg(x).argmax(1)) and torch.allclose(one.max(1).values, torch.ones(100))


def test_defaults_are_the_released_configuration():
    cfg = INIConfig()
    assert (cfg.beta, cfg.gamma, cfg.delta, cfg.epsilon) == (0.0, 0.3, 1.0, 1000.0)
    assert cfg.clone_steps == 0 and cfg.epochs >= 12 and cfg.pcgrad
    assert cfg.train_config().max_grad_norm == 10.0


def test_induction_term_is_a_real_part_of_the_loss(tiny):
    """With the released weight the induction term is not ~1e-6 of the loss (it was, at epsilon 0.1)."""
    model = build_model("cnn-s", input_shape=(1, 28, 28), num_classes=10, seed=0)
    ood = defender_ood(tiny.x, n_permuted=100, digits=False)
    shares = {}
    for eps in (0.1, 1000.0):
        out = ini(model, tiny, ood=ood, config=INIConfig(epochs=1, batch_size=100, epsilon=eps), seed=0)
        shares[eps] = out.result.metrics["share_induction"]
        assert (
            abs(sum(out.result.metrics[f"share_{k}"] for k in ("benign", "id", "ood", "isolation", "induction")) - 1)
            < 1e-6
        )
    assert shares[0.1] < 1e-3 < shares[1000.0]


def test_pcgrad_drops_only_the_conflicting_components():
    from trustmap.defenses.ini import pcgrad

    p = torch.zeros(2, requires_grad=True)
    a, b = torch.tensor([1.0, 0.0]), torch.tensor([-1.0, 1.0])  # conflicting: a.b = -1
    (g,) = pcgrad([(a * p).sum(), (b * p).sum()], [p])
    # a loses its component along b -> (0.5, 0.5); b loses its component along a -> (0, 1)
    assert torch.allclose(g, torch.tensor([0.5, 1.5]))
    (h,) = pcgrad([(a * p).sum(), (torch.tensor([1.0, 1.0]) * p).sum()], [p])  # no conflict: plain sum
    assert torch.allclose(h, torch.tensor([2.0, 1.0]))
