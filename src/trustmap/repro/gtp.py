"""``trustmap repro gtp``: gradient-trajectory pursuit (arXiv 2410.16710) for target-domain data selection on
Rotten Tomatoes, against LESS-like top-k cosine, highest-loss and random selection at equal budgets.

Pool (per seed): a fixed set of ``pool`` RT training snippets (random state 0) with 10% of labels flipped,
plus 20% exact duplicates (copies of random pool rows, label included). Target domain: RT dev and test
snippets with a negator or contrast word (not, n't, no, never, but, yet, though); per seed 100 of them give
the target gradient, 500 others are the target test. Features: frozen MiniLM sentence embeddings (mean
pooling, L2 norm), computed once per process. Model: MLP 384-64-2 warmed up 3 epochs on the pool with 4
saved checkpoints; per-example gradients (torch.func) at each checkpoint projected to 256-d (Gaussian JL),
concatenated (1,024-d). Each selection of ``k`` examples retrains the MLP from the same seeded init; the
metric is target-test accuracy. ``full pool`` trains on every pool row.

Checks (paired over seeds; methods.md): full pool and random k=250 beat the majority class (sanity); at
k=50 GTP >= top-k + 3 points and >= random + 5 points, with GTP's selected duplicates <= 0.1x top-k's; at
k=250 GTP within 1 point of full-pool training.
"""

from __future__ import annotations

import functools
import math
import re
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from trustmap.data import load_dataset
from trustmap.data.selection.gtp import (
    gradient_trajectories,
    gtp_select,
    random_select,
    top_loss,
    topk_cosine,
    warmup_checkpoints,
)
from trustmap.data.splits import stratified_indices
from trustmap.models import build_model
from trustmap.repro._stats import mean_interval
from trustmap.repro.base import Check, ReproResult, register_repro
from trustmap.utils.progress import progress_bar
from trustmap.utils.seed import derive_seed, torch_generator

TARGET_WORDS = re.compile(r"\b(?:not|no|never|but|yet|though)\b|n't", re.IGNORECASE)
SIZES = {
    "default": {"seeds": 5, "pool": 6000, "candidates": None, "val": 100, "test": 500, "budgets": (50, 250)},
    "quick": {"seeds": 2, "pool": 240, "candidates": 140, "val": 20, "test": 100, "budgets": (10, 40)},
}
SELECTORS = ("gtp", "top-k cosine (LESS-like)", "high loss", "random")
DUP_FRACTION, FLIP_FRACTION = 0.2, 0.1


@functools.lru_cache(maxsize=4)
def _embed(texts: tuple[str, ...]) -> np.ndarray:
    """L2-normalised frozen MiniLM sentence embeddings ``(N, 384)``, cached for the process."""
    model = build_model("minilm", input_shape=(), num_classes=2, seed=0).eval()
    with torch.no_grad():
        out = torch.cat([model.embed(list(texts[i : i + 256])) for i in range(0, len(texts), 256)])
    return F.normalize(out, dim=1).numpy()


def _mlp(seed: int) -> nn.Module:
    return build_model("mlp", input_shape=(384,), num_classes=2, hidden=64, depth=1, seed=seed)


def train_mlp(x: np.ndarray, y: np.ndarray, *, seed: int, min_steps: int = 300, epochs: int = 5) -> nn.Module:
    """A fresh MLP 384-64-2 (init from ``seed``) trained with Adam lr 1e-3, batch 32, for
    ``max(min_steps, epochs over the data)`` steps *(ours)*."""
    model = _mlp(seed)
    xt, yt = torch.from_numpy(np.ascontiguousarray(x, np.float32)), torch.from_numpy(np.asarray(y, np.int64))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    gen = torch_generator(derive_seed(seed, 7))
    steps = max(min_steps, epochs * math.ceil(len(yt) / 32))
    model.train()
    done = 0
    while done < steps:
        for idx in torch.randperm(len(yt), generator=gen).split(32):
            opt.zero_grad()
            F.cross_entropy(model(xt[idx]), yt[idx]).backward()
            opt.step()
            done += 1
            if done == steps:
                break
    return model.eval()


@torch.no_grad()
def _accuracy(model: nn.Module, x: np.ndarray, y: np.ndarray) -> float:
    return float((model(torch.from_numpy(x)).argmax(1).numpy() == y).mean())


