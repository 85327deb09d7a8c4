import torch

from trustmap.federated.leakage import (
    batch_gradients,
    gradient_matching_loss,
    idlg_label,
    invert_gradients,
    match_scores,
    psnr,
    ssim,
)
from trustmap.federated.refiner import Defence, critical_mask
from trustmap.utils.seed import seeded_global_rng, torch_generator


def _grads(seed=0):
    g = torch_generator(seed)
    return [torch.randn(3, 4, generator=g), torch.randn(5, generator=g)]


def test_gradient_matching_loss_is_cosine_distance():
    a = _grads(0)
    assert abs(float(gradient_matching_loss(a, a))) < 1e-6
    assert abs(float(gradient_matching_loss(a, [-t for t in a])) - 2.0) < 1e-6
    assert abs(float(gradient_matching_loss(a, [7.5 * t for t in a]))) < 1e-6  # scale-invariant
    b = _grads(1)
    flat_a, flat_b = torch.cat([t.flatten() for t in a]), torch.cat([t.flatten() for t in b])
    expected = 1 - torch.dot(flat_a, flat_b) / (flat_a.norm() * flat_b.norm())
    assert torch.isclose(gradient_matching_loss(a, b), expected, atol=1e-6)


def test_inverting_gradients_recovers_an_image_from_a_linear_model():
    with seeded_global_rng(0):
        model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(36, 10))
    x = torch.rand(1, 1, 6, 6, generator=torch_generator(1))
    y = torch.tensor([3])
    g = batch_gradients(model, x, y)
    assert int(idlg_label(g)) == 3
    x_hat = invert_gradients(
        model, g, labels=idlg_label(g), shape=(1, 1, 6, 6), steps=200, tv=0.0, generator=torch_generator(2)
    )
    p, s = match_scores(x_hat, x)
    noise_p, _ = match_scores(torch.rand(1, 1, 6, 6, generator=torch_generator(3)), x)
    assert p > 25 and p > noise_p + 10 and s > 0.9


def test_psnr_ssim_and_matching_under_permutation():
    x = torch.rand(3, 1, 8, 8, generator=torch_generator(0))
    assert float(ssim(x, x).min()) > 0.999
    assert float(psnr(x, x).min()) > 90
    p, s = match_scores(x[[2, 0, 1]], x)  # a shuffled batch scores as the identical batch
    assert p > 90 and s > 0.999


def test_defences_noise_and_topk():
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 10))
    x, y = torch.rand(4, 1, 4, 4), torch.tensor([0, 1, 2, 3])
    g = Defence("none")(model, x, y)
    kept = Defence("topk", 0.1)(model, x, y)
    nz = sum(int((t != 0).sum()) for t in kept)
    assert nz <= sum(max(1, int(0.1 * t.numel())) for t in g) + 2
    masks = critical_mask(g, 0.1)
    assert 0 < sum(int(m.sum()) for m in masks) <= 0.1 * sum(t.numel() for t in g) + 2
    noisy = Defence("noise", 1.0)(model, x, y, generator=torch_generator(0))
    assert float(gradient_matching_loss(noisy, g)) > 0.3


def test_bound_trivial_clips_only_the_trivial_entries():
    from trustmap.federated.refiner import bound_trivial

    ref = _grads(0)
    wild = [10 * t + 5 for t in _grads(1)]
    out, tau = bound_trivial(wild, ref, fraction=0.25)
    critical = critical_mask(ref, 0.25)
    for o, w, m in zip(out, wild, critical):
        assert torch.equal(o[m.bool()], w[m.bool()])  # critical entries untouched
        assert float(o[~m.bool()].abs().max()) <= tau + 1e-7  # trivial entries bounded by tau
    assert tau == float(torch.cat([t.abs().flatten() for t in ref]).topk(int(0.25 * 17)).values[-1])


def test_refiner_upload_has_bounded_trivial_entries():
    from trustmap.federated.refiner import bound_trivial, train_encoder

    with seeded_global_rng(0):
        model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    x, y = torch.rand(6, 1, 4, 4, generator=torch_generator(0)), torch.tensor([0, 1, 2, 0, 1, 2])
    enc = train_encoder(torch.rand(32, 1, 4, 4, generator=torch_generator(1)), seed=0, epochs=1)
    up = Defence("refiner", 10.0, enc, steps=5)(model, x, y, generator=torch_generator(0))
    _, tau = bound_trivial(up, batch_gradients(model, x, y))
    trivial = [1 - m for m in critical_mask(batch_gradients(model, x, y))]
    assert max(float((u * t).abs().max()) for u, t in zip(up, trivial)) <= tau + 1e-7
    free = Defence("refiner", 10.0, enc, steps=5, bound=False)(model, x, y, generator=torch_generator(0))
    assert max(float((u * t).abs().max()) for u, t in zip(free, trivial)) > tau  # unbounded, they do grow
