"""Applications: train and evaluate any registered text task in one call (HugNLP's application layer).

HugNLP (Wang et al., arXiv 2302.14286) stacks *models* (a PLM backbone plus a task head), *processors*
(dataset -> tensors) and *applications* (what to optimise and how to score). Here the three are the
existing registries plus two small ones:

* models: the architecture registry (``minilm`` and its task heads ``minilm-tagger``, ``minilm-span``,
  ``minilm-embedder``; :func:`trustmap.models.architectures.head_for`), adapted by any first-order method
  of the adaptation registry (``minilm-lora`` = backbone ``minilm`` + method ``lora``);
* processors: :data:`trustmap.text.processors.PROCESSORS`;
* datasets: the dataset registry (``rotten-tomatoes``, ``rt-movies``, user files);
* :data:`APPLICATIONS`: per head, the loss, the evaluation metric and the trivial baseline;
* :data:`TEXT_TASKS`: a task id = processor + default dataset (``sentiment``, ``opinion-tags``,
  ``opinion-span``, ``movie-retrieval``).

``use_freezing`` (HugNLP's ``parameter_freeze``) trains the top transformer layer and the head only;
``trainable_layers=k`` trains the top ``k`` layers and the head. With either, the frozen lower layers run
once per split in eval mode and their output is cached (:func:`trustmap.adapt.cache.cache_lower`), so
frozen layers apply no dropout (HugNLP's do) and training costs about ``k / 6`` of full fine-tuning.

>>> res = run_text_task(task="sentiment", model="minilm-lora", data="rotten-tomatoes", train_size=1500)
>>> res.score, res.baseline_score                     # accuracy vs the majority class
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from trustmap.data.dataset import Split
from trustmap.errors import TrustmapError
from trustmap.registry import Registry, check_id
from trustmap.text.metrics import APPLICATIONS, Application
from trustmap.text.processors import Encoded, processor
from trustmap.text.training import HEAD_LR, cached_lower, train_net

NUM_LAYERS = 6


@dataclass(frozen=True)
class TaskInfo:
    name: str
    processor: str
    data: str
    summary: str


def _check_task(name: str, info: TaskInfo) -> None:
    from trustmap.text.processors import PROCESSORS

    if info.processor not in PROCESSORS:
        raise ValueError(f"task {name!r} names unknown processor {info.processor!r}")
    check_id("dataset", info.data)


TEXT_TASKS: Registry[TaskInfo] = Registry("text task", check=_check_task, summary=lambda i: i.summary)


def register_task(name: str, *, processor: str, data: str, summary: str) -> TaskInfo:
    """Register a text task: ``processor`` (a :data:`PROCESSORS` id) on ``data`` (a dataset id) by default."""
    return TEXT_TASKS.add(name, TaskInfo(name, processor, data, summary))


register_task("sentiment", processor="label", data="rotten-tomatoes", summary="RT fresh/rotten classification")
register_task("opinion-tags", processor="opinion-tags", data="rotten-tomatoes", summary="RT silver POS/NEG/O tags")
register_task("opinion-span", processor="opinion-span", data="rotten-tomatoes", summary="RT strongest opinion word")
register_task("movie-retrieval", processor="same-label", data="rt-movies", summary="find snippets of the same movie")


@dataclass
class TextTaskResult:
    """One trained task: headline ``score`` (``metric``) next to the trivial baseline, and the cost."""

    task: str
    application: str
    model: str
    method: str
    data: str
    metric: str
    score: float
    baseline: str
    baseline_score: float
    metrics: dict[str, float]
    trainable: int
    total: int
    n_train: int
    n_test: int
    seconds: float
    net: nn.Module | None = field(default=None, repr=False)
    test: Encoded | None = field(default=None, repr=False)


def resolve_model(name: str) -> tuple[str, str]:
    """``"minilm"`` -> ``("minilm", "full")``; ``"minilm-lora"`` -> ``("minilm", "lora")``; else a one-line error."""
    from trustmap.adapt.methods import METHODS
    from trustmap.models.architectures import ARCHS, backbone_of

    backbones = sorted({backbone_of(i) for _, i in ARCHS.items() if "text" in i.kinds})
    fo = [m for m, i in METHODS.items() if i.family == "fo"]
    if name in backbones:
        return name, "full"
    for b in backbones:
        if isinstance(name, str) and name.startswith(b + "-") and name[len(b) + 1 :] in fo:
            return b, name[len(b) + 1 :]
    choices = ", ".join([*backbones, *(f"{b}-{m}" for b in backbones for m in fo if m != "full")])
    raise TrustmapError(f"unknown text model {name!r}; choose from {', '.join(backbones)} or {choices}")


class TaskNet(nn.Module):
    """A task model seen through :func:`trustmap.models.text_heads.hidden_states` (ids or cached states)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        from trustmap.models.text_heads import classifier_from_hidden, hidden_states

        h, mask = hidden_states(self.model, x)
        if hasattr(self.model, "from_hidden"):
            return self.model.from_hidden(h, mask)
        return classifier_from_hidden(self.model, h, mask)


