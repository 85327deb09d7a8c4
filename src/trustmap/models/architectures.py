"""Architecture registry. ``build_model("cnn", input_shape=(1, 28, 28), num_classes=10)``.

Images: ``cnn`` (4 conv layers + BN, the reference model), ``cnn-s`` (a small CNN for fast experiments: the
model of the ``bat``, ``ini`` and ``sfr-on`` repros),
``mlp``. Tables: ``mlp``, ``logreg``. Text: ``minilm`` (registered by ``trustmap.models.text``) and its task
heads ``minilm-tagger``, ``minilm-span``, ``minilm-embedder`` (``trustmap.models.text_heads``). Graphs (node
classifiers, :mod:`trustmap.models.graph`): ``gcn``, ``gcn-jaccard``, ``gnnguard-lite``, ``rgcn``, ``gagn``.
Each entry names its ``task`` (what its output means: classification, tagging, span, embedding) and
``backbone`` (the pretrained model it wraps; itself for plain architectures), which is how
:mod:`trustmap.text` finds the head for a task: :func:`head_for`.
Input shapes: images ``(N, C, H, W)``, tables ``(N, F)``; every model returns logits ``(N, classes)``. A node
classifier's ``input_shape`` is ``(F,)``, its forward is ``(x (N, F), edge_index (2, E)) -> (N, classes)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from trustmap.errors import ModelError
from trustmap.registry import Registry, check_id

Builder = Callable[..., nn.Module]


@dataclass(frozen=True)
class ArchInfo:
    name: str
    kinds: tuple[str, ...]
    summary: str
    builder: Builder
    task: str = "classification"
    backbone: str = ""  # "" = the architecture is its own backbone


ARCH_TASKS = ("classification", "tagging", "span", "embedding")


def _check(name: str, info: ArchInfo) -> None:
    if not info.kinds or not set(info.kinds) <= {"image", "table", "text", "graph"}:
        raise ValueError(f"architecture kinds must be a subset of image/table/text/graph, got {info.kinds}")
    if info.task not in ARCH_TASKS:
        raise ValueError(f"architecture task must be one of {', '.join(ARCH_TASKS)}, got {info.task!r}")
    if info.backbone and info.backbone != name:
        check_id("backbone", info.backbone)


ARCHS: Registry[ArchInfo] = Registry(
    "architecture",
    builtins=("trustmap.models.text", "trustmap.models.text_heads"),  # "minilm" and its task heads
    check=_check,
    error=ModelError,
    summary=lambda info: info.summary,
)


def register_arch(
    name: str, *, kinds: tuple[str, ...], summary: str, task: str = "classification", backbone: str | None = None
) -> Callable[[Builder], Builder]:
    """Register ``builder(input_shape=..., num_classes=..., **options) -> nn.Module`` under ``name``.

    ``task`` says what the output is (one of :data:`ARCH_TASKS`); ``backbone`` names the pretrained model
    a task head sits on (default: ``name`` itself)."""
    check_id(ARCHS.kind, name)
    info_task, info_backbone = task, backbone or name
    _check(name, ArchInfo(name, tuple(kinds), summary, lambda **_: None, info_task, info_backbone))  # refuse early

    def deco(fn: Builder) -> Builder:
        ARCHS.add(name, ArchInfo(name, tuple(kinds), summary, fn, info_task, info_backbone))
        return fn

    return deco


def backbone_of(info: ArchInfo) -> str:
    return info.backbone or info.name


def head_for(backbone: str, task: str) -> ArchInfo:
    """The registered architecture with ``backbone`` and ``task``, or a one-line error naming what exists."""
    found = [info for _, info in ARCHS.items() if backbone_of(info) == backbone and info.task == task]
    if not found:
        have = sorted({backbone_of(i) for _, i in ARCHS.items() if i.task == task})
        raise ModelError(
            f"no {task} head is registered for backbone {backbone!r}; backbones with one: {', '.join(have) or 'none'}"
        )
    return found[0]


def for_kind(kind: str | None) -> Callable[[ArchInfo], bool] | None:
    """The filter of :meth:`Registry.ids` that keeps the architectures for ``kind`` data."""
    return None if kind is None else lambda info: kind in info.kinds


def arch_names(kind: str | None = None) -> list[str]:
    return sorted(ARCHS.ids(where=for_kind(kind)))


def arch_info(name: str) -> ArchInfo:
    return ARCHS.get(name)


def build_model(
    name: str, *, input_shape: tuple[int, ...], num_classes: int, seed: int | None = None, **options: object
) -> nn.Module:
    """Build a registered architecture. With ``seed``, its initial weights come from that seed alone and
    the global torch random state is left untouched."""
    info = arch_info(name)
    if seed is None:
        return info.builder(input_shape=tuple(input_shape), num_classes=num_classes, **options)
    from trustmap.utils.seed import seeded_global_rng

    with seeded_global_rng(seed):
        return info.builder(input_shape=tuple(input_shape), num_classes=num_classes, **options)


def _conv_block(cin: int, cout: int, bn: bool) -> list[nn.Module]:
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, 3, padding=1, bias=not bn)]
    if bn:
        layers.append(nn.BatchNorm2d(cout))
    layers.append(nn.ReLU())
    return layers


def _image_shape(input_shape: tuple[int, ...], name: str) -> tuple[int, int, int]:
    if len(input_shape) != 3:
        raise ModelError(f"{name} needs image inputs (C, H, W), got input shape {input_shape}; try --arch mlp")
    c, h, w = input_shape
    return c, h, w


@register_arch("cnn", kinds=("image",), summary="conv 32-32-pool-64-64-pool + BN, FC 128 (reference model)")
def cnn(*, input_shape: tuple[int, ...], num_classes: int, width: int = 32, dropout: float = 0.25) -> nn.Module:
    c, h, w = _image_shape(input_shape, "cnn")
    feat = 2 * width * (h // 4) * (w // 4)
    return nn.Sequential(
        *_conv_block(c, width, True),
        *_conv_block(width, width, True),
        nn.MaxPool2d(2),
        *_conv_block(width, 2 * width, True),
        *_conv_block(2 * width, 2 * width, True),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Dropout(dropout),
        nn.Linear(feat, 128),
        nn.ReLU(),
        nn.Dropout(dropout),
        nn.Linear(128, num_classes),
    )


@register_arch("cnn-s", kinds=("image",), summary="CNN-S: conv 16-pool-32-pool, FC 128 (fast, for experiments)")
def cnn_s(*, input_shape: tuple[int, ...], num_classes: int) -> nn.Module:
    c, h, w = _image_shape(input_shape, "cnn-s")
    return nn.Sequential(
        *_conv_block(c, 16, False),
        nn.MaxPool2d(2),
        *_conv_block(16, 32, False),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(32 * (h // 4) * (w // 4), 128),
        nn.ReLU(),
        nn.Linear(128, num_classes),
    )


@register_arch("mlp", kinds=("image", "table"), summary="MLP with two hidden layers (256-256 by default)")
def mlp(
    *, input_shape: tuple[int, ...], num_classes: int, hidden: int = 256, depth: int = 2, dropout: float = 0.0
) -> nn.Module:
    layers: list[nn.Module] = [nn.Flatten()]
    width = math.prod(input_shape)
    for _ in range(depth):
        layers += [nn.Linear(width, hidden), nn.ReLU()]
        if dropout:
            layers.append(nn.Dropout(dropout))
        width = hidden
    layers.append(nn.Linear(width, num_classes))
    return nn.Sequential(*layers)


@register_arch("logreg", kinds=("image", "table"), summary="multinomial logistic regression (one linear layer)")
def logreg(*, input_shape: tuple[int, ...], num_classes: int) -> nn.Module:
    return nn.Sequential(nn.Flatten(), nn.Linear(math.prod(input_shape), num_classes))


# Node classifiers: built by trustmap.models.graph, imported only when one is built (torch-geometric is slow
# to import). Their options include the thresholds training fixed (NodeClassifier.saved_options).
NODE_ARCHS = {
    "gcn": "GCN (Kipf & Welling): two GCNConv layers, hidden 64",
    "gcn-jaccard": "GCN on edges with Jaccard feature similarity above a threshold (Wu et al.)",
    "gnnguard-lite": "GCN with edges weighted by feature cosine, cut below 0.1 (after GNNGuard)",
    "rgcn": "RGCN: Gaussian graph convolutions with variance attention (Zhu et al.)",
    "gagn": "GAgN-lite: 1-hop node agents that filter implausible edges (arXiv 2306.06909)",
}


def _node_builder(name: str) -> Builder:
    def build(*, input_shape: tuple[int, ...], num_classes: int, **options: object) -> nn.Module:
        from trustmap.models.graph import build_node_classifier

        if len(input_shape) != 1:
            raise ModelError(f"{name} is a node classifier: it needs node features (F,), got input shape {input_shape}")
        return build_node_classifier(name, in_dim=int(input_shape[0]), num_classes=num_classes, **options)

    return build


for _name, _summary in NODE_ARCHS.items():
    register_arch(_name, kinds=("graph",), summary=_summary)(_node_builder(_name))
