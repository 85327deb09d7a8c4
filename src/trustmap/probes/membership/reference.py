"""Reference (shadow) models that trustmap trains itself, for reference-model membership attacks.

The auditor has a ``pool`` of same-distribution examples that the target never saw. Each reference
model trains on a random half of it, with the target's architecture when that is a registered
trainable one (otherwise a fast default: ``cnn-s`` for images, ``mlp`` for tables) and that
architecture's recipe, capped at ``max_epochs`` so that audits stay fast. Halves come in complementary
pairs (model ``2j`` trains on one half, model ``2j+1`` on the other), so every pool example is a member
of exactly half of the models of a pair and each model has a partner that never saw its data.

Seeds: model ``k``'s initial weights, batch order and half come from ``(seed, k)``; the global torch
RNG is left untouched. Shapes: ``pool.x (P, ...)``; ``halves[k]`` indexes ``pool``.

>>> refs = train_reference_models(pool, kind="image", arch="cnn-s", input_shape=(1, 28, 28),
...                               num_classes=10, count=2, max_epochs=3, seed=0)
>>> refs.models[0](torch.zeros(1, 1, 28, 28)).shape
torch.Size([1, 10])
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch
from torch import nn

from trustmap.data.dataset import Split
from trustmap.errors import ModelError
from trustmap.models.architectures import arch_info, arch_names, build_model
from trustmap.models.handle import ModelHandle
from trustmap.models.recipes import recipe
from trustmap.models.train import fit
from trustmap.probes.base import AuditData

FAST_ARCH = {"image": "cnn-s", "table": "mlp"}


def derived_seed(seed: int, *keys: int) -> int:
    """A 31-bit seed derived from ``seed`` and ``keys`` (independent streams for independent parts)."""
    return int(np.random.SeedSequence([seed, *keys]).generate_state(1)[0] & 0x7FFFFFFF)


def reference_arch(model: ModelHandle, kind: str, override: str | None = None) -> str:
    """``override`` if given, else the target's architecture when trustmap can train it, else ``FAST_ARCH``."""
    if override is not None:
        info = arch_info(override)  # raises a one-line ModelError for an unknown name
        if kind not in info.kinds:
            raise ModelError(f"reference architecture {override!r} is for {'/'.join(info.kinds)} data, not {kind}")
        return override
    arch = model.meta.arch
    if arch and kind != "text" and arch in arch_names(kind):
        return arch
    if kind not in FAST_ARCH:
        raise ModelError(f"no reference architecture for {kind} data; pass reference_arch")
    return FAST_ARCH[kind]


@dataclass
class ReferenceModels:
    """Trained reference models (eval mode), the architecture and the pool indices each trained on."""

    arch: str
    models: list[nn.Module]
    halves: list[np.ndarray]
    epochs: int

    @torch.no_grad()
    def logits(self, split: Split, *, models: list[int] | None = None, batch_size: int = 512) -> np.ndarray:
        """Logits of each model (all, or the indices ``models``): ``(len(models), len(split), classes)``."""
        x = torch.from_numpy(np.ascontiguousarray(split.x, dtype=np.float32))
        out = []
        for k in range(len(self.models)) if models is None else models:
            m = self.models[k].eval()
            out.append(torch.cat([m(x[i : i + batch_size]) for i in range(0, len(x), batch_size)]).double().numpy())
        return np.stack(out)

    def true_class_probs(
        self, split: Split, *, models: list[int] | None = None, temperature: float = 1.0
    ) -> np.ndarray:
        """``p_k(y | x)`` (softmax of logits / ``temperature``) per model ``k``: ``(len(split), len(models))``."""
        return stacked_true_class_probs(self.logits(split, models=models), split.y, temperature=temperature)


def stacked_true_class_probs(logits: np.ndarray, y: np.ndarray, *, temperature: float = 1.0) -> np.ndarray:
    """``(K, N, classes)`` logits of ``K`` models and labels ``(N,)`` -> ``p_k(y | x)`` as ``(N, K)``."""
    z = logits / temperature
    z = z - z.max(axis=2, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=2, keepdims=True))
    return np.exp(logp[:, np.arange(len(y)), np.asarray(y, dtype=np.int64)]).T


def train_reference_models(
    pool: Split,
    *,
    kind: str,
    arch: str,
    input_shape: tuple[int, ...],
    num_classes: int,
    count: int,
    max_epochs: int,
    seed: int,
    progress: bool | None = None,
    exact_epochs: bool = False,
) -> ReferenceModels:
    """Train ``count`` models, each on a seeded random half of ``pool`` (complementary pairs).

    Each trains for the recipe's epochs capped at ``max_epochs``, or for exactly ``max_epochs`` with
    ``exact_epochs`` (to mimic a target trained longer than its architecture's recipe says).
    """
    if count < 1:
        raise ValueError(f"need at least one reference model, got {count}")
    if len(pool) < 2:
        raise ValueError("the reference pool needs at least two examples")
    config = recipe(kind, arch)
    config = replace(config, epochs=max(1, max_epochs if exact_epochs else min(config.epochs, max_epochs)))
    halves: list[np.ndarray] = []
    for j in range((count + 1) // 2):
        perm = np.random.default_rng(derived_seed(seed, 1, j)).permutation(len(pool))
        half = len(pool) // 2
        halves += [np.sort(perm[:half]), np.sort(perm[half : 2 * half])]
    halves = halves[:count]
    models = []
    for k, idx in enumerate(halves):
        s = derived_seed(seed, 2, k)
        model = build_model(arch, input_shape=input_shape, num_classes=num_classes, seed=s)
        fit(
            model,
            pool.subset(idx),
            config=config,
            seed=s,
            progress=progress,
            description=f"reference model {k + 1}/{count} ({arch})",
        )
        models.append(model.eval())
    return ReferenceModels(arch=arch, models=models, halves=halves, epochs=config.epochs)


def train_references_for(
    model: ModelHandle,
    data: AuditData,
    pool: Split,
    *,
    arch: str | None,
    count: int,
    max_epochs: int,
    seed: int,
    progress: bool | None = None,
    exact_epochs: bool = False,
) -> ReferenceModels:
    """Reference models for attacking ``model`` on ``data``: :func:`reference_arch` (``arch`` overrides it),
    the target's input shape and classes, trained on ``pool`` by :func:`train_reference_models`."""
    kind = data.dataset.kind
    return train_reference_models(
        pool,
        kind=kind,
        arch=reference_arch(model, kind, arch),
        input_shape=tuple(model.meta.input_shape or data.dataset.input_shape),
        num_classes=model.meta.num_classes or data.dataset.num_classes,
        count=count,
        max_epochs=max_epochs,
        seed=seed,
        progress=progress,
        exact_epochs=exact_epochs,
    )