def _trim(enc: Encoded, pad_id: int, head: str) -> Encoded:
    length = int(max(1, ((enc.ids != pad_id).any(0)).nonzero()[0].max(initial=0) + 1)) if len(enc) else 1
    targets = enc.targets[:, :length] if head == "tagging" else enc.targets
    return Encoded(np.ascontiguousarray(enc.ids[:, :length]), targets, enc.keep)


def _positive_pairs(train: Encoded, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Retrieval training pairs: each text with another text of its group; ``(M, 2)`` row indices, groups."""
    rng = np.random.default_rng(seed)
    groups: dict[int, list[int]] = {}
    for i, g in enumerate(train.targets.tolist()):
        groups.setdefault(g, []).append(i)
    pairs = [
        (i, int(rng.choice([j for j in rows if j != i]))) for rows in groups.values() if len(rows) > 1 for i in rows
    ]
    idx = np.array(pairs, np.int64).reshape(-1, 2)
    return idx, train.targets[idx[:, 0]]


def _subset(split: Split, n: int | None, seed: int) -> Split:
    from trustmap.adapt.textdata import stratified_subset

    if n is None or n >= len(split):
        return split
    try:
        return stratified_subset(split, n, seed=seed)
    except ValueError:  # labels too fine to stratify (e.g. one movie per label): a plain random subset
        return split.subset(np.sort(np.random.default_rng(seed).choice(len(split), n, replace=False)))


def _check_int(name: str, value: object, lo: int, hi: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < lo or (hi and value > hi):
        bound = f"from {lo} to {hi}" if hi else f"of at least {lo}"
        raise TrustmapError(f"{name} must be a whole number {bound}, got {value!r}")
    return int(value)


def run_text_task(
    *,
    task: str,
    model: str = "minilm",
    data: str | None = None,
    train_size: int | None = 1500,
    test_size: int | None = 1000,
    epochs: int = 1,
    batch_size: int = 16,
    lr: float | None = None,
    head_lr: float | None = None,
    use_freezing: bool = False,
    trainable_layers: int | None = None,
    max_len: int = 64,
    seed: int = 0,
    progress: bool | None = None,
    keep_model: bool = False,
    eval_split: str = "test",
    cache_top: int | None = None,
) -> TextTaskResult:
    """Train ``model`` on ``task`` (over ``data``, default the task's own) and score it on the test split.

    ``cache_top`` (>= the trained top layers) leaves that many top layers out of the cache, so that runs
    with different ``trainable_layers`` can share one cache (the extra frozen layers then run every step).
    ``eval_split="dev"`` scores on the dataset's dev split (for choosing settings)."""
    from trustmap.adapt.lora import freeze_except
    from trustmap.adapt.methods import AdaptConfig, method_info
    from trustmap.adapt.train import prepare
    from trustmap.data import load_dataset
    from trustmap.data.registry import dataset_info
    from trustmap.models.architectures import build_model, head_for
    from trustmap.utils.seed import derive_seed, seeded_global_rng

    info = TEXT_TASKS.get(task)
    backbone, method = resolve_model(model)
    data = data or info.data
    if dataset_info(data).kind != "text":
        raise TrustmapError(f"task {task!r} needs a text dataset; {data!r} is {dataset_info(data).kind}")
    for name, value in (("train_size", train_size), ("test_size", test_size)):
        if value is not None:
            _check_int(name, value, 2)
    _check_int("epochs", epochs, 1)
    _check_int("batch_size", batch_size, 1)
    _check_int("max_len", max_len, 8, 512)
    if eval_split not in ("test", "dev"):
        raise TrustmapError(f"eval_split must be test or dev, got {eval_split!r}")
    if use_freezing and trainable_layers is not None:
        raise TrustmapError("give use_freezing (top layer + head) or trainable_layers, not both")
    top = 1 if use_freezing else trainable_layers
    if top is not None:
        _check_int("trainable_layers", top, 1, NUM_LAYERS)
        if method != "full":
            raise TrustmapError(f"freezing trains the top layers themselves; use model {backbone!r}, not {model!r}")
    proc = processor(info.processor)
    app: Application = APPLICATIONS.get(proc.head if proc.head != "embedding" else "retrieval")
    ds = load_dataset(data)
    labels = proc.labels or ds.classes
    arch = head_for(backbone, proc.head)
    start = time.perf_counter()
    net_model = build_model(arch.name, input_shape=(), num_classes=len(labels), max_len=max_len, seed=seed)
    pad = int(net_model.pad_id)
    train = _trim(proc(_subset(ds.train, train_size, seed), max_len=max_len), pad, proc.head)
    if eval_split == "dev" and ds.dev is None:
        raise TrustmapError(f"{data!r} has no dev split; use eval_split='test'")
    held_out = ds.test if eval_split == "test" else ds.dev
    test = _trim(proc(_subset(held_out, test_size, 0), max_len=max_len), pad, proc.head)
    if len(train) < 2 or len(test) < 1:
        raise TrustmapError(
            f"task {task!r} on {data!r} kept {len(train)} training and {len(test)} test rows; need more"
        )
    if top is None:
        prepare(net_model, AdaptConfig(method=method), seed=seed)
        x_train, x_test = train.ids, test.ids
    else:
        layers = [f"encoder.encoder.layer.{i}" for i in range(NUM_LAYERS - top, NUM_LAYERS)]
        freeze_except(net_model, trainable=("head", *layers))
        keep = top if cache_top is None else _check_int("cache_top", cache_top, top, NUM_LAYERS)
        net_model.cached_top = keep
        x_train = cached_lower(net_model, train.ids, keep_top=keep)
        x_test = cached_lower(net_model, test.ids, keep_top=keep)
    net = TaskNet(net_model)
    fit_x, fit_y = x_train, train.targets
    if app.name == "retrieval":
        pairs, groups = _positive_pairs(train, seed)
        fit_x, fit_y = x_train[pairs], groups
    enc_lr = lr if lr is not None else (app.lr if method == "full" else method_info(method).lr)
    with seeded_global_rng(derive_seed(seed, 0xD0)):  # dropout masks from the seed
        train_net(
            net,
            fit_x,
            fit_y,
            loss=app.loss,
            epochs=epochs,
            batch_size=batch_size,
            lr=enc_lr,
            head_lr=HEAD_LR if head_lr is None else head_lr,
            seed=seed,
            progress=progress,
            description=f"{task} {model}",
        )
    net.eval()
    metrics = app.evaluate(net, x_test, test)
    base = app.baseline(train, test, seed)
    trainable = sum(p.numel() for p in net.parameters() if p.requires_grad)
    return TextTaskResult(
        task=task,
        application=app.name,
        model=model if top is None else f"{model} (top {top} layer{'s' * (top > 1)} + head)",
        method=method if top is None else ("use_freezing" if use_freezing else f"top-{top}"),
        data=data,
        metric=app.metric,
        score=float(metrics[app.metric]),
        baseline=app.baseline_name,
        baseline_score=float(base),
        metrics=metrics,
        trainable=int(trainable),
        total=int(sum(p.numel() for p in net.parameters())),
        n_train=len(train),
        n_test=len(test),
        seconds=time.perf_counter() - start,
        net=net if keep_model else None,
        test=Encoded(x_test, test.targets, test.keep) if keep_model else None,
    )


def task_ids() -> list[str]:
    return TEXT_TASKS.ids()


__all__ = [
    "TEXT_TASKS",
    "TaskInfo",
    "TaskNet",
    "TextTaskResult",
    "register_task",
    "resolve_model",
    "run_text_task",
    "task_ids",
]
