"""``trustmap repro zo-bench``: zeroth-order versus first-order fine-tuning of MiniLM on RT (arXiv 2402.11592).

Paper: Revisiting Zeroth-Order Optimization for Memory-Efficient LLM Fine-Tuning: A Benchmark
(arXiv 2402.11592); optimizers as in the authors' code (ZO-Bench/ZO-LLM). Experiment (ours, a CPU-scale analogue of
its RoBERTa/OPT tables; the aligned head stands in for its task templates): frozen MiniLM layers 1-5 run once
and cached (max_len 40) for 2,000 training and 1,000 test snippets; trainable: LoRA r=8 on query/value of
layer 6 + linear head (13,058 parameters). Optimizers with a random head: FO-SGD, FO-Adam, ZO-SGD,
ZO-SGD-Sign, ZO-Adam, FG, block-wise ZO-SGD (LoRA-A, LoRA-B, head cycled); plus ZO-SGD with a task-aligned
head (rows = the frozen model's embeddings of "a negative review" / "a positive review"). 400 steps, batch 16;
learning rates from a small fixed grid, tuned on the 500 dev snippets in run 0. Memory = saved-for-backward
bytes of one step + optimizer state + the parameters of the trained part (layer 6 + head). 3 runs.
"""

from __future__ import annotations

import copy

from trustmap.repro.base import Check, ReproResult, register_repro

CLAIM = (
    "Zeroth-order optimizers fine-tune at about inference memory but learn less per step than "
    "first-order ones; FO-SGD beats ZO-SGD, block-wise ZO helps, and task alignment matters."
)
GRID = {
    "fo-sgd": (1e-2, 3e-2, 1e-1),
    "lora": (1e-3, 3e-3, 1e-2),
    "zo-sgd": (1e-3, 3e-3, 1e-2),
    "zo-sgd-sign": (1e-4, 3e-4, 1e-3),
    "zo-adam": (1e-3, 3e-3, 1e-2),
    "fg": (1e-3, 3e-3, 1e-2),
    "zo-block": (1e-3, 3e-3, 1e-2),
}
LABELS = {
    "fo-sgd": "FO-SGD",
    "lora": "FO-Adam",
    "zo-sgd": "ZO-SGD",
    "zo-sgd-sign": "ZO-SGD-Sign",
    "zo-adam": "ZO-Adam",
    "fg": "FG",
    "zo-block": "ZO-SGD block-wise",
}
SIZES = {
    "default": {"n_train": 2000, "n_test": 1000, "n_dev": 500, "steps": 400, "runs": 3, "grid": True},
    "quick": {"n_train": 64, "n_test": 64, "n_dev": 32, "steps": 10, "runs": 1, "grid": False},
}


