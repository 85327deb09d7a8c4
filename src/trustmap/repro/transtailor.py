"""``trustmap repro transtailor``: TransTailor (Liu et al., AAAI 2021, arXiv 2103.01542) against L1-norm and
random filter pruning at equal FLOPs, on a Fashion-MNIST transfer task.

Source task: CNN-4 (the ``cnn`` architecture at width 16, as in the ModelDiff zoo, to fit 2 CPU cores)
pre-trained on FMNIST classes 0-4 (30,000 training images, 3 epochs), once per repro run. Target task:
classes 5-9 (relabelled 0-4), ``shots`` training images per class drawn per seed, tested on all 5,000 test
images of those classes. Per seed, from the same pre-trained model:

- ``full fine-tune``: a fresh seeded head, every layer fine-tuned on the target (100% FLOPs); every pruned
  arm starts from this model (TransTailor's step 1);
- ``transtailor`` / ``l1-filter`` / ``random-filter``: :func:`prune_iteratively` to 70% of the MACs (-30%
  FLOPs) with the same schedule (5% of the MACs per iteration, fine-tune after each, final fine-tune);
- ``magnitude (unstructured)`` (report-only): global magnitude pruning to the same budget counted as
  non-zero MACs (a sparse kernel's cost), masked fine-tuning for as many epochs as the iterative arms;
- ``scratch``: the same CNN trained on the target data alone (sanity: pre-training must help).

Checks (paired over seeds): full fine-tune beats the majority class and scratch (sanity); TransTailor >=
L1 + 1 point and >= full fine-tune - 0.5 point at -30% FLOPs; mean per-layer Spearman correlation between
TransTailor's and L1's filter rankings on the fine-tuned model < 0.8 (methods.md).
"""

from __future__ import annotations

import copy
import time

import numpy as np
import torch
from torch import nn

from trustmap.data import load_dataset
from trustmap.data.dataset import Split
from trustmap.data.splits import stratified_indices
from trustmap.models import TrainConfig, build_model, fit
from trustmap.models.pruning.filters import find_units, l1_scores, magnitude_masks
from trustmap.models.pruning.flops import count_flops
from trustmap.models.pruning.transtailor import PruneConfig, prune_iteratively
from trustmap.repro._stats import mean_interval
from trustmap.repro.base import Check, ReproResult, register_repro
from trustmap.utils.progress import progress_bar
from trustmap.utils.seed import derive_seed, seeded_global_rng

SHAPE = (1, 28, 28)
WIDTH = 16
SOURCE, TARGET = (0, 1, 2, 3, 4), (5, 6, 7, 8, 9)
SIZES = {
    "default": {
        "seeds": 5,
        "source_n": 30000,
        "pretrain_epochs": 3,
        "shots": 30,
        "test": 5000,
        "init_epochs": 15,
        "prune": {"alpha_epochs": 10, "finetune_epochs": 4, "final_epochs": 10, "step": 0.05},
    },
    "quick": {
        "seeds": 2,
        "source_n": 1000,
        "pretrain_epochs": 1,
        "shots": 6,
        "test": 200,
        "init_epochs": 2,
        "prune": {"alpha_epochs": 1, "finetune_epochs": 1, "final_epochs": 1, "step": 0.15},
    },
}
ARMS = ("full fine-tune", "transtailor", "l1-filter", "random-filter", "magnitude (unstructured)", "scratch")


def _relabel(split: Split, classes: tuple[int, ...]) -> Split:
    idx = np.flatnonzero(np.isin(split.y, classes))
    lut = np.full(10, -1, np.int64)
    lut[list(classes)] = np.arange(len(classes))
    return Split(split.x[idx], lut[split.y[idx]])


@torch.no_grad()
def accuracy(model: nn.Module, data: Split) -> float:
    model.eval()
    x = torch.from_numpy(np.ascontiguousarray(data.x, np.float32))
    pred = torch.cat([model(x[i : i + 1000]).argmax(1) for i in range(0, len(x), 1000)]).numpy()
    return float((pred == data.y).mean())


def pretrain(source: Split, *, epochs: int, seed: int) -> nn.Module:
    """CNN-4 (width 16) trained on the source classes."""
    model = build_model("cnn", input_shape=SHAPE, num_classes=len(SOURCE), seed=seed, width=WIDTH)
    with seeded_global_rng(seed):
        fit(model, source, config=TrainConfig(epochs=epochs, batch_size=128, lr=3e-3), seed=seed, progress=False)
    return model.eval()


def _spearman_by_layer(a: dict, b: dict) -> float:
    from scipy.stats import spearmanr

    rhos = [float(spearmanr(a[k].numpy(), b[k].numpy()).statistic) for k in a]
    return float(np.nanmean(rhos))


