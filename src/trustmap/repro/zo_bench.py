"""``trustmap repro zo-bench``: zeroth-order versus first-order fine-tuning of MiniLM on RT (arXiv 2402.11592).

Paper: Revisiting Zeroth-Order Optimization for Memory-Efficient LLM Fine-Tuning: A Benchmark
(arXiv 2402.11592); optimizers as in the authors' code (ZO-Bench/ZO-LLM). Experiment (ours, a CPU-scale analogue of
its RoBERTa/OPT tables; the aligned head stands in for its task templates): frozen MiniLM layers 1-5 run once
and cached (token ids ``(N, 32)`` -> hidden states ``(N, 32, 385)``) for 2,000 training and 1,000 test
snippets; trainable: LoRA r=8 on query/value of layer 6 + linear head (13,058 parameters). Per run, with a
random head: FO-SGD, ZO-SGD, block-wise ZO-SGD (LoRA-A, LoRA-B, head cycled); plus ZO-SGD
with a task-aligned head (rows = the frozen model's embeddings of "a negative review" / "a positive review").
Issue 13: 1,500 steps of batch 16 (was 400, which mostly taught the class prior); every configuration, the
aligned head included, gets its own learning rate, tuned on 150-step runs on the 500 dev snippets in run 0;
gains are measured over the majority class (the start accuracy sat below it). ZO-SGD-Sign, ZO-Adam, FO-Adam
and FG train at the quick size only (budget, ours: each costs about 1.5 CPU-minutes per run at 1,500 steps);
all of them are still profiled for memory. Memory = saved-for-backward bytes of one step
+ optimizer state + the parameters of the trained part (layer 6 + head). 3 runs, paired, 95% intervals.

>>> result = zo_bench_experiment(size="quick", seed=0, progress=False)
>>> result.status
'smoke run'
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from trustmap.repro.base import Check, ReproResult, register_repro

CLAIM = (
    "Zeroth-order optimizers fine-tune at about inference memory and learn well beyond the class prior, but "
    "less per step than first-order ones; FO-SGD beats ZO-SGD, block-wise ZO helps, and task alignment matters."
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
ALIGNED = "ZO-SGD aligned head"
ZO = ("ZO-SGD", "ZO-SGD-Sign", "ZO-Adam", "ZO-SGD block-wise")
# trained in every run at the default size; the others (ZO-SGD-Sign, ZO-Adam, FG, FO-Adam) only at the quick
# size: at 1,500 steps each costs about 1.5 CPU-minutes per run
CORE = ("fo-sgd", "zo-sgd", "zo-block")
SIZES: dict[str, dict[str, Any]] = {
    "default": {
        "n_train": 2000,
        "n_test": 1000,
        "n_dev": 500,
        "steps": 1500,
        "tune_steps": 150,
        "runs": 3,
        "max_len": 32,
        "methods": CORE,
        "grid": True,
    },
    "quick": {
        "n_train": 64,
        "n_test": 64,
        "n_dev": 32,
        "steps": 10,
        "tune_steps": 4,
        "runs": 1,
        "max_len": 32,
        "methods": tuple(GRID),
        "grid": False,
    },
}


@register_repro("zo-bench", title="ZO-Bench: zeroth-order fine-tuning benchmark", arxiv="2402.11592")
def zo_bench_experiment(
    *, size: str, seed: int, progress: bool | None, log: Callable[[list[dict]], None] | None = None
) -> ReproResult:
    """``log`` (optional) receives each run's rows as soon as the run finishes."""
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
    max_len = cfg["max_len"]
    base = fresh_minilm(seed=seed, max_len=max_len).eval()
    words = np.array(["a negative review", "a positive review"], object)
    anchors = encode(Split(words, np.array([0, 1])), max_len=max_len)
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

    def train_eval(s: int, method: str, lr: float, train: Split, evals: Split, steps: int, align: bool) -> dict:
        top = build(s, method, align=align)
        start = accuracy(top, evals)
        conf = AdaptConfig(
            method=method,
            lr=lr,
            batch_size=16,
            steps=steps,
            schedule="constant",
            epochs=max(1, round(steps * 16 / max(len(train), 1))),
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

    # (label, method id, aligned head): each is tuned separately; first-order methods run whole epochs
    configs = [(LABELS[m], m, False) for m in cfg["methods"]] + [(ALIGNED, "zo-sgd", True)]
    runs: list[dict[str, Any]] = []
    lrs: dict[str, float] = {}
    for k in range(cfg["runs"]):
        s = seed + k
        train_ids, dev_ids, test_ids = rt_splits(n_train=cfg["n_train"], n_test=cfg["n_test"], seed=s, max_len=max_len)
        train, test = cached(train_ids), cached(test_ids)
        majority = float(np.mean(test.y == np.bincount(train.y).argmax()))
        if k == 0:
            dev = cached(stratified_subset(dev_ids, cfg["n_dev"], seed=0))
            for label, method, align in configs:
                grid = GRID[method]
                scores = [
                    train_eval(s, method, lr, train, dev, cfg["tune_steps"], align)["test_accuracy"]
                    for lr in (grid if cfg["grid"] else grid[1:2])
                ]
                lrs[label] = (grid if cfg["grid"] else grid[1:2])[int(np.argmax(scores))]
        mine = [
            {
                "method": label,
                "seed": s,
                "lr": lrs[label],
                "majority": majority,
                **train_eval(s, method, lrs[label], train, test, cfg["steps"], align),
            }
            for label, method, align in configs
        ]
        runs += mine
        if log is not None:
            log(mine)
    rows = summarise(runs)
    xb, yb = torch.from_numpy(train.x[:16]), torch.from_numpy(train.y[:16])
    for method in GRID:
        prof = profile_step(build(seed, method), (xb, yb), config=AdaptConfig(method=method, lr=GRID[method][1]))
        mem = {
            "saved_bytes": prof.memory.saved,
            "optimizer_bytes": prof.memory.optimizer,
            "param_bytes": prof.memory.params,
            "memory_bytes": prof.memory.total,
        }
        if any(r["method"] == LABELS[method] for r in rows):
            row(rows, LABELS[method]).update(mem)
        else:  # profiled only (not trained at this size)
            rows.append({"method": LABELS[method], "trained": False, **mem})
    return ReproResult(
        method="zo-bench",
        claim=CLAIM,
        rows=rows,
        checks=zo_bench_checks(runs, rows),
        runs=runs,
        size=size,
        seeds=[seed + k for k in range(cfg["runs"])],
        notes=(
            f"MiniLM layers 1-5 cached; layer 6 (LoRA q/v) + head trained, {cfg['steps']} steps of 16, "
            f"{cfg['n_train']} train / {cfg['n_test']} test snippets (max_len {max_len}); learning rates tuned "
            f"per configuration on {cfg['tune_steps']}-step dev runs: "
            + ", ".join(f"{k} {v:g}" for k, v in lrs.items())
            + ". Memory counts the trained part (layer 6 + head), not the cached lower layers."
        ),
    )


def zo_bench_checks(runs: list[dict[str, Any]], rows: list[dict[str, Any]]) -> list[Check]:
    """Sanity (FO-SGD beats the majority class), each ZO variant's gain over the majority class (>= 10 points),
    the paired FO-SGD/block-wise/aligned-head comparisons over runs, and the memory checks."""
    from trustmap.repro._adapt_experiment import row

    def acc(name: str) -> list[float]:
        return [100 * r["test_accuracy"] for r in runs if r["method"] == name]

    def over_majority(name: str) -> list[float]:
        return [100 * (r["test_accuracy"] - r["majority"]) for r in runs if r["method"] == name]

    def gap(a: str, b: str) -> list[float]:
        return [x - y for x, y in zip(acc(a), acc(b), strict=True)]

    checks = [
        Check.over_seeds(
            "sanity: FO-SGD - majority class (points)", over_majority("FO-SGD"), threshold=0.0, kind="sanity"
        )
    ]
    trained = [n for n in ZO if acc(n)]
    checks += [Check.over_seeds(f"{n} - majority class (points)", over_majority(n), threshold=10.0) for n in trained]
    checks += [
        Check.over_seeds("FO-SGD - ZO-SGD (points)", gap("FO-SGD", "ZO-SGD"), threshold=0.0),
        Check.over_seeds("block-wise ZO - ZO-SGD (points)", gap("ZO-SGD block-wise", "ZO-SGD"), threshold=0.0),
        Check.over_seeds("aligned - random head ZO-SGD (points)", gap(ALIGNED, "ZO-SGD"), threshold=3.0),
        Check.over_seeds(
            "info: ZO-SGD start accuracy - majority class (points)",
            [100 * (r["start_accuracy"] - r["majority"]) for r in runs if r["method"] == "ZO-SGD"],
            threshold=0.0,
            kind="info",
        ),
    ]
    zo_mem = max(row(rows, n)["memory_bytes"] for n in ZO)
    adam_mem = row(rows, "FO-Adam")["memory_bytes"]
    zo_saved = max(row(rows, n)["saved_bytes"] for n in ZO)
    checks += [
        Check("ZO saved-for-backward bytes", float(zo_saved), "== 0", zo_saved == 0),
        Check("ZO memory / FO-Adam memory", zo_mem / adam_mem, "<= 0.5", zo_mem <= 0.5 * adam_mem),
    ]
    return checks
