"""A model-reuse benchmark on Fashion-MNIST for ModelDiff (Li et al., ISSTA 2021, arXiv 2106.08890), built
the paper's way: models form **lineages**, each grown from one root, and two models are reused when they
share a root, independent when their roots differ.

Roots (``ROOTS``) are trained from scratch on FMNIST 10k pools: ``cnn-s`` and ``mlp`` on pool ``a``, and
``cnn-s@b`` (another random state) on the disjoint pool ``b`` -- independent roots differ by
architecture, by data subset or both, and by seed. Each root gets **derivatives**:

- ``finetune``: fine-tuned on 5,000 other FMNIST training images (same task);
- ``transfer``: a fresh head, then every layer fine-tuned to MNIST-5k (a different task, cross-task);
- ``prune``: 50% magnitude pruning of every conv/linear weight, then 1 epoch of fine-tuning (mask kept);
- ``quantize``: every weight tensor rounded to int8 (symmetric, per tensor) and back;
- ``distill``: a student of another architecture on the root's soft labels for 10,000 unlabelled
  FMNIST training images;
- ``steal``: a KnockoffNets thief of another architecture on the root's hard labels for 2,500 MNIST-5k
  plus 2,500 FMNIST queries.

Pairs: **reused** = root vs each derivative, and siblings (derivatives of one root, in a fixed cycle);
**independent** = root vs root and root vs every derivative of another root; **hard** (reported apart,
not in the claim): a same-recipe retrain (the root's architecture, data and schedule, another seed: a
different root that only the seed tells apart) vs the root and its derivatives. The FMNIST pools (two
10k roots' pools, distillation 10k, fine-tuning 5k) are disjoint. Accuracies are on the first 2,000
test images of each model's task. Inputs ``(N, 1, 28, 28)`` in [0, 1]; every model returns 10 logits.

>>> zoo = build_zoo(fmnist, mnist, roots=(("cnn-s", "a"), ("mlp", "a")), epochs=3, seed=0)
>>> [(p.a, p.b, p.group) for p in zoo.pairs][:2]
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from trustmap.data.dataset import Dataset, Split
from trustmap.models.architectures import build_model
from trustmap.models.train import TrainConfig, fit
from trustmap.probes.extraction.knockoff import softmax, train_thief
from trustmap.utils.seed import seeded_global_rng

SHAPE = (1, 28, 28)
OTHER_ARCH = {"cnn-s": "mlp", "mlp": "cnn-s", "cnn": "cnn-s"}
ROOTS: tuple[tuple[str, str], ...] = (("cnn-s", "a"), ("mlp", "a"), ("cnn-s", "b"))
DERIVED = ("finetune", "transfer", "prune", "quantize", "distill", "steal")
CROSS_TASK = ("transfer",)
ARCH_OPTIONS = {"cnn": {"width": 16}}  # CNN-4 at half width: 4x cheaper to train on 2 cores
EVAL_SIZE = 2000
GROUPS = ("reused", "independent", "hard")


@dataclass(frozen=True)
class Pair:
    """One benchmark pair: the owner's model ``a`` and the suspect ``b`` (keys into :attr:`Zoo.models`)."""

    a: str
    b: str
    kind: str  # reused: the derivative kind or "sibling"; independent: how the roots differ; hard: "retrain"
    group: str  # one of GROUPS

    @property
    def reused(self) -> bool:
        return self.group == "reused"


@dataclass
class Zoo:
    models: dict[str, nn.Module] = field(default_factory=dict)
    pairs: list[Pair] = field(default_factory=list)
    accuracy: dict[str, float] = field(default_factory=dict)  # on the task each model was trained for
    task: dict[str, str] = field(default_factory=dict)  # "fmnist" or "mnist"
    root: dict[str, str] = field(default_factory=dict)  # the root each model grew from

    def cross_task(self, pair: Pair) -> bool:
        return self.task[pair.a] != self.task[pair.b]


def prune_magnitude(model: nn.Module, *, amount: float = 0.5) -> dict[str, torch.Tensor]:
    """Zero the ``amount`` smallest-magnitude entries of every conv/linear weight in place; return masks."""
    masks = {}
    with torch.no_grad():
        for name, m in model.named_modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                w = m.weight
                k = int(amount * w.numel())
                if k == 0:
                    continue
                cut = w.abs().flatten().kthvalue(k).values
                masks[name] = (w.abs() > cut).to(w.dtype)
                w.mul_(masks[name])
    return masks