def compare_arms(
    pretrained: nn.Module,
    train: Split,
    test: Split,
    *,
    seed: int,
    init_epochs: int,
    prune: dict,
    flops_ratio: float = 0.7,
    tick=None,
) -> tuple[list[dict], float]:
    """One seed of every arm: rows ``{method, accuracy, macs, params, flops_kept}`` and the TransTailor/L1
    Spearman. Importable by ``benchmarks/_transtailor.py`` (the transtailor section of ``bench_compression.py``)."""
    tick = tick or (lambda: None)
    cfg = PruneConfig(flops_ratio=flops_ratio, **prune)
    ft_cfg = TrainConfig(epochs=init_epochs, batch_size=32, lr=1e-3)
    base = copy.deepcopy(pretrained)
    head = base[-1]
    with seeded_global_rng(derive_seed(seed, 1)):
        base[-1] = nn.Linear(head.in_features, len(TARGET))
        fit(base, train, config=ft_cfg, seed=seed, progress=False)
    dense = count_flops(base, SHAPE)
    rows = [_row("full fine-tune", base, test, dense.macs, dense.macs, dense.params)]
    tick()
    first = {}
    for arm, criterion in (("transtailor", "transtailor"), ("l1-filter", "l1"), ("random-filter", "random")):
        with seeded_global_rng(derive_seed(seed, 2)):
            out = prune_iteratively(base, train, input_shape=SHAPE, criterion=criterion, config=cfg, seed=seed)
        first[criterion] = out.first_scores
        rows.append(_row(arm, out.model, test, out.macs, dense.macs, out.params, iterations=len(out.history)))
        tick()
    rows.append(_magnitude(base, train, test, cfg, seed, rows[1]["iterations"], dense))
    tick()
    scratch = build_model("cnn", input_shape=SHAPE, num_classes=len(TARGET), seed=derive_seed(seed, 3), width=WIDTH)
    epochs = init_epochs + rows[1]["iterations"] * cfg.finetune_epochs + cfg.final_epochs
    with seeded_global_rng(derive_seed(seed, 3)):
        fit(scratch, train, config=TrainConfig(epochs=epochs, batch_size=32, lr=3e-3), seed=seed, progress=False)
    rows.append(_row("scratch", scratch, test, dense.macs, dense.macs, dense.params))
    tick()
    rho = _spearman_by_layer(first["transtailor"], l1_scores(base, normalize=False))
    return rows, rho


def _row(method: str, model: nn.Module, test: Split, macs: int, base: int, params: int, **extra) -> dict:
    return {
        "method": method,
        "accuracy": accuracy(model, test),
        "macs": int(macs),
        "flops_kept": macs / base,
        "params": int(params),
        **extra,
    }