def build_pool(y: np.ndarray, *, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(rows, labels, flipped)`` of a noisy pool over ``len(y)`` base rows: 10% of the base labels
    flipped, then 20% exact duplicates appended; ``rows`` maps each pool row to its base row."""
    rng = np.random.default_rng(derive_seed(seed, 11))
    n = len(y)
    labels = y.copy()
    flip = rng.choice(n, size=int(FLIP_FRACTION * n), replace=False)
    labels[flip] = 1 - labels[flip]
    dups = rng.choice(n, size=int(DUP_FRACTION * n), replace=False)
    rows = np.concatenate([np.arange(n), dups])
    flipped = np.zeros(n, bool)
    flipped[flip] = True
    return rows, labels[rows], flipped[rows]


def select_all(traj: np.ndarray, target: np.ndarray, losses: np.ndarray, *, k: int, seed: int) -> dict:
    """Every selector's ``k`` pool indices (importable by benchmarks)."""
    return {
        "gtp": gtp_select(traj, target, k=k),
        "top-k cosine (LESS-like)": topk_cosine(traj, target, k=k),
        "high loss": top_loss(losses, k=k),
        "random": random_select(len(traj), k=k, seed=derive_seed(seed, k, 5)),
    }


@register_repro("gtp", title="Influential Language Data Selection via Gradient Trajectory Pursuit", arxiv="2410.16710")
def gtp_experiment(*, size: str, seed: int, progress: bool | None) -> ReproResult:
    cfg = SIZES[size]
    start = time.perf_counter()
    seeds = [seed + i for i in range(cfg["seeds"])]
    ds = load_dataset("rotten-tomatoes")
    base_idx = np.sort(stratified_indices(ds.train.y, cfg["pool"], seed=0))
    cand_x = np.concatenate([ds.dev.x, ds.test.x])
    cand_y = np.concatenate([ds.dev.y, ds.test.y])
    keep = np.array([bool(TARGET_WORDS.search(t)) for t in cand_x])
    cand_x, cand_y = cand_x[keep][: cfg["candidates"]], cand_y[keep][: cfg["candidates"]]
    runs: list[dict] = []
    n_arms = len(cfg["budgets"]) * len(SELECTORS) + 1
    with progress_bar("gtp", total=1 + len(seeds) * (1 + n_arms), enabled=progress) as tick:
        emb = _embed(tuple(ds.train.x[base_idx]) + tuple(cand_x))
        mu, sd = emb[: len(base_idx)].mean(0), emb[: len(base_idx)].std(0) + 1e-6  # standardised (ours)
        emb = (emb - mu) / sd
        base_x, cand_e = emb[: len(base_idx)], emb[len(base_idx) :]
        base_y = ds.train.y[base_idx]
        tick()
        for s in seeds:
            rows, py, flipped = build_pool(base_y, seed=s)
            px = base_x[rows]
            order = np.random.default_rng(derive_seed(s, 12)).permutation(len(cand_y))
            val, test = order[: cfg["val"]], order[cfg["val"] : cfg["val"] + cfg["test"]]
            warm = _mlp(derive_seed(s, 1))
            ckpts = warmup_checkpoints(warm, px, py, epochs=3, checkpoints=4, seed=derive_seed(s, 2))
            traj = gradient_trajectories(ckpts, px, py, dim=256, seed=derive_seed(s, 3))
            target = gradient_trajectories(ckpts, cand_e[val], cand_y[val], dim=256, seed=derive_seed(s, 3)).sum(0)
            with torch.no_grad():
                losses = F.cross_entropy(
                    ckpts[-1](torch.from_numpy(px)), torch.from_numpy(py), reduction="none"
                ).numpy()
            tick()
            tx, ty = cand_e[test], cand_y[test]
            init = derive_seed(s, 4)
            full = train_mlp(px, py, seed=init)
            runs.append(
                {
                    "seed": s,
                    "method": "full pool",
                    "k": len(py),
                    "accuracy": _accuracy(full, tx, ty),
                    "duplicates": len(rows) - len(np.unique(rows)),
                    "flipped": int(flipped.sum()),
                }
            )
            tick()
            for k in cfg["budgets"]:
                for name, idx in select_all(traj, target, losses, k=k, seed=s).items():
                    model = train_mlp(px[idx], py[idx], seed=init)
                    runs.append(
                        {
                            "seed": s,
                            "method": name,
                            "k": k,
                            "accuracy": _accuracy(model, tx, ty),
                            "duplicates": int(k - len(np.unique(rows[idx]))),
                            "flipped": int(flipped[idx].sum()),
                        }
                    )
                    tick()
    majority = float(max(np.mean(cand_y), 1 - np.mean(cand_y)))
    arms = [("full pool", None)] + [(m, k) for k in cfg["budgets"] for m in SELECTORS]

    def per(m: str, k) -> list[dict]:
        return [r for r in runs if r["method"] == m and (k is None or r["k"] == k)]

    rows_out = []
    for m, k in arms:
        acc = mean_interval([r["accuracy"] for r in per(m, k)])
        rows_out.append(
            {
                "method": m if k is None else f"{m} k={k}",
                "accuracy": acc.mean,
                "accuracy_95": acc.text(),
                "duplicates": float(np.mean([r["duplicates"] for r in per(m, k)])),
                "flipped": float(np.mean([r["flipped"] for r in per(m, k)])),
                "accuracy_per_seed": [round(r["accuracy"], 4) for r in per(m, k)],
            }
        )

    def diff(a: str, b: str, k, kb=None) -> list[float]:
        return [
            x["accuracy"] - y["accuracy"] for x, y in zip(per(a, k), per(b, kb if kb is not None else k), strict=True)
        ]

    small, large = cfg["budgets"]
    checks = [
        Check.over_seeds(
            "sanity: full-pool accuracy minus majority class",
            [r["accuracy"] - majority for r in per("full pool", None)],
            threshold=0.0,
            kind="sanity",
        ),
        Check.over_seeds(
            f"sanity: random k={large} accuracy minus majority class",
            [r["accuracy"] - majority for r in per("random", large)],
            threshold=0.0,
            kind="sanity",
        ),
        Check.over_seeds(
            f"GTP minus top-k cosine at k={small} (points, paired)",
            diff("gtp", "top-k cosine (LESS-like)", small),
            threshold=0.03,
            scale=100,
        ),
        Check.over_seeds(
            f"GTP minus random at k={small} (points, paired)", diff("gtp", "random", small), threshold=0.05, scale=100
        ),
        Check.over_seeds(
            f"GTP duplicates minus 0.1 x top-k duplicates at k={small}",
            [
                g["duplicates"] - 0.1 * t["duplicates"]
                for g, t in zip(per("gtp", small), per("top-k cosine (LESS-like)", small), strict=True)
            ],
            threshold=0.0,
            above=False,
        ),
        Check.over_seeds(
            f"GTP k={large} minus full pool (points, paired)",
            [g["accuracy"] - f["accuracy"] for g, f in zip(per("gtp", large), per("full pool", None), strict=True)],
            threshold=-0.01,
            scale=100,
        ),
        Check.over_seeds(
            f"info: GTP minus high loss at k={small} (points, paired)",
            diff("gtp", "high loss", small),
            threshold=0.0,
            kind="info",
            scale=100,
        ),
    ]
    return ReproResult(
        method="gtp",
        claim="Joint gradient-trajectory pursuit picks a better target-domain training subset than independent "
        "top-k (LESS-like) or random selection at a small budget, skips duplicates, and at a larger budget "
        "matches training on the whole pool.",
        rows=rows_out,
        checks=checks,
        runs=runs,
        size=size,
        seeds=seeds,
        seconds=time.perf_counter() - start,
        notes=f"Pool: {len(base_idx)} RT training snippets (random state 0), {FLIP_FRACTION:.0%} labels flipped, "
        f"+{DUP_FRACTION:.0%} exact duplicates, per seed. Target domain: {len(cand_y)} RT dev/test snippets with a "
        f"negator or contrast word; {cfg['val']} give the target gradient, {cfg['test']} are the target test "
        f"(majority {majority:.3f}). Frozen MiniLM embeddings, standardised; MLP 384-64-2; warm-up 3 epochs, 4 checkpoints, "
        "per-example gradients projected to 256-d each (1,024-d trajectory). Retraining: Adam lr 1e-3, batch "
        "32, max(300 steps, 5 epochs), same init per seed. Intervals: 95% Student t over seeds.",
    )
