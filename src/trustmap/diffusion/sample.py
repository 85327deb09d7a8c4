"""Sample a DDPM with diffusers' schedulers: ancestral DDPM, DDIM (η = 0) and DPM-Solver++(2M).

Every sampler uses the model's own β schedule, ``trailing`` timestep spacing (the first step starts at
t = T − 1, as few-step samplers need, (ours)), no clipping inside the trajectory, and ``steps`` network
evaluations. Output: ``(N, 1, S, S)`` float32 in [-1, 1] (clamped at the end only).

>>> x = sample(model, n=16, steps=10, sampler="dpm++", seed=0)
>>> path = teacher_path(model, noise, steps=100)  # DDIM trajectory: path.x (101, N, 1, S, S), path.eps (100, ...)
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from diffusers import DDIMScheduler, DDPMScheduler, DPMSolverMultistepScheduler

from trustmap.diffusion.model import DDPM
from trustmap.errors import TrustmapError
from trustmap.utils.seed import torch_generator

SAMPLERS = ("ddpm", "ddim", "dpm++")


def make_scheduler(model: DDPM, sampler: str):
    """A fresh diffusers scheduler named ``sampler`` (one of :data:`SAMPLERS`) for ``model``'s β schedule."""
    common = {
        "num_train_timesteps": model.config.train_timesteps,
        "beta_schedule": model.config.beta_schedule,
        "timestep_spacing": "trailing",
    }
    if sampler == "ddpm":
        return DDPMScheduler(**common, clip_sample=False)
    if sampler == "ddim":
        return DDIMScheduler(**common, clip_sample=False, set_alpha_to_one=True)
    if sampler == "dpm++":
        return DPMSolverMultistepScheduler(**common, algorithm_type="dpmsolver++", solver_order=2)
    raise TrustmapError(f"unknown sampler {sampler!r}; choose one of {', '.join(SAMPLERS)}")


def initial_noise(n: int, shape: tuple[int, ...], *, seed: int) -> torch.Tensor:
    """``x_T``: ``(n, *shape)`` standard normal from a private generator."""
    return torch.randn((n, *shape), generator=torch_generator(seed))


def _batches(n: int, batch_size: int) -> list[slice]:
    return [slice(i, min(i + batch_size, n)) for i in range(0, n, batch_size)]


@torch.no_grad()
def _run(
    model: DDPM, noise: torch.Tensor, labels: torch.Tensor | None, sampler: str, steps: int, seed: int, keep: bool
):
    sched = make_scheduler(model, sampler)
    sched.set_timesteps(steps)
    x = noise * sched.init_noise_sigma
    g = torch_generator(seed)
    xs, es = [x], []
    for t in sched.timesteps:
        e = model.eps(sched.scale_model_input(x, t), t, labels)
        x = sched.step(e, t, x, generator=g).prev_sample if sampler == "ddpm" else sched.step(e, t, x).prev_sample
        if keep:
            es.append(e)
            xs.append(x)
    return x, sched.timesteps.clone(), xs, es


def sample(
    model: DDPM,
    *,
    n: int | None = None,
    steps: int = 50,
    sampler: str = "ddim",
    seed: int = 0,
    labels: torch.Tensor | None = None,
    noise: torch.Tensor | None = None,
    batch_size: int = 500,
) -> torch.Tensor:
    """``n`` samples (or one per row of ``noise``) with ``steps`` network evaluations of ``sampler``."""
    if steps < 1:
        raise TrustmapError(f"steps must be >= 1, got {steps}")
    if noise is None:
        if n is None or n < 1:
            raise TrustmapError("give the number of samples (n >= 1) or the initial noise")
        noise = initial_noise(n, model.config.shape, seed=seed)
    labels = model.check_labels(labels, len(noise))
    out = []
    for b, sl in enumerate(_batches(len(noise), batch_size)):
        lab = None if labels is None else labels[sl]
        out.append(_run(model, noise[sl], lab, sampler, steps, seed + b, keep=False)[0])
    return torch.cat(out).clamp(-1.0, 1.0)


@dataclass
class TeacherPath:
    """A deterministic sampler's trajectory: ``timesteps`` ``(S,)``, ``x`` ``(S + 1, N, C, H, W)`` (x_T first,
    the endpoint last), ``eps`` ``(S, N, C, H, W)`` (the network output at each ``x[i]``)."""

    timesteps: torch.Tensor
    x: torch.Tensor
    eps: torch.Tensor


@torch.no_grad()
def teacher_path(
    model: DDPM,
    noise: torch.Tensor,
    *,
    steps: int = 100,
    labels: torch.Tensor | None = None,
    batch_size: int = 500,
) -> TeacherPath:
    """Run DDIM (η = 0) for ``steps`` steps from ``noise`` and keep every latent and noise prediction."""
    labels = model.check_labels(labels, len(noise))
    xs, es, ts = [], [], None
    for sl in _batches(len(noise), batch_size):
        _, ts, x, e = _run(model, noise[sl], None if labels is None else labels[sl], "ddim", steps, 0, keep=True)
        xs.append(torch.stack(x))
        es.append(torch.stack(e))
    return TeacherPath(ts, torch.cat(xs, dim=1), torch.cat(es, dim=1))