@register_repro("zo-bench", title="ZO-Bench: zeroth-order fine-tuning benchmark", arxiv="2402.11592")
def zo_bench_experiment(*, size: str, seed: int, progress: bool | None) -> ReproResult:
    import numpy as np
    import torch

    from trustmap.adapt.cache import TopLayers, cache_lower
    from trustmap.adapt.methods import AdaptConfig
    from trustmap.adapt.minilm import encode, fresh_head, fresh_minilm
    from trustmap.adapt.profile import profile_step
    from trustmap.adapt.textdata import stratified_subset
    from trustmap.adapt.train import accuracy, adapt, prepare
    from trustmap.data.dataset import Split
    from trustmap.repro._adapt_experiment import row, rt_splits, summarise

    cfg = SIZES[size]
    base = fresh_minilm(seed=seed, max_len=40).eval()
    anchors = encode(Split(np.array(["a negative review", "a positive review"], object), np.array([0, 1])), max_len=40)
    with torch.no_grad():
        aligned = base.embed(torch.from_numpy(anchors.x))  # (2, 384): rows for rotten, fresh

    def cached(split: Split) -> Split:
        return Split(cache_lower(base, split.x, keep_top=1), split.y)

    def build(s: int, method: str, *, align: bool = False) -> torch.nn.Module:
        model = copy.deepcopy(base)
        head = model.head = fresh_head(seed=s)
        if align:
            with torch.no_grad():
                head.weight.copy_(aligned / aligned.norm(dim=1, keepdim=True) * 10.0)
                head.bias.zero_()
        top = TopLayers(model, keep_top=1)
        prepare(top, AdaptConfig(method=method, scheme="lora"), seed=s)
        return top

    def train_eval(s: int, method: str, lr: float, train: Split, evals: Split, *, align: bool = False) -> dict:
        top = build(s, method, align=align)
        start = accuracy(top, evals)
        conf = AdaptConfig(
            method=method,
            lr=lr,
            batch_size=16,
            steps=cfg["steps"],
            schedule="constant",
            epochs=max(1, round(cfg["steps"] * 16 / max(len(train), 1))),
        )
        run = adapt(
            top, train, config=conf, seed=s, prepared=True, progress=progress, description=f"{method} lr {lr:g}"
        )
        return {
            "start_accuracy": start,
            "test_accuracy": accuracy(top, evals),
            "trainable": run.trainable,
            "train_seconds": round(run.seconds, 1),
        }

    # first-order methods run whole epochs: round(steps * 16 / n_train) of them (375 steps at default size)
    runs, lrs = [], {}
    for k in range(cfg["runs"]):
        s = seed + k
        train_ids, dev_ids, test_ids = rt_splits(n_train=cfg["n_train"], n_test=cfg["n_test"], seed=s, max_len=40)
        train = cached(train_ids)
        test = cached(test_ids)
        if k == 0:
            dev = cached(stratified_subset(dev_ids, cfg["n_dev"], seed=0))
            for method, grid in GRID.items():
                if not cfg["grid"]:
                    lrs[method] = grid[1]
                    continue
                scores = [train_eval(s, method, lr, train, dev)["test_accuracy"] for lr in grid]
                lrs[method] = grid[int(np.argmax(scores))]
        for method in GRID:
            runs.append(
                {
                    "method": LABELS[method],
                    "seed": s,
                    "lr": lrs[method],
                    **train_eval(s, method, lrs[method], train, test),
                }
            )
        runs.append(
            {
                "method": "ZO-SGD aligned head",
                "seed": s,
                "lr": lrs["zo-sgd"],
                **train_eval(s, "zo-sgd", lrs["zo-sgd"], train, test, align=True),
            }
        )
    rows = summarise(runs)
    xb, yb = torch.from_numpy(train.x[:16]), torch.from_numpy(train.y[:16])
    for method in GRID:
        prof = profile_step(build(seed, method), (xb, yb), config=AdaptConfig(method=method, lr=lrs[method]))
        r = row(rows, LABELS[method])
        r.update(
            saved_bytes=prof.memory.saved,
            optimizer_bytes=prof.memory.optimizer,
            param_bytes=prof.memory.params,
            memory_bytes=prof.memory.total,
        )
    return _verdict(rows, runs, size, [seed + k for k in range(cfg["runs"])], cfg)


def _verdict(rows: list, runs: list, size: str, seeds: list[int], cfg: dict) -> ReproResult:
    from trustmap.repro._adapt_experiment import row

    def acc(name: str) -> float:
        return row(rows, name)["test_accuracy"]

    zo = ["ZO-SGD", "ZO-SGD-Sign", "ZO-Adam", "ZO-SGD block-wise"]
    gains = {n: 100 * (acc(n) - row(rows, n)["start_accuracy"]) for n in zo}
    zo_mem = max(row(rows, n)["memory_bytes"] for n in zo)
    adam_mem = row(rows, "FO-Adam")["memory_bytes"]
    zo_saved = max(row(rows, n)["saved_bytes"] for n in zo)
    checks = [
        Check("min ZO gain over start (points)", min(gains.values()), ">= 10", min(gains.values()) >= 10),
        Check(
            "FO-SGD - ZO-SGD (points)", 100 * (acc("FO-SGD") - acc("ZO-SGD")), ">= 0", acc("FO-SGD") >= acc("ZO-SGD")
        ),
        Check(
            "block-wise ZO - ZO-SGD (points)",
            100 * (acc("ZO-SGD block-wise") - acc("ZO-SGD")),
            ">= 0",
            acc("ZO-SGD block-wise") >= acc("ZO-SGD"),
        ),
        Check(
            "aligned - random head ZO-SGD (points)",
            100 * (acc("ZO-SGD aligned head") - acc("ZO-SGD")),
            ">= 3",
            acc("ZO-SGD aligned head") >= acc("ZO-SGD") + 0.03,
        ),
        Check("ZO saved-for-backward bytes", float(zo_saved), "== 0", zo_saved == 0),
        Check("ZO memory / FO-Adam memory", zo_mem / adam_mem, "<= 0.5", zo_mem <= 0.5 * adam_mem),
    ]
    return ReproResult(
        method="zo-bench",
        claim=CLAIM,
        rows=rows,
        checks=checks,
        runs=runs,
        size=size,
        seeds=seeds,
        notes=(
            f"MiniLM layers 1-5 cached; layer 6 (LoRA q/v) + head trained, {cfg['steps']} steps of 16, "
            f"{cfg['n_train']} train / {cfg['n_test']} test snippets (max_len 40). Memory counts the trained "
            "part (layer 6 + head), not the cached lower layers. ZO gains per variant: "
            + ", ".join(f"{k} {v:+.1f}" for k, v in gains.items())
            + "."
        ),
    )
