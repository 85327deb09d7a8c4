"""Backdoor removal: unlearning the inverted trigger (Neural Cleanse) and Fine-Pruning.

- :func:`unlearn_trigger` (Wang et al., "Neural Cleanse: Identifying and Mitigating Backdoor Attacks in
  Neural Networks", IEEE S&P 2019, section VI.C): fine-tune on clean data in which a fraction ``fraction``
  (the paper: 20%) of the images carry the reverse-engineered trigger with their **true** labels, so the
  model learns that the trigger means nothing.
- :func:`neural_cleanse_unlearning`: the whole mitigation without knowing the trigger: invert a trigger
  per class on the clean data (:func:`trustmap.probes.backdoor.invert_triggers`), take the class with the
  smallest mask (the suspected target) and unlearn its trigger.
- :func:`fine_prune` (Liu, Dolan-Gavitt & Garg, "Fine-Pruning: Defending Against Backdooring Attacks on
  Deep Neural Networks", RAID 2018, arXiv 1805.12185): prune the last convolution's channels that are
  least active on clean data (backdoor neurons are dormant on clean inputs), then fine-tune on clean data
  with the pruned channels held at zero.

Each returns a :class:`~trustmap.defenses.base.Defended` (the caller's model is never changed); the
fine-tuning is Adam (lr 1e-3) for ``steps`` mini-batches of ``batch_size`` drawn with ``seed``.
Shapes: images ``(N, C, H, W)`` in the model's value range; ``mask (H, W)`` or ``(1, H, W)``; ``pattern
(C, H, W)``.

>>> out = neural_cleanse_unlearning(backdoored, clean=clean_split, num_classes=10, seed=0)
>>> out.model, out.result.metrics["suspected_target"], out.result.seconds
>>> pruned = fine_prune(backdoored, clean=clean_split, prune_fraction=0.6, seed=0)

Both are ``trustmap harden`` methods that start from an existing model: ``--method nc-unlearn`` and
``--method fine-prune`` with ``--model backdoored.pt2`` (see ``docs/backdoor.md``).
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from trustmap.attacks.backdoor import stamp
from trustmap.data.dataset import Split
from trustmap.defenses.base import DefenceResult, Defended, fresh_copy
from trustmap.defenses.registry import HardenDefence, HardenJob, register_defence
from trustmap.errors import TrustmapError
from trustmap.utils.seed import derive_seed, torch_generator


def _tensors(split: Split) -> tuple[torch.Tensor, torch.Tensor]:
    if len(split) == 0:
        raise TrustmapError("backdoor removal needs clean examples; the clean split is empty")
    x = torch.from_numpy(np.ascontiguousarray(split.x, dtype=np.float32))
    return x, torch.from_numpy(np.asarray(split.y, dtype=np.int64))


def _finetune(
    net: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    steps: int,
    lr: float,
    batch_size: int,
    gen: torch.Generator,
    transform=None,
) -> list[float]:
    """Adam on cross-entropy for ``steps`` random mini-batches; ``transform(xb, gen)`` edits a batch first."""
    opt = torch.optim.Adam([p for p in net.parameters() if p.requires_grad], lr=lr)
    net.train()
    losses = []
    for _ in range(steps):
        idx = torch.randint(len(x), (min(batch_size, len(x)),), generator=gen)
        xb, yb = x[idx], y[idx]
        if transform is not None:
            xb = transform(xb, gen)
        loss = F.cross_entropy(net(xb), yb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    return losses


def _check(steps: int, lr: float, batch_size: int) -> None:
    if steps < 1 or batch_size < 1 or not (np.isfinite(lr) and lr > 0):
        raise TrustmapError(
            f"backdoor removal needs steps >= 1, batch_size >= 1 and lr > 0, got {steps}, {batch_size}, {lr}"
        )


def unlearn_trigger(
    model: nn.Module,
    *,
    clean: Split,
    mask: np.ndarray,
    pattern: np.ndarray,
    fraction: float = 0.2,
    steps: int = 150,
    lr: float = 1e-3,
    batch_size: int = 64,
    seed: int = 0,
) -> Defended:
    """Fine-tune a copy of ``model`` on ``clean`` where a ``fraction`` of each batch carries the trigger
    ``(1 - mask) * x + mask * pattern`` and keeps its true label (Neural Cleanse's unlearning)."""
    _check(steps, lr, batch_size)
    if not 0.0 < fraction < 1.0:
        raise TrustmapError(f"the triggered fraction must be in (0, 1), got {fraction}")
    start, net = time.perf_counter(), fresh_copy(model)
    x, y = _tensors(clean)
    m = torch.as_tensor(np.asarray(mask, dtype=np.float32)).reshape(1, *x.shape[2:])
    p = torch.as_tensor(np.asarray(pattern, dtype=np.float32)).reshape(x.shape[1:])

    def stamp_some(xb: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        pick = torch.rand(len(xb), generator=gen) < fraction
        out = xb.clone()
        out[pick] = stamp(xb[pick], m, p)
        return out

    losses = _finetune(
        net,
        x,
        y,
        steps=steps,
        lr=lr,
        batch_size=batch_size,
        gen=torch_generator(derive_seed(seed, 0x554E)),
        transform=stamp_some,
    )
    metrics = {
        "fraction": fraction,
        "steps": float(steps),
        "lr": lr,
        "mask_l1": float(m.sum()),
        "final_loss": losses[-1],
    }
    return Defended(net.eval(), DefenceResult("nc-unlearning", time.perf_counter() - start, 0, metrics))


def neural_cleanse_unlearning(
    model: nn.Module,
    *,
    clean: Split,
    num_classes: int,
    value_range: tuple[float, float] = (0.0, 1.0),
    inversion_images: int = 300,
    inversion_steps: int = 80,
    fraction: float = 0.2,
    steps: int = 150,
    lr: float = 1e-3,
    batch_size: int = 64,
    seed: int = 0,
) -> Defended:
    """Invert a trigger per class on ``inversion_images`` clean images, pick the class with the smallest mask
    (the suspected target) and unlearn its trigger with :func:`unlearn_trigger` on all of ``clean``."""
    from trustmap.probes.backdoor.inversion import anomaly_indices, invert_triggers

    start = time.perf_counter()
    x, y = _tensors(clean)
    pick = torch.randperm(len(x), generator=torch_generator(derive_seed(seed, 0x4E43)))[:inversion_images]
    inv = invert_triggers(
        fresh_copy(model).eval(),
        x[pick],
        y[pick],
        num_classes=num_classes,
        steps=inversion_steps,
        value_range=value_range,
        generator=torch_generator(derive_seed(seed, 0x4E44)),
    )
    target = int(np.argmin(inv.l1))
    out = unlearn_trigger(
        model,
        clean=clean,
        mask=inv.masks[target],
        pattern=inv.patterns[target],
        fraction=fraction,
        steps=steps,
        lr=lr,
        batch_size=batch_size,
        seed=seed,
    )
    out.result.metrics.update(suspected_target=float(target), anomaly_index=float(anomaly_indices(inv.l1)[target]))
    out.result.seconds = time.perf_counter() - start
    return out


def last_conv(model: nn.Module) -> tuple[nn.Conv2d, nn.BatchNorm2d | None]:
    """The model's last ``Conv2d`` and the ``BatchNorm2d`` right after it, if any (registration order)."""
    mods = list(model.modules())
    convs = [i for i, mod in enumerate(mods) if isinstance(mod, nn.Conv2d)]
    if not convs:
        raise TrustmapError("fine-pruning needs a convolutional model (no Conv2d layer found)")
    i = convs[-1]
    bn = mods[i + 1] if i + 1 < len(mods) and isinstance(mods[i + 1], nn.BatchNorm2d) else None
    return mods[i], bn  # type: ignore[return-value]


def fine_prune(
    model: nn.Module,
    *,
    clean: Split,
    prune_fraction: float = 0.6,
    steps: int = 150,
    lr: float = 1e-3,
    batch_size: int = 64,
    seed: int = 0,
) -> Defended:
    """Zero the ``prune_fraction`` least active channels (mean activation on ``clean``) of the last
    convolution, then fine-tune on ``clean`` with those channels held at zero (Fine-Pruning)."""
    _check(steps, lr, batch_size)
    if not 0.0 < prune_fraction < 1.0:
        raise TrustmapError(f"the pruned fraction must be in (0, 1), got {prune_fraction}")
    start, net = time.perf_counter(), fresh_copy(model)
    x, y = _tensors(clean)
    conv, bn = last_conv(net)
    acts: list[torch.Tensor] = []
    hook = (bn or conv).register_forward_hook(lambda _m, _i, out: acts.append(F.relu(out).mean(dim=(0, 2, 3))))
    net.eval()
    with torch.no_grad():
        for i in range(0, min(len(x), 2000), 256):
            net(x[i : i + 256])
    hook.remove()
    activity = torch.stack(acts).mean(0)
    n_prune = int(round(prune_fraction * len(activity)))
    pruned = torch.argsort(activity)[:n_prune]
    keep = torch.ones(len(activity))
    keep[pruned] = 0.0
    params = [(conv.weight, keep.view(-1, 1, 1, 1))]
    params += [(t, keep) for t in (conv.bias, bn.weight if bn else None, bn.bias if bn else None) if t is not None]
    handles = []
    with torch.no_grad():
        for t, k in params:
            t.mul_(k)
            handles.append(t.register_hook(lambda g, k=k: g * k))
    losses = _finetune(
        net, x, y, steps=steps, lr=lr, batch_size=batch_size, gen=torch_generator(derive_seed(seed, 0x4650))
    )
    for h in handles:
        h.remove()
    with torch.no_grad():  # Adam's momentum may have moved the pruned weights: zero them again
        for t, k in params:
            t.mul_(k)
    metrics = {
        "prune_fraction": prune_fraction,
        "pruned_channels": float(n_prune),
        "steps": float(steps),
        "lr": lr,
        "final_loss": losses[-1],
    }
    return Defended(net.eval(), DefenceResult("fine-pruning", time.perf_counter() - start, 0, metrics))


# --- harden defences: start from the user's model (``trustmap harden --method nc-unlearn --model m.pt2``) ---


def _removal_metrics(before: nn.Module, after: nn.Module, job: HardenJob) -> dict[str, float]:
    """Clean test accuracy before and after; the real trigger's attack success rate before and after too
    when the model's metadata records its poisoning (``trustmap train --poison``)."""
    from trustmap.attacks.backdoor import attack_success_rate
    from trustmap.defenses.workflows import _accuracy
    from trustmap.probes.backdoor.neural_cleanse import known_trigger

    test = job.dataset.test
    out = {"clean_accuracy_before": _accuracy(before, test), "clean_accuracy_after": _accuracy(after, test)}
    known = known_trigger(job.source) if job.source is not None else None
    if known is not None:
        trig, target = known
        out["asr_before"] = attack_success_rate(before, test.x, test.y, trigger=trig, target=target)
        out["asr_after"] = attack_success_rate(after, test.x, test.y, trigger=trig, target=target)
    return out


def _source_meta(job: HardenJob) -> dict[str, object]:
    """What the cleaned model's metadata keeps of the source model's: its recorded poisoning, if any."""
    extra = job.source.meta.extra if job.source is not None else {}
    return (
        {"poison": extra["poison"], "cleaned_from": str(job.wrap)}
        if "poison" in extra
        else {"cleaned_from": str(job.wrap)}
    )


@register_defence
class NCUnlearnDefence(HardenDefence):
    """Neural Cleanse's mitigation on the model given with ``--model``: invert a trigger per class on clean
    training images, take the smallest (the suspected target's) and fine-tune 150 steps with it stamped on
    20% of the images under their true labels."""

    id = "nc-unlearn"
    summary = "backdoor removal on --model: invert the trigger (Neural Cleanse) and unlearn it"
    paper = "Neural Cleanse: Identifying and Mitigating Backdoor Attacks in Neural Networks, IEEE S&P 2019"
    from_model = True
    headline = ("asr_before", "asr_after", "clean_accuracy_before", "clean_accuracy_after", "suspected_target")

    def run(self, job: HardenJob) -> Defended:
        vr = job.dataset.value_range or (0.0, 1.0)
        steps = 150 * (job.epochs or 1)
        out = neural_cleanse_unlearning(
            job.model,
            clean=job.train,
            num_classes=job.dataset.num_classes,
            value_range=(float(vr[0]), float(vr[1])),
            steps=steps,
            seed=job.seed,
        )
        out.result.metrics.update(_removal_metrics(job.model, out.model, job))
        out.meta = _source_meta(job)
        return out


@register_defence
class FinePruneDefence(HardenDefence):
    """Fine-Pruning on the model given with ``--model``: prune the 60% least active channels of the last
    convolution on clean training images, then fine-tune 150 steps with them held at zero."""

    id = "fine-prune"
    summary = "backdoor removal on --model: prune dormant last-conv channels, then fine-tune"
    paper = "Fine-Pruning: Defending Against Backdooring Attacks on Deep Neural Networks, arXiv 1805.12185"
    from_model = True
    headline = ("asr_before", "asr_after", "clean_accuracy_before", "clean_accuracy_after")

    def run(self, job: HardenJob) -> Defended:
        out = fine_prune(job.model, clean=job.train, steps=150 * (job.epochs or 1), seed=job.seed)
        out.result.metrics.update(_removal_metrics(job.model, out.model, job))
        out.meta = _source_meta(job)
        return out
