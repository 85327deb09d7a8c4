"""OLSS fits exactly a trajectory made by a linear rule, and with every teacher step replays the teacher."""

import math

import pytest
import torch

from trustmap.diffusion import fit_olss, initial_noise, olss_sample, teacher_path
from trustmap.diffusion.olss import search_path
from trustmap.diffusion.sample import TeacherPath
from trustmap.errors import TrustmapError


def _linear_path(steps=12, n=6):
    g = torch.Generator().manual_seed(0)
    eps = torch.randn(steps, n, 1, 4, 4, generator=g)
    xt = torch.randn(n, 1, 4, 4, generator=g)
    wx = torch.rand(steps, generator=g) + 0.5
    we = torch.randn(steps, steps, generator=g).tril()
    xs = [xt]
    for i in range(steps):
        xs.append(wx[i] * xt + (we[i, : i + 1, None, None, None, None] * eps[: i + 1]).sum(0))
    return TeacherPath(torch.arange(steps - 1, -1, -1) * 10, torch.stack(xs), eps), wx, we


def test_fits_a_linear_rule_exactly():
    path, wx, we = _linear_path()
    sched = fit_olss(path, 12, search=False)  # every teacher step: the generating rule itself
    assert sched.path == list(range(12))
    assert max(sched.fit_mse) < 1e-10  # float32 data: rounding only
    assert torch.allclose(sched.wx, wx.double(), atol=1e-4) and torch.allclose(sched.we, we.double(), atol=1e-4)
    assert sched.timesteps.tolist() == path.timesteps.tolist()


def test_path_search_returns_k_increasing_steps_from_the_first():
    path, _, _ = _linear_path()
    kept = search_path(path, 4)
    assert kept[0] == 0 and len(kept) <= 4 and kept == sorted(set(kept))
    sched = fit_olss(path, 4)
    assert sched.steps == len(sched.path) and sched.we.shape == (sched.steps, sched.steps)
    assert torch.equal(sched.we, sched.we.tril())
    with pytest.raises(TrustmapError):
        fit_olss(path, 0)


def test_with_every_teacher_step_olss_replays_the_ddim_teacher(tiny_models):
    model = tiny_models[False]
    noise = initial_noise(8, model.config.shape, seed=5)
    path = teacher_path(model, noise, steps=6)
    sched = fit_olss(path, 6, search=False)
    out = olss_sample(model, sched, noise)
    assert torch.allclose(out, path.x[-1].clamp(-1, 1), atol=1e-4)
    few = fit_olss(path, 3)  # a real search on a real trajectory: 3 steps, errors finite
    assert few.steps <= 3 and all(math.isfinite(e) for e in few.fit_mse)
    assert olss_sample(model, few, noise).shape == noise.shape
