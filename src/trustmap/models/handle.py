"""The model handle: what probes need from a model, and nothing else.

A :class:`ModelHandle` gives logits for a batch and says what it can do. White-box probes need
``handle.white_box`` (gradients w.r.t. inputs); black-box probes use only :meth:`ModelHandle.predict`.

Shapes: images ``(N, C, H, W)``, tables ``(N, F)``, text: a sequence of ``N`` strings;
logits ``(N, num_classes)``. A node classifier (``meta.kind == "graph"``) is called as
``handle(x (N, F), edge_index (2, E), edge_weight (E,) | None)`` on a whole graph, and
:meth:`ModelHandle.predict_nodes` gives every node's logits.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch
from torch import nn

from trustmap.errors import ModelError
from trustmap.models.meta import ModelMeta


@dataclass
class ModelHandle:
    """A loaded model plus its :class:`ModelMeta`.

    ``module`` is a differentiable ``nn.Module`` (white-box). A black-box handle has only
    ``query``, a function from inputs to logits.
    """

    meta: ModelMeta
    module: nn.Module | None = None
    query: Callable[[Any], torch.Tensor] | None = None
    source: str = ""
    sha256: str | None = None

    @classmethod
    def from_module(cls, module: nn.Module, meta: ModelMeta, **kw: Any) -> "ModelHandle":
        module.eval()
        return cls(meta=meta, module=module, **kw)

    @property
    def white_box(self) -> bool:
        """True when gradients w.r.t. the inputs are available."""
        return self.module is not None and self.meta.kind != "text"

    def black_box(self) -> "ModelHandle":
        """The same model with gradients hidden: only :meth:`predict` answers."""
        fn = self.forward
        return replace(self, module=None, query=lambda x, *graph: fn(x, *graph).detach())

    def forward(self, x: Any, *graph: Any) -> torch.Tensor:
        """Logits for one batch, differentiable when the handle is white-box. A node classifier also takes
        ``edge_index`` (and optionally ``edge_weight``) after the node features."""
        if self.module is not None:
            return self.module(x, *graph)
        if self.query is None:
            raise ModelError("this model handle has neither a module nor a query function")
        return self.query(x, *graph)

    __call__ = forward

    @torch.no_grad()
    def predict(self, x: np.ndarray | torch.Tensor | Sequence[str], *, batch_size: int = 512) -> np.ndarray:
        """Logits as a float32 numpy array ``(N, num_classes)``, computed in batches without gradients."""
        outs = []
        for start in range(0, len(x), batch_size):
            xb = x[start : start + batch_size]
            if isinstance(xb, np.ndarray) and xb.dtype != object:
                xb = torch.from_numpy(np.ascontiguousarray(xb, dtype=np.float32))
            outs.append(self.forward(xb).float().cpu())
        return torch.cat(outs).numpy() if outs else np.zeros((0, self.meta.num_classes or 0), np.float32)

    @torch.no_grad()
    def predict_nodes(self, graph: Any) -> np.ndarray:
        """A node classifier's logits for every node of ``graph`` (anything with ``x`` ``(N, F)`` and
        ``edge_index`` ``(2, E)`` numpy arrays), float32 ``(N, num_classes)``."""
        if self.meta.kind != "graph":
            raise ModelError(f"this is a {self.meta.kind} model, not a node classifier; it does not read graphs")
        x = torch.from_numpy(np.ascontiguousarray(graph.x, dtype=np.float32))
        edge_index = torch.from_numpy(np.ascontiguousarray(graph.edge_index, dtype=np.int64))
        return self.forward(x, edge_index).float().cpu().numpy()

    def check_data(self, x: np.ndarray | Sequence[str], *, what: str = "the data") -> int:
        """Run two examples through the model; return the number of classes or raise a one-line error."""
        if self.meta.kind == "graph":  # predict_nodes reads whole graphs; batches of examples are not its input
            raise ModelError(
                f"the model is a node classifier (graph data), so it cannot run on {what}; "
                "node classifiers work with trustmap train, eval and audit on a graph"
            )
        if len(x) == 0:
            raise ModelError(f"{what} is empty; give at least one example")
        if isinstance(x, np.ndarray) and x.dtype != object:
            expected = self.meta.input_shape
            if expected and tuple(x.shape[1:]) != tuple(expected):
                raise ModelError(
                    f"the model expects inputs of shape {tuple(expected)} but {what} has {tuple(x.shape[1:])}; "
                    "use data that matches the model"
                )
        try:
            out = self.predict(x[:2])
        except ModelError:
            raise
        except Exception as exc:  # the model's own error for a mismatching input
            shape = tuple(x.shape[1:]) if isinstance(x, np.ndarray) else "text"
            raise ModelError(
                f"the model cannot run on {what} (input shape {shape}): {str(exc).splitlines()[0][:160]}; "
                "use data that matches the model"
            ) from exc
        if out.ndim != 2:
            raise ModelError(f"the model returned outputs of shape {out.shape}; trustmap needs logits (N, classes)")
        n = out.shape[1]
        if self.meta.num_classes is not None and self.meta.num_classes != n:
            raise ModelError(f"the model says it has {self.meta.num_classes} classes but returns {n} logits")
        return n
