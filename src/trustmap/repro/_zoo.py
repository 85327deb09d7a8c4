"""A model-reuse benchmark on Fashion-MNIST for ModelDiff (Li et al., ISSTA 2021, arXiv 2106.08890).

Sources (``cnn-s``, ``mlp``, ``cnn``) are trained on FM-10k. Each source gets **reused** derivatives:

- ``finetune``: fine-tuned on 5,000 other FMNIST training images (same task);
- ``transfer``: a fresh head, then every layer fine-tuned to MNIST-5k (a different task, cross-task pair);
- ``prune``: 50% magnitude pruning of every conv/linear weight, then 1 epoch of fine-tuning (mask kept);
- ``quantize``: every weight tensor rounded to int8 (symmetric, per tensor) and back;
- ``distill``: a student of another architecture on the source's soft labels for 10,000 unlabelled
  FMNIST training images;
- ``steal``: a KnockoffNets thief (``cnn-s``) on the source's hard labels for 2,500 MNIST-5k plus 2,500
  FMNIST queries.

and **independent** models: the same architecture from another random state (``seed``), on another 10k
split (``split``), on MNIST-5k only (``mnist``, cross-task pair), and the other sources (``arch``: another
architecture on the same data). The FMNIST training pools (FM-10k, other 10k, distillation 10k,
fine-tuning 5k) are disjoint. ``cnn`` is built at width 16 (CNN-4 at half width) to fit the CPU budget;
accuracies are on the first 2,000 test images of each model's task (fewer in quick runs). Inputs ``(N, 1, 28, 28)`` in [0, 1]; every model returns 10 logits.

>>> zoo = build_zoo(fmnist, mnist, sources=("cnn-s",), epochs=3, seed=0)
>>> [(p.a, p.b, p.reused) for p in zoo.pairs][:2]
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
STUDENT = {"cnn-s": "mlp", "mlp": "cnn-s", "cnn": "cnn-s"}
REUSED = ("finetune", "transfer", "prune", "quantize", "distill", "steal")
INDEPENDENT = ("seed", "split", "mnist", "arch")
CROSS_TASK = ("transfer", "mnist")
ARCH_OPTIONS = {"cnn": {"width": 16}}  # CNN-4 at half width: 4x cheaper to train on 2 cores
EVAL_SIZE = 2000


@dataclass(frozen=True)
class Pair:
    """One benchmark pair: the source ``a`` and the suspect ``b`` (keys into :attr:`Zoo.models`)."""

    a: str
    b: str
    kind: str  # one of REUSED or INDEPENDENT
    reused: bool

    @property
    def cross_task(self) -> bool:
        return self.kind in CROSS_TASK


@dataclass
class Zoo:
    models: dict[str, nn.Module] = field(default_factory=dict)
    pairs: list[Pair] = field(default_factory=list)
    accuracy: dict[str, float] = field(default_factory=dict)  # on the task each model was trained for


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
    """Disjoint FMNIST training pools: FM-10k, other 10k, distillation 10k, fine-tuning 5k."""
    order = np.random.default_rng(seed).permutation(len(fmnist.train))
    sizes = {"fm10k": 10000, "other": 10000, "distill": 10000, "finetune": 5000}
    out, start = {}, 0
    for name, n in sizes.items():
        out[name] = np.sort(order[start : start + n])
        start += n
    return out


def build_zoo(
    fmnist: Dataset,
    mnist: Dataset,
    *,
    sources: tuple[str, ...] = ("cnn-s", "mlp", "cnn"),
    epochs: int = 3,
    scale: float = 1.0,
    seed: int = 0,
    tick=None,
) -> Zoo:
    """Train the sources, their reused derivatives and the independent models; ``scale`` shrinks every
    training pool (quick runs). ``tick()`` is called once per trained model. Dropout masks come from
    ``seed`` too (the global torch random state is forked, seeded and restored), so a seed fixes the zoo."""
    with seeded_global_rng(seed):
        return _build_zoo(fmnist, mnist, sources=sources, epochs=epochs, scale=scale, seed=seed, tick=tick)


def _build_zoo(
    fmnist: Dataset,
    mnist: Dataset,
    *,
    sources: tuple[str, ...],
    epochs: int,
    scale: float,
    seed: int,
    tick=None,
) -> Zoo:
    tick = tick or (lambda *a, **k: None)
    pools = {k: v[: max(200, int(len(v) * scale))] for k, v in _pools(fmnist, seed).items()}
    fm10k, other = fmnist.train.subset(pools["fm10k"]), fmnist.train.subset(pools["other"])
    ft_data = fmnist.train.subset(pools["finetune"])
    n_mnist = max(200, int(len(mnist.train) * scale))
    mnist_train = mnist.train.subset(np.arange(n_mnist))
    rng = np.random.default_rng(seed + 1)
    mnist_all = np.concatenate([mnist.train.x, mnist.test.x])
    n_q = max(100, int(2500 * scale))
    queries = np.concatenate([mnist_all[rng.permutation(len(mnist_all))[:n_q]], fmnist.train.x[pools["distill"][:n_q]]])
    distill_x = fmnist.train.x[pools["distill"]]
    fm_test = fmnist.test.subset(np.arange(int(EVAL_SIZE * min(1.0, 4 * scale))))
    zoo = Zoo()
    for i, arch in enumerate(sources):
        s = seed * 1000 + 10 * i
        src = _train(arch, fm10k, epochs=epochs, seed=s)
        zoo.models[arch] = src
        zoo.accuracy[arch] = _accuracy(src, fm_test)
        tick()
        derived: dict[str, nn.Module] = {}
        derived["finetune"] = _finetune(copy.deepcopy(src), ft_data, epochs=1, seed=s + 1, lr=5e-4)
        tick()
        transfer = copy.deepcopy(src)
        head = [m for m in transfer.modules() if isinstance(m, nn.Linear)][-1]
        with seeded_global_rng(s + 2):
            head.reset_parameters()
        derived["transfer"] = _finetune(transfer, mnist_train, epochs=2, seed=s + 2, lr=1e-3)
        tick()
        pruned = copy.deepcopy(src)
        masks = prune_magnitude(pruned, amount=0.5)
        mods = dict(pruned.named_modules())

        def masked_loss(model: nn.Module, xb: torch.Tensor, yb: torch.Tensor, masks=masks, mods=mods) -> torch.Tensor:
            with torch.no_grad():
                for name, mask in masks.items():
                    mods[name].weight.mul_(mask)
            return nn.functional.cross_entropy(model(xb), yb)

        fit(
            pruned,
            fm10k,
            config=TrainConfig(epochs=1, batch_size=64, lr=5e-4),
            seed=s + 3,
            loss_fn=masked_loss,
            progress=False,
        )
        with torch.no_grad():
            for name, mask in masks.items():
                mods[name].weight.mul_(mask)
        derived["prune"] = pruned.eval()
        tick()
        derived["quantize"] = quantize_int8(copy.deepcopy(src)).eval()
        soft = softmax(_logits(src, distill_x))
        student = _build(STUDENT[arch], s + 4)
        derived["distill"] = train_thief(
            student, distill_x, soft, soft=True, seed=s + 4, config=TrainConfig(epochs=epochs, batch_size=128, lr=3e-3)
        )
        tick()
        hard = _logits(src, queries).argmax(1)
        thief = _build("cnn-s", s + 5)
        derived["steal"] = train_thief(
            thief, queries, hard, soft=False, seed=s + 5, config=TrainConfig(epochs=2 * epochs, batch_size=64, lr=2e-3)
        )
        tick()
        indep = {
            "seed": _train(arch, fm10k, epochs=epochs, seed=s + 6),
            "split": _train(arch, other, epochs=epochs, seed=s + 7),
            "mnist": _train(arch, mnist_train, epochs=epochs, seed=s + 8),
        }
        tick(3)
        for kind, model in {**derived, **indep}.items():
            key = f"{arch}/{kind}"
            zoo.models[key] = model
            task = mnist.test if kind in CROSS_TASK else fm_test
            zoo.accuracy[key] = _accuracy(model, task)
            zoo.pairs.append(Pair(arch, key, kind, kind in REUSED))
    for i, a in enumerate(sources):
        for b in sources[i + 1 :]:
            zoo.pairs.append(Pair(a, b, "arch", False))
    return zoo