def _magnitude(base: nn.Module, train: Split, test: Split, cfg: PruneConfig, seed: int, iters: int, dense) -> dict:
    model = copy.deepcopy(base)
    masks = magnitude_masks(model, budget=cfg.flops_ratio * dense.macs, input_shape=SHAPE)
    mods = dict(model.named_modules())

    def apply() -> None:
        with torch.no_grad():
            for n, m in masks.items():
                mods[n].weight.mul_(m)

    def loss(m: nn.Module, xb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
        apply()
        return nn.functional.cross_entropy(m(xb), yb)

    apply()
    epochs = iters * cfg.finetune_epochs + cfg.final_epochs
    if epochs:
        with seeded_global_rng(derive_seed(seed, 4)):
            fit(
                model,
                train,
                config=TrainConfig(epochs=epochs, batch_size=32, lr=cfg.lr),
                seed=seed,
                loss_fn=loss,
                progress=False,
            )
    apply()
    sparse = count_flops(model, SHAPE, nonzero=True)
    nnz = sum(int(torch.count_nonzero(p)) for p in model.parameters())
    return _row("magnitude (unstructured)", model, test, sparse.macs, dense.macs, nnz)


def _stratified(split: Split, n: int, seed: int) -> Split:
    return split if n >= len(split) else split.subset(np.sort(stratified_indices(split.y, n, seed=seed)))


def load_transfer(ds, *, source_n: int, test: int) -> tuple[Split, Split, Split]:
    """``(source, target_pool, target_test)`` from the Fashion-MNIST dataset ``ds``: ``source_n`` stratified
    source-class images (random state 0), the target classes' training pool, ``test`` stratified target
    test images (random state 0); labels relabelled 0-4."""
    src = _stratified(_relabel(ds.train, SOURCE), source_n, 0)
    return src, _relabel(ds.train, TARGET), _stratified(_relabel(ds.test, TARGET), test, 0)


def target_shots(pool: Split, shots: int, *, seed: int) -> Split:
    """``shots`` training images per target class (random state ``seed``)."""
    return _stratified(pool, shots * len(TARGET), seed)


@register_repro(
    "transtailor",
    title="TransTailor: Pruning the Pre-trained Model for Improved Transfer Learning",
    arxiv="2103.01542",
)
def transtailor_experiment(*, size: str, seed: int, progress: bool | None) -> ReproResult:
    cfg = SIZES[size]
    start = time.perf_counter()
    seeds = [seed + i for i in range(cfg["seeds"])]
    ds = load_dataset("fashion-mnist")
    source, pool, test = load_transfer(ds, source_n=cfg["source_n"], test=cfg["test"])
    majority = float(np.bincount(test.y).max() / len(test.y))
    runs: list[dict] = []
    rhos: list[float] = []
    with progress_bar("transtailor", total=1 + len(seeds) * len(ARMS), enabled=progress) as tick:
        pretrained = pretrain(source, epochs=cfg["pretrain_epochs"], seed=seed)
        src_test = _relabel(ds.test, SOURCE)
        source_acc = accuracy(pretrained, src_test)
        tick()
        for s in seeds:
            train = target_shots(pool, cfg["shots"], seed=s)
            rows, rho = compare_arms(
                pretrained, train, test, seed=s, init_epochs=cfg["init_epochs"], prune=cfg["prune"], tick=tick
            )
            rhos.append(rho)
            runs += [{"seed": s, **r} for r in rows]
    per = {m: [r for r in runs if r["method"] == m] for m in ARMS}
    out_rows = []
    for m in ARMS:
        acc = mean_interval([r["accuracy"] for r in per[m]])
        out_rows.append(
            {
                "method": m,
                "accuracy": acc.mean,
                "accuracy_95": acc.text(),
                "flops_kept": float(np.mean([r["flops_kept"] for r in per[m]])),
                "macs": float(np.mean([r["macs"] for r in per[m]])),
                "params": float(np.mean([r["params"] for r in per[m]])),
                "accuracy_per_seed": [round(r["accuracy"], 4) for r in per[m]],
            }
        )

    def diff(a: str, b: str) -> list[float]:
        return [x["accuracy"] - y["accuracy"] for x, y in zip(per[a], per[b], strict=True)]

    checks = [
        Check.over_seeds(
            "sanity: full fine-tune accuracy minus majority class",
            [r["accuracy"] - majority for r in per["full fine-tune"]],
            threshold=0.0,
            kind="sanity",
        ),
        Check.over_seeds(
            "sanity: full fine-tune minus training from scratch (pre-training helps)",
            diff("full fine-tune", "scratch"),
            threshold=0.0,
            kind="sanity",
        ),
        Check.over_seeds(
            "TransTailor minus L1-filter pruning at -30% FLOPs (points, paired)",
            diff("transtailor", "l1-filter"),
            threshold=0.01,
            scale=100,
        ),
        Check.over_seeds(
            "TransTailor minus full fine-tune (points, paired)",
            diff("transtailor", "full fine-tune"),
            threshold=-0.005,
            scale=100,
        ),
        Check.over_seeds(
            "Spearman of TransTailor vs L1 filter rankings (mean over layers)", rhos, threshold=0.8, above=False
        ),
        Check.over_seeds(
            "info: TransTailor minus random-filter pruning (points, paired)",
            diff("transtailor", "random-filter"),
            threshold=0.0,
            kind="info",
            scale=100,
        ),
    ]
    kept = {m: max(r["flops_kept"] for r in per[m]) for m in ("transtailor", "l1-filter", "random-filter")}
    return ReproResult(
        method="transtailor",
        claim="At -30% FLOPs, target-aware TransTailor pruning of a pre-trained CNN beats L1-norm filter pruning "
        "by >= 1 point on the target task and stays within 0.5 point of full fine-tuning.",
        rows=out_rows,
        checks=checks,
        runs=runs
        + [{"seed": s, "method": "spearman transtailor-vs-l1", "rho": r} for s, r in zip(seeds, rhos, strict=True)],
        size=size,
        seeds=seeds,
        seconds=time.perf_counter() - start,
        notes=f"CNN-4 (cnn, width {WIDTH}) pre-trained on FMNIST classes 0-4 ({len(source)} images, "
        f"{cfg['pretrain_epochs']} epochs; source test accuracy {source_acc:.3f}). Target: classes 5-9, "
        f"{cfg['shots']} images per class per seed, {len(test)} test images; majority {majority:.3f}. "
        f"Full fine-tune: Adam lr 1e-3, batch 32, {cfg['init_epochs']} epochs. Pruning to 70% MACs, "
        f"schedule {cfg['prune']}; max MACs kept per arm {kept} (FLOPs = conv+linear multiply-accumulates). "
        f"{len(find_units(pretrained))} prunable conv layers. Intervals: 95% Student t over seeds.",
    )
