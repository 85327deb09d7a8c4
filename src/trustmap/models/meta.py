"""What trustmap records beside a model's weights: architecture, input shape, classes, value range."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class ModelMeta:
    """Facts about a model that probes and loaders need. Every field is optional except ``kind``."""

    kind: str = "image"  # image | table | text | graph (a node classifier)
    arch: str | None = None
    arch_options: dict[str, Any] = field(default_factory=dict)
    input_shape: tuple[int, ...] | None = None
    num_classes: int | None = None
    classes: tuple[str, ...] | None = None
    value_range: tuple[float, float] | None = None
    dataset: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> "ModelMeta":
        d = json.loads(text)
        known = {k: d[k] for k in cls.__dataclass_fields__ if k in d}
        for key in ("input_shape", "classes", "value_range"):
            if known.get(key) is not None:
                known[key] = tuple(known[key])
        return cls(**known)
