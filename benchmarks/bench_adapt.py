"""Adaptation methods side by side on MiniLM: peak memory and time per step, as ratios to full FT with Adam.

All methods are measured in one run, on the same batch (RT snippets, batch 16, max_len 64), after one
warm-up step. Peak memory = bytes saved for backward + optimizer state + parameters
(:mod:`trustmap.adapt.memory`); ``transient`` (not in the total) is the largest extra buffer a step
allocates: the direction ``z`` of the biggest perturbed tensor for ZO, all tangents for FG.
Targets from the issue: ZO peak memory <= 0.35x full FT + Adam; LoRA-SP optimizer state <= 0.55x LoRA's.

The accuracy cross-check against Hugging Face PEFT's LoRA is part of ``trustmap repro lora-sp``.

    python benchmarks/bench_adapt.py [--batch 16] [--steps 3] [--json out.json]

``--quick`` (batch 8, one measured step) only checks that it runs; ``make bench``
(``benchmarks/run_all.py``) collects the ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import torch  # noqa: E402
from _report import Ratio, at_most, report  # noqa: E402

from trustmap.adapt.methods import AdaptConfig  # noqa: E402
from trustmap.adapt.minilm import fresh_minilm  # noqa: E402
from trustmap.adapt.profile import profile_step  # noqa: E402
from trustmap.adapt.train import prepare, trainable_parameters  # noqa: E402
from trustmap.repro._adapt_experiment import rt_splits  # noqa: E402
from trustmap.utils.threads import set_threads  # noqa: E402

ROWS = [  # (label, config)
    ("full FT + Adam", AdaptConfig(method="full")),
    ("LoRA", AdaptConfig(method="lora")),
    ("LoRA-SP", AdaptConfig(method="lora-sp")),
    ("prefix (P-Tuning v2)", AdaptConfig(method="prefix")),
    ("APT", AdaptConfig(method="apt")),
    ("LoRA + DEFT", AdaptConfig(method="lora", deft_weight=1.0)),
    ("FO-SGD (LoRA)", AdaptConfig(method="fo-sgd")),
    ("ZO-SGD (LoRA)", AdaptConfig(method="zo-sgd")),
    ("ZO-SGD-Sign (LoRA)", AdaptConfig(method="zo-sgd-sign")),
    ("ZO-SGD-MMT (LoRA)", AdaptConfig(method="zo-sgd-mmt")),
    ("ZO-Adam (LoRA)", AdaptConfig(method="zo-adam")),
    ("ZO block-wise (LoRA)", AdaptConfig(method="zo-block")),
    ("ZO sparse (LoRA)", AdaptConfig(method="zo-sparse")),
    ("FG (LoRA)", AdaptConfig(method="fg")),
    ("ZO-SGD (full)", AdaptConfig(method="zo-sgd", scheme="full", lr=1e-6)),
    ("ZO-Adam (full)", AdaptConfig(method="zo-adam", scheme="full", lr=1e-6)),
    ("FG (full)", AdaptConfig(method="fg", scheme="full", lr=1e-6)),
]


def measure(batch: int, steps: int) -> list[dict]:
    train, _, _ = rt_splits(n_train=max(batch, 32), n_test=32, seed=0)
    xb, yb = torch.from_numpy(train.x[:batch]), torch.from_numpy(train.y[:batch])
    out = []
    for label, cfg in ROWS:
        model = fresh_minilm(seed=0)
        info = prepare(model, cfg, seed=0)
        prof = profile_step(model, (xb, yb), config=cfg, steps=steps)
        tensors = [p.numel() * p.element_size() for _, p in trainable_parameters(model)]
        transient = (max(tensors) if info.family == "zo" else sum(tensors)) if info.family != "fo" else 0
        out.append(
            {
                "method": label,
                "trainable": sum(p.numel() for _, p in trainable_parameters(model)),
                "saved_MB": prof.memory.saved / 2**20,
                "optimizer_MB": prof.memory.optimizer / 2**20,
                "params_MB": prof.memory.params / 2**20,
                "peak_MB": prof.memory.total / 2**20,
                "transient_MB": transient / 2**20,
                "s_per_step": prof.seconds_per_step,
                "family": info.family,
            }
        )
        print(f"  measured {label}: {out[-1]['peak_MB']:.1f} MB, {prof.seconds_per_step:.2f} s/step", flush=True)
    ref = out[0]
    for r in out:
        r["memory_ratio"] = r["peak_MB"] / ref["peak_MB"]
        r["time_ratio"] = r["s_per_step"] / ref["s_per_step"]
    return out


def summary(rows: list[dict]) -> list[Ratio]:
    """The ratios for ``benchmarks/run_all.py`` (the issue's two targets, and two figures for context)."""
    by = {r["method"]: r for r in rows}
    ref = rows[0]["method"]
    worst = max((r for r in rows if r["family"] in ("zo", "fg")), key=lambda r: r["memory_ratio"])
    opt = by["LoRA-SP"]["optimizer_MB"] / by["LoRA"]["optimizer_MB"]
    return [
        Ratio(
            "peak memory",
            worst["method"],
            ref,
            worst["memory_ratio"],
            "the largest ZO/FG peak memory (saved for backward + optimizer state + parameters) / full FT's",
            *at_most(worst["memory_ratio"], 0.35),
        ),
        Ratio("optimizer state", "LoRA-SP", "LoRA", opt, "LoRA-SP's optimizer state / LoRA's", *at_most(opt, 0.55)),
        Ratio("peak memory", "LoRA", ref, by["LoRA"]["memory_ratio"], "LoRA's peak memory / full FT's (context)"),
        Ratio(
            "time per step",
            "ZO-SGD (LoRA)",
            ref,
            by["ZO-SGD (LoRA)"]["time_ratio"],
            "seconds per step, ZO-SGD on LoRA / full FT with Adam (context)",
        ),
    ]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--json", default=None)
    ap.add_argument("--quick", action="store_true", help="small sizes (--batch 8 --steps 1)")
    args = ap.parse_args(argv)
    if args.quick:
        args.batch, args.steps = 8, 1
    set_threads()
    print(f"load average at start: {os.getloadavg()}", flush=True)
    rows = measure(args.batch, args.steps)
    print(
        f"\n{'method':24s} {'trainable':>10s} {'saved MB':>9s} {'optim MB':>9s} {'params MB':>9s} {'peak MB':>8s} "
        f"{'mem x':>6s} {'s/step':>7s} {'time x':>6s} {'transient MB':>12s}"
    )
    for r in rows:
        print(
            f"{r['method']:24s} {r['trainable']:>10,d} {r['saved_MB']:9.1f} {r['optimizer_MB']:9.2f} {r['params_MB']:9.1f} "
            f"{r['peak_MB']:8.1f} {r['memory_ratio']:6.3f} {r['s_per_step']:7.2f} {r['time_ratio']:6.2f} "
            f"{r['transient_MB']:12.1f}"
        )
    zo = [r for r in rows if r["family"] in ("zo", "fg")]
    lora = next(r for r in rows if r["method"] == "LoRA")
    sp = next(r for r in rows if r["method"] == "LoRA-SP")
    checks = {
        "max ZO/FG memory ratio (target <= 0.35)": max(r["memory_ratio"] for r in zo),
        "ZO/FG rows over 0.35": [r["method"] for r in zo if r["memory_ratio"] > 0.35],
        "LoRA-SP / LoRA optimizer state (target <= 0.55)": sp["optimizer_MB"] / lora["optimizer_MB"],
    }
    print("\n" + "\n".join(f"{k}: {v}" for k, v in checks.items()))
    result = {"rows": rows, "checks": checks, "load_average_end": os.getloadavg()}
    print(f"load average at end: {os.getloadavg()}")
    report("adapt", summary(rows))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1, default=str)


if __name__ == "__main__":
    main(sys.argv[1:])