def quantize_int8(model: nn.Module) -> nn.Module:
    """Round every floating-point parameter to symmetric per-tensor int8 and back, in place."""
    with torch.no_grad():
        for p in model.parameters():
            scale = p.abs().max() / 127.0
            if scale > 0:
                p.copy_(torch.clamp(torch.round(p / scale), -127, 127) * scale)
    return model


def _build(arch: str, seed: int) -> nn.Module:
    return build_model(arch, input_shape=SHAPE, num_classes=10, seed=seed, **ARCH_OPTIONS.get(arch, {}))


def _train(arch: str, data: Split, *, epochs: int, seed: int, lr: float = 3e-3) -> nn.Module:
    model = _build(arch, seed)
    fit(model, data, config=TrainConfig(epochs=epochs, batch_size=128, lr=lr), seed=seed, progress=False)
    return model.eval()


@torch.no_grad()
def _logits(model: nn.Module, x: np.ndarray) -> np.ndarray:
    model.eval()
    t = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    return torch.cat([model(t[i : i + 1000]) for i in range(0, len(t), 1000)]).numpy()


def _accuracy(model: nn.Module, data: Split) -> float:
    return float((_logits(model, data.x).argmax(1) == data.y).mean())


def _finetune(model: nn.Module, data: Split, *, epochs: int, seed: int, lr: float) -> nn.Module:
    fit(model, data, config=TrainConfig(epochs=epochs, batch_size=64, lr=lr), seed=seed, progress=False)
    return model.eval()


def _pools(fmnist: Dataset, seed: int) -> dict[str, np.ndarray]:
    """Disjoint FMNIST training pools: two roots' 10k pools, distillation 10k, fine-tuning 5k."""
    order = np.random.default_rng(seed).permutation(len(fmnist.train))
    sizes = {"a": 10000, "b": 10000, "distill": 10000, "finetune": 5000}
    out, start = {}, 0
    for name, n in sizes.items():
        out[name] = np.sort(order[start : start + n])
        start += n
    return out


def root_name(arch: str, pool: str) -> str:
    return arch if pool == "a" else f"{arch}@{pool}"


def build_zoo(
    fmnist: Dataset,
    mnist: Dataset,
    *,
    roots: tuple[tuple[str, str], ...] = ROOTS,
    epochs: int = 3,
    scale: float = 1.0,
    retrain: bool = True,
    seed: int = 0,
    tick=None,
) -> Zoo:
    """Train the roots, their derivatives and (``retrain``) a same-recipe retrain of each pool-``a`` root;
    ``scale`` shrinks every training pool (quick runs). ``tick()`` is called once per model. Dropout masks
    come from ``seed`` too (the global torch random state is forked, seeded and restored)."""
    with seeded_global_rng(seed):
        return _build_zoo(fmnist, mnist, roots=roots, epochs=epochs, scale=scale, retrain=retrain, seed=seed, tick=tick)


