"""Few-step samplers on one small DDPM: samples per second and quality of DDIM, DPM-Solver++(2M) and OLSS
(arXiv 2305.14677, fitted on a 100-step DDIM teacher) at the same number of network evaluations.

Model: the cached unconditional FM14 DDPM of ``trustmap repro olss`` (``trustmap.diffusion.cached_ddpm``;
trained on first use, about 4 CPU-minutes). Quality: endpoint MSE to the 100-step DDIM endpoint from the
same noise, and squared RBF-MMD (median bandwidth) to held-out FM14 test images. Speed: samples per
CPU-second (``time.process_time``; wall time is printed too, but is noisy on a shared machine).

    python benchmarks/bench_diffusion.py [--quick] [--steps 5,10] [--n 500] [--json out.json]

``--quick``: a 30-step toy model, 32 samples, a 20-step teacher: it checks that the script runs.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from _report import Ratio, at_least, at_most, report

from trustmap.diffusion import (
    DDPMConfig,
    cached_ddpm,
    fit_olss,
    fm_images,
    initial_noise,
    mmd_rbf,
    olss_sample,
    sample,
    teacher_path,
    to_pixels,
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", default="5,10", help="network evaluations per sample, comma-separated")
    p.add_argument("--n", type=int, default=500, help="samples per sampler")
    p.add_argument("--teacher-noises", type=int, default=256)
    p.add_argument("--teacher-steps", type=int, default=100)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--json", type=Path, default=None)
    p.add_argument("--quick", action="store_true")
    args = p.parse_args(argv)
    args.model = {}
    if args.quick:
        args.steps, args.n, args.teacher_noises, args.teacher_steps = "5", 32, 16, 20
        args.model = {"steps": 30, "batch_size": 32, "n_train": 2000}
    return args


def timed(fn):
    w0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w0, time.process_time() - c0


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    model = cached_ddpm(replace(DDPMConfig(image_size=14, conditional=False), **args.model), progress=False)
    real, _ = fm_images(14, split="test", n=args.n)
    real = real.reshape(len(real), -1)
    noise = initial_noise(args.n, model.config.shape, seed=2)
    reference = sample(model, noise=noise, steps=args.teacher_steps, sampler="ddim")
    path, fit_wall, _ = timed(
        lambda: teacher_path(
            model, initial_noise(args.teacher_noises, model.config.shape, seed=1), steps=args.teacher_steps
        )
    )
    rows, ratios = [], []
    for k in (int(s) for s in args.steps.split(",")):
        sched, fit_s, _ = timed(lambda k=k: fit_olss(path, k))
        runs = {
            "DDIM": lambda k=k: sample(model, noise=noise, steps=k, sampler="ddim"),
            "DPM-Solver++": lambda k=k: sample(model, noise=noise, steps=k, sampler="dpm++"),
            "OLSS": lambda sched=sched: olss_sample(model, sched, noise),
        }
        got = {}
        for name, fn in runs.items():
            fn()  # warm-up
            x, wall, cpu = timed(fn)
            pix = to_pixels(x.numpy()).reshape(len(x), -1)
            got[name] = {
                "sampler": name,
                "steps": k,
                "samples_per_cpu_second": args.n / max(cpu, 1e-9),
                "samples_per_wall_second": args.n / max(wall, 1e-9),
                "endpoint_mse": float(((x - reference) ** 2).mean()),
                "mmd": mmd_rbf(pix, real),
            }
            rows.append(got[name])
            r = got[name]
            print(
                f"{name:>13}-{k:<3} {r['samples_per_cpu_second']:8.1f} samples/CPU-s  "
                f"{r['samples_per_wall_second']:8.1f} samples/s wall  endpoint MSE {r['endpoint_mse']:.4f}  "
                f"MMD {r['mmd']:.4f}",
                flush=True,
            )
        print(f"  OLSS-{k} path {sched.path}, fitted in {fit_s:.2f} s (teacher paths took {fit_wall:.1f} s wall)")
        speed = got["OLSS"]["samples_per_cpu_second"] / got["DDIM"]["samples_per_cpu_second"]
        mse_ddim = got["OLSS"]["endpoint_mse"] / got["DDIM"]["endpoint_mse"]
        mse_dpm = got["OLSS"]["endpoint_mse"] / got["DPM-Solver++"]["endpoint_mse"]
        mmd = got["OLSS"]["mmd"] - got["DDIM"]["mmd"]
        ratios += [
            Ratio(
                f"samples/CPU-s, {k} steps",
                "olss",
                "ddim",
                speed,
                "OLSS's sampling speed / DDIM's at equal network evaluations (1 = no overhead)",
                *at_least(speed, 0.8),
            ),
            Ratio(
                f"endpoint MSE, {k} steps",
                "olss",
                "ddim",
                mse_ddim,
                "OLSS's MSE to the 100-step DDIM endpoint / DDIM's (paper: OLSS-5 <= 0.5x DDIM-5)",
                *at_most(mse_ddim, 0.5),
            ),
            Ratio(
                f"endpoint MSE, {k} steps",
                "olss",
                "dpm-solver++",
                mse_dpm,
                "OLSS's MSE to the 100-step DDIM endpoint / DPM-Solver++(2M)'s",
                *at_most(mse_dpm, 1.0),
            ),
            Ratio(
                f"MMD difference, {k} steps",
                "olss",
                "ddim",
                mmd,
                "OLSS's squared RBF-MMD to test images minus DDIM's (< 0: OLSS closer to the data)",
            ),
        ]
    report("diffusion", ratios)
    result = {"settings": {k: str(v) for k, v in vars(args).items()}, "rows": rows}
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, default=float))
    return result


if __name__ == "__main__":
    np.seterr(all="ignore")
    main(sys.argv[1:])
