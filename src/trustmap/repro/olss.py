"""``trustmap repro olss``: OLSS (Duan et al., CIKM 2023, arXiv 2305.14677), a learned linear scheduler,
against DDIM and DPM-Solver++(2M) at the same number of network evaluations on the same DDPM.

One unconditional DDPM (diffusers ``UNet2DModel``, ε-prediction, T = 1,000, linear β) is trained on FM14
(2×2-pooled Fashion-MNIST, real data) and cached (:func:`trustmap.diffusion.cached_ddpm`). Each fitting
repeat (a "seed") caches a 100-step DDIM trajectory from its own 256 noises, fits OLSS-K (path search) and
OLSS-P-K (uniform steps, report-only) for K = 5 and 10, and evaluates every sampler on 1,000 fresh noises:

- endpoint MSE: per-pixel mean squared distance (model range [-1, 1]) to the 100-step DDIM endpoint from the
  same noise (the teacher's own target, so it measures how well a sampler approximates the ODE solution);
- MMD: squared RBF-MMD (median bandwidth) between the samples and 1,000 held-out FM14 test images, pixels;
- FD (report-only): a Fréchet distance on a trustmap CNN-S's penultimate features (not Inception FID).

Sanity checks: the teacher's samples beat Gaussian noise on MMD, and the feature classifier beats the
majority class. Claim checks (methods.md): OLSS-5 endpoint MSE ≤ 0.5× DDIM-5's and ≤ DPM-Solver++-5's;
OLSS-5 MMD ≤ DDIM-5's. *(ours)*: a tiny ``UNet2DModel`` stands in for the methods.md MLP ε-net.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from trustmap.diffusion import (
    features,
    fit_olss,
    frechet_distance,
    initial_noise,
    mmd_rbf,
    olss_sample,
    sample,
    teacher_path,
    to_pixels,
)
from trustmap.repro._diffusion import diffusion_bench
from trustmap.repro._stats import mean_interval
from trustmap.repro.base import Check, ReproResult, register_repro
from trustmap.utils.progress import progress_bar
from trustmap.utils.seed import derive_seed

SIZES = {
    "default": {
        "repeats": 3,
        "teacher_noises": 256,
        "eval_noises": 1000,
        "teacher_steps": 100,
        "ks": (5, 10),
        "test": 1000,
        "model": {},
        "classifier": {"epochs": 3, "n_train": 60000},
    },
    "quick": {
        "repeats": 2,
        "teacher_noises": 16,
        "eval_noises": 48,
        "teacher_steps": 20,
        "ks": (5,),
        "test": 48,
        "model": {"steps": 30, "batch_size": 32, "n_train": 2000},
        "classifier": {"epochs": 1, "n_train": 2000},
    },
}


def _score(x: torch.Tensor, reference: torch.Tensor, real_flat: np.ndarray, real_feats: np.ndarray, clf) -> dict:
    pix = to_pixels(x.numpy())
    return {
        "endpoint_mse": float(((x - reference) ** 2).mean()),
        "mmd": mmd_rbf(pix.reshape(len(pix), -1), real_flat),
        "fd": frechet_distance(features(clf, pix), real_feats),
    }


def _methods(ks: tuple[int, ...]) -> list[str]:
    out = ["DDIM-100 (teacher)"]
    for k in ks:
        out += [f"DDIM-{k}", f"DPM-Solver++-{k}", f"OLSS-P-{k}", f"OLSS-{k}"]
    return [*out, "Gaussian noise"]


@register_repro(
    "olss",
    title="OLSS: Learning to Construct Fast and High-Quality Schedulers for Diffusion Models",
    arxiv="2305.14677",
)
def olss_experiment(*, size: str, seed: int, progress: bool | None) -> ReproResult:
    cfg = SIZES[size]
    start = time.perf_counter()
    bench = diffusion_bench(cfg, seed=seed, conditional=False, progress=progress)
    config = bench.config
    model, clf, test_x = bench.model, bench.classifier, bench.test_x
    clf_acc, majority = bench.classifier_accuracy, bench.majority
    seeds = [seed + i for i in range(cfg["repeats"])]
    ks, steps = cfg["ks"], cfg["teacher_steps"]
    methods = _methods(ks)
    runs: list[dict] = []
    # one evaluation set shared by every repeat (the repeats differ in the teacher noises OLSS is fitted on)
    noise = initial_noise(cfg["eval_noises"], config.shape, seed=derive_seed(seed, 2))
    real = test_x[np.random.default_rng(derive_seed(seed, 3)).choice(len(test_x), cfg["test"], replace=False)]
    real_flat, real_feats = real.reshape(len(real), -1), features(clf, real)
    with progress_bar("olss", total=1 + len(seeds), enabled=progress) as tick:
        reference = sample(model, noise=noise, steps=steps, sampler="ddim")
        fixed: dict[str, tuple[torch.Tensor, float]] = {"DDIM-100 (teacher)": (reference, 0.0)}
        for k in ks:
            for name, sampler in ((f"DDIM-{k}", "ddim"), (f"DPM-Solver++-{k}", "dpm++")):
                t0 = time.perf_counter()
                fixed[name] = (sample(model, noise=noise, steps=k, sampler=sampler), time.perf_counter() - t0)
        fixed["Gaussian noise"] = (noise.clamp(-1, 1), 0.0)
        scores = {name: _score(x, reference, real_flat, real_feats, clf) for name, (x, _) in fixed.items()}
        tick()
        for s in seeds:
            teacher = initial_noise(cfg["teacher_noises"], config.shape, seed=derive_seed(s, 1))
            path = teacher_path(model, teacher, steps=steps)
            for name in methods:
                if name in fixed:
                    runs.append({"seed": s, "method": name, **scores[name], "sample_seconds": fixed[name][1]})
                    continue
                k = int(name.rsplit("-", 1)[1])
                t0 = time.perf_counter()
                sched = fit_olss(path, k, search=not name.startswith("OLSS-P"))
                fit_s = time.perf_counter() - t0
                t0 = time.perf_counter()
                x = olss_sample(model, sched, noise)
                secs = time.perf_counter() - t0
                runs.append(
                    {
                        "seed": s,
                        "method": name,
                        **_score(x, reference, real_flat, real_feats, clf),
                        "sample_seconds": secs,
                        "fit_seconds": fit_s,
                        "path": sched.path,
                        "timesteps": [int(t) for t in sched.timesteps],
                    }
                )
            tick()
    per = {m: [r for r in runs if r["method"] == m] for m in methods}
    rows = []
    for m in methods:
        row: dict = {"method": m}
        for key in ("endpoint_mse", "mmd", "fd"):
            iv = mean_interval([r[key] for r in per[m]])
            row[key], row[f"{key}_95"] = iv.mean, iv.text(digits=4)
            if key != "fd":
                row[f"{key}_per_seed"] = [round(r[key], 5) for r in per[m]]
        rows.append(row)

    def vals(m: str, key: str) -> list[float]:
        return [r[key] for r in per[m]]

    k0 = ks[0]
    checks = [
        Check.over_seeds(
            "sanity: MMD of Gaussian noise minus MMD of the teacher's samples",
            [n - t for n, t in zip(vals("Gaussian noise", "mmd"), vals("DDIM-100 (teacher)", "mmd"), strict=True)],
            threshold=0.0,
            kind="sanity",
        ),
        bench.classifier_check(),
        Check.over_seeds(
            f"endpoint MSE, OLSS-{k0} / DDIM-{k0}",
            [
                o / d
                for o, d in zip(vals(f"OLSS-{k0}", "endpoint_mse"), vals(f"DDIM-{k0}", "endpoint_mse"), strict=True)
            ],
            threshold=0.5,
            above=False,
        ),
        Check.over_seeds(
            f"endpoint MSE, OLSS-{k0} minus DPM-Solver++-{k0} (paired)",
            [
                o - d
                for o, d in zip(
                    vals(f"OLSS-{k0}", "endpoint_mse"), vals(f"DPM-Solver++-{k0}", "endpoint_mse"), strict=True
                )
            ],
            threshold=0.0,
            above=False,
        ),
        Check.over_seeds(
            f"MMD, OLSS-{k0} minus DDIM-{k0} (paired)",
            [o - d for o, d in zip(vals(f"OLSS-{k0}", "mmd"), vals(f"DDIM-{k0}", "mmd"), strict=True)],
            threshold=0.0,
            above=False,
        ),
    ]
    return ReproResult(
        method="olss",
        claim="OLSS, a scheduler whose steps are least-squares-fitted linear combinations of the initial latent "
        "and past noise predictions, approximates a many-step sampler better than DDIM and DPM-Solver++ at the "
        "same (few) number of network evaluations, and gives better samples than DDIM.",
        rows=rows,
        checks=checks,
        runs=runs,
        size=size,
        seeds=seeds,
        seconds=time.perf_counter() - start,
        notes=f"FM14 (real Fashion-MNIST, 2x2-pooled). DDPM: diffusers UNet2DModel, channels {list(config.channels)}, "
        f"{config.layers_per_block} layer/block, no attention, T={config.train_timesteps} linear betas, "
        f"{config.steps} AdamW steps at batch {config.batch_size} (lr {config.lr}, cosine, EMA {config.ema_decay}) on "
        f"{config.n_train} training images; one net (seed {seed}), {len(seeds)} fitting repeats (each its own "
        f"teacher noises); one shared evaluation set (noises and test images), so the DDIM and DPM-Solver++ rows "
        f"are the same in every repeat. Teacher: DDIM-{steps} (eta 0, trailing spacing) on "
        f"{cfg['teacher_noises']} noises; evaluation on {cfg['eval_noises']} fresh noises against "
        f"{cfg['test']} held-out FM14 test images. DDIM and DPM-Solver++(2M) are diffusers' schedulers. "
        f"MMD: squared RBF-MMD on pixels, median bandwidth. FD: Frechet distance on CNN-S penultimate features "
        f"(not Inception FID); CNN-S test accuracy {clf_acc:.3f}, majority {majority:.3f}. "
        "Intervals: 95% Student t over fitting repeats.",
    )