def _pruned(src: nn.Module, data: Split, *, seed: int) -> nn.Module:
    pruned = copy.deepcopy(src)
    masks = prune_magnitude(pruned, amount=0.5)
    mods = dict(pruned.named_modules())

    def masked_loss(model: nn.Module, xb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            for name, mask in masks.items():
                mods[name].weight.mul_(mask)
        return nn.functional.cross_entropy(model(xb), yb)

    fit(
        pruned,
        data,
        config=TrainConfig(epochs=1, batch_size=64, lr=5e-4),
        seed=seed,
        loss_fn=masked_loss,
        progress=False,
    )
    with torch.no_grad():
        for name, mask in masks.items():
            mods[name].weight.mul_(mask)
    return pruned.eval()


def _derive(src: nn.Module, arch: str, *, data: dict, epochs: int, s: int) -> dict[str, nn.Module]:
    """The six reused derivatives of one root (see the module docstring)."""
    out: dict[str, nn.Module] = {}
    out["finetune"] = _finetune(copy.deepcopy(src), data["finetune"], epochs=1, seed=s + 1, lr=5e-4)
    transfer = copy.deepcopy(src)
    head = [m for m in transfer.modules() if isinstance(m, nn.Linear)][-1]
    with seeded_global_rng(s + 2):
        head.reset_parameters()
    out["transfer"] = _finetune(transfer, data["mnist"], epochs=2, seed=s + 2, lr=1e-3)
    out["prune"] = _pruned(src, data["root"], seed=s + 3)
    out["quantize"] = quantize_int8(copy.deepcopy(src)).eval()
    soft = softmax(_logits(src, data["distill"]))
    out["distill"] = train_thief(
        _build(OTHER_ARCH[arch], s + 4),
        data["distill"],
        soft,
        soft=True,
        seed=s + 4,
        config=TrainConfig(epochs=epochs, batch_size=128, lr=3e-3),
    )
    hard = _logits(src, data["queries"]).argmax(1)
    out["steal"] = train_thief(
        _build(OTHER_ARCH[arch], s + 5),
        data["queries"],
        hard,
        soft=False,
        seed=s + 5,
        config=TrainConfig(epochs=2 * epochs, batch_size=64, lr=2e-3),
    )
    return out


def _how_roots_differ(a: tuple[str, str], b: tuple[str, str]) -> str:
    parts = [what for what, same in (("arch", a[0] == b[0]), ("data", a[1] == b[1])) if not same]
    return "other-" + "-".join(parts) if parts else "other-seed"


def _build_zoo(
    fmnist: Dataset,
    mnist: Dataset,
    *,
    roots: tuple[tuple[str, str], ...],
    epochs: int,
    scale: float,
    retrain: bool,
    seed: int,
    tick=None,
) -> Zoo:
    tick = tick or (lambda *a, **k: None)
    pools = {k: v[: max(200, int(len(v) * scale))] for k, v in _pools(fmnist, seed).items()}
    n_mnist = max(200, int(len(mnist.train) * scale))
    rng = np.random.default_rng(seed + 1)
    mnist_all = np.concatenate([mnist.train.x, mnist.test.x])
    n_q = max(100, int(2500 * scale))
    queries = np.concatenate([mnist_all[rng.permutation(len(mnist_all))[:n_q]], fmnist.train.x[pools["distill"][:n_q]]])
    shared = {
        "finetune": fmnist.train.subset(pools["finetune"]),
        "mnist": mnist.train.subset(np.arange(n_mnist)),
        "distill": fmnist.train.x[pools["distill"]],
        "queries": queries,
    }
    fm_test = fmnist.test.subset(np.arange(int(EVAL_SIZE * min(1.0, 4 * scale))))
    mn_test = mnist.test.subset(np.arange(min(len(mnist.test), len(fm_test))))
    zoo = Zoo()

    def add(key: str, model: nn.Module, root: str, task: str = "fmnist") -> None:
        zoo.models[key], zoo.root[key], zoo.task[key] = model, root, task
        zoo.accuracy[key] = _accuracy(model, mn_test if task == "mnist" else fm_test)
        tick()

    lineages: dict[str, list[str]] = {}
    for i, (arch, pool) in enumerate(roots):
        s, name = seed * 1000 + 10 * i, root_name(arch, pool)
        data = {**shared, "root": fmnist.train.subset(pools[pool])}
        src = _train(arch, data["root"], epochs=epochs, seed=s)
        add(name, src, name)
        lineages[name] = []
        for kind, model in _derive(src, arch, data=data, epochs=epochs, s=s).items():
            add(f"{name}/{kind}", model, name, "mnist" if kind in CROSS_TASK else "fmnist")
            lineages[name].append(f"{name}/{kind}")
            zoo.pairs.append(Pair(name, f"{name}/{kind}", kind, "reused"))
        kids = lineages[name]
        for j, k in enumerate(kids):
            zoo.pairs.append(Pair(k, kids[(j + 1) % len(kids)], "sibling", "reused"))
        if retrain and pool == "a":
            twin = f"{name}~retrain"
            add(twin, _train(arch, data["root"], epochs=epochs, seed=s + 7), twin)
            zoo.pairs += [Pair(twin, m, "retrain", "hard") for m in [name, *kids]]
    for i, ra in enumerate(roots):
        for j, rb in enumerate(roots):
            na, nb = root_name(*ra), root_name(*rb)
            if i == j:
                continue
            if i < j:
                zoo.pairs.append(Pair(na, nb, _how_roots_differ(ra, rb), "independent"))
            zoo.pairs += [Pair(na, k, _how_roots_differ(ra, rb), "independent") for k in lineages[nb]]
    return zoo
