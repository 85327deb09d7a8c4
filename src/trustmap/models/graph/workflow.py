"""The graph side of ``trustmap train`` and ``trustmap eval``: node classifiers on graph datasets.

A node classifier is trained full-batch on the labelled nodes of a
:class:`~trustmap.data.graph_dataset.GraphDataset` (:func:`fit_node_classifier`: Adam, lr 0.01, weight
decay 5e-4, 200 epochs unless ``epochs``/``lr`` say otherwise) and saved as ``.safetensors`` with a
:class:`ModelMeta` of kind ``graph``: ``input_shape`` ``(F,)``, the classes, and in ``arch_options`` the
thresholds training fixed (:meth:`NodeClassifier.saved_options`), so the loaded model is the trained one.

>>> model, seconds, meta = train_node_classifier(load_dataset("csbm"), "gcn", seed=0)
>>> save_model(model, "gcn.safetensors", meta=meta)
>>> logits, labels = node_logits(load_model("gcn.safetensors"), load_dataset("csbm"))  # test nodes
"""

from __future__ import annotations

import time

import numpy as np

from trustmap.data.dataset import Dataset
from trustmap.data.graph_dataset import GraphDataset
from trustmap.errors import DataError, ModelError
from trustmap.models.graph.gcn import GraphTrainConfig, NodeClassifier, fit_node_classifier
from trustmap.models.handle import ModelHandle
from trustmap.models.meta import ModelMeta


def graph_of(ds: Dataset) -> GraphDataset:
    """The :class:`GraphDataset` behind ``ds``, or a one-line error for data of another kind."""
    if not isinstance(ds, GraphDataset):
        raise DataError(f"{ds.name} is {ds.kind} data, not a graph; node classifiers train and run on graph data")
    return ds


def train_node_classifier(
    ds: Dataset, arch: str, *, seed: int, epochs: int | None = None, lr: float | None = None
) -> tuple[NodeClassifier, float, ModelMeta]:
    """Build ``arch`` (a node classifier) with weights from ``seed``, train it on ``ds``'s labelled nodes and
    return it (eval mode), the training seconds and the metadata to save it with."""
    from trustmap.models.architectures import build_model

    gds = graph_of(ds)
    graph = gds.graph
    config = GraphTrainConfig(
        epochs=epochs if epochs is not None else GraphTrainConfig.epochs,
        lr=lr if lr is not None else GraphTrainConfig.lr,
    )
    model = build_model(arch, input_shape=ds.input_shape, num_classes=ds.num_classes, seed=seed)
    start = time.perf_counter()
    fit_node_classifier(model, graph, gds.train_nodes, config=config, seed=seed)
    seconds = time.perf_counter() - start
    meta = ModelMeta(
        kind="graph",
        arch=arch,
        arch_options={k: v for k, v in model.saved_options().items() if v is not None},
        input_shape=ds.input_shape,
        num_classes=ds.num_classes,
        classes=ds.classes,
        dataset=ds.name,
        extra={"epochs": config.epochs, "lr": config.lr, "labelled_nodes": len(gds.train_nodes)},
    )
    return model, seconds, meta


def check_node_classifier(handle: ModelHandle, ds: Dataset) -> np.ndarray:
    """Check that ``handle`` is a node classifier that runs on ``ds``'s graph (features, classes, output
    shape) and return its logits for every node ``(N, C)``; one-line errors otherwise."""
    if handle.meta.kind != "graph":
        raise ModelError(
            f"{ds.name} is graph data but the model is for {handle.meta.kind} data; "
            "audit a node classifier (trustmap train --data GRAPH --arch gcn --out model.safetensors)"
        )
    gds = graph_of(ds)
    expected = tuple(handle.meta.input_shape or ())
    if expected and expected != ds.input_shape:
        raise ModelError(
            f"the model expects {expected[0]} node features but {ds.name} has {ds.input_shape[0]}; "
            "use the graph the model was trained on"
        )
    try:
        logits = handle.predict_nodes(gds.graph)
    except ModelError:
        raise
    except Exception as exc:  # the model's own error for a mismatching graph
        raise ModelError(
            f"the model cannot run on {ds.name}: {str(exc).splitlines()[0][:160]}; use a matching graph"
        ) from exc
    n = gds.graph.num_nodes
    if logits.ndim != 2 or len(logits) != n:
        raise ModelError(f"the model returned outputs of shape {logits.shape}; a node classifier returns (N, classes)")
    if handle.meta.num_classes is not None and logits.shape[1] != handle.meta.num_classes:
        raise ModelError(
            f"the model says it has {handle.meta.num_classes} classes but returns {logits.shape[1]} logits"
        )
    top = int(gds.graph.y.max())
    if top >= logits.shape[1]:
        raise DataError(
            f"{ds.name} has labels up to {top} but the model knows {logits.shape[1]} classes; use a matching model"
        )
    return logits


def node_logits(handle: ModelHandle, ds: Dataset, *, split: str = "test") -> tuple[np.ndarray, np.ndarray]:
    """Checked (:func:`check_node_classifier`) logits ``(n, C)`` and labels ``(n,)`` of the ``split`` nodes (``test``: unlabelled, ``train``: labelled)."""
    logits = check_node_classifier(handle, ds)
    gds = graph_of(ds)
    nodes = gds.test_nodes if split == "test" else gds.train_nodes
    return logits[nodes], gds.graph.y[nodes]
