"""Assemble the :class:`~trustmap.probes.AuditData` for an audit, validating everything up front.

Member files are ``.npz`` files holding either arrays ``x`` and ``y`` or ``indices`` into the
dataset's training split (what ``trustmap train --member-fraction`` writes). When the non-members are
given as indices, half of them (seeded) are examined by the membership probes and the other half form
the auditor's ``pool`` (reference models, stealing queries), so that the two never overlap. Without
non-member indices, the pool is drawn from the training split minus the examined members.

Graph data (kind ``graph``) needs a node classifier (model kind ``graph``) that runs on the whole graph;
its ``eval`` split is the unlabelled nodes, and it has no members, non-members, pool or groups.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from trustmap.data import Dataset, Split, load_dataset, stratified_indices, validate_split
from trustmap.data.user import read_npz
from trustmap.errors import DataError
from trustmap.models.handle import ModelHandle
from trustmap.models.workflows import bind
from trustmap.probes.base import AuditData

EVAL_SIZE = {"quick": 500, "standard": 1000, "thorough": 2000}
MEMBER_SIZE = {"quick": 1000, "standard": 2000, "thorough": 5000}
POOL_SIZE = {"quick": 4000, "standard": 8000, "thorough": 20000}


@dataclass(frozen=True)
class MemberInput:
    split: Split
    indices: np.ndarray | None  # into dataset.train, when the file held indices


def read_members(path: str | Path, ds: Dataset, *, what: str) -> MemberInput:
    p = Path(path)
    if not p.exists():
        raise DataError(f"{what} file {p} does not exist")
    try:
        with np.load(p, allow_pickle=False) as z:
            if "indices" in z.files:
                idx = z["indices"].astype(np.int64)
                if idx.ndim != 1 or len(idx) == 0:
                    raise DataError(f"{what} file {p.name}: 'indices' must be a non-empty 1-D array")
                if idx.min() < 0 or idx.max() >= len(ds.train):
                    raise DataError(
                        f"{what} file {p.name} indexes beyond the {len(ds.train)} training examples "
                        f"of {ds.name}; was it written for another dataset?"
                    )
                return MemberInput(ds.train.subset(idx), idx)
    except (ValueError, OSError) as exc:
        raise DataError(f"cannot read {what} file {p} ({exc}); give an .npz with x and y, or indices") from exc
    x, y = read_npz(p)
    if ds.kind != "text" and tuple(x.shape[1:]) != ds.input_shape:
        if x.ndim == 3 and (1, *x.shape[1:]) == ds.input_shape:
            x = x[:, None]
        else:
            raise DataError(
                f"{what} file {p.name} holds inputs of shape {tuple(x.shape[1:])} but the data has "
                f"{ds.input_shape}; give examples of the same kind"
            )
    validate_split(x, y, num_classes=ds.num_classes, what=f"{what} file {p.name}")
    return MemberInput(Split(x.astype(np.float32), y.astype(np.int64)), None)


def _take(split: Split, n: int, seed: int) -> Split:
    return split.subset(stratified_indices(split.y, n, seed=seed)) if len(split) > n else split


def prepare_audit_data(
    model: ModelHandle,
    data: str,
    *,
    budget: str,
    seed: int,
    members: str | Path | None = None,
    nonmembers: str | Path | None = None,
    sensitive: str | None = None,
    label: str | None = None,
) -> AuditData:
    """Load and check the data for an audit: shapes, labels, NaN, member files, sensitive attribute."""
    ds = load_dataset(data, label=label, sensitive=[sensitive] if sensitive else None)
    if ds.kind == "graph" or model.meta.kind == "graph":
        return _graph_audit_data(model, ds, members=members or nonmembers, sensitive=sensitive)
    if len(ds.test) == 0 or len(ds.train) == 0:
        raise DataError(f"{ds.name} is empty; give at least one example")
    bind(model, ds, ds.test, what=f"{ds.name} (test)")
    if sensitive and sensitive not in ds.train.sensitive:
        have = ", ".join(ds.sensitive_names) or "none"
        raise DataError(f"{ds.name} has no sensitive attribute {sensitive!r} (available: {have})")
    if (members is None) != (nonmembers is None):
        raise DataError("give both --members and --nonmembers, or neither")
    eval_split = _take(ds.test, EVAL_SIZE[budget], seed)
    mem = non = pool = None
    if members is not None and nonmembers is not None:
        m_in = read_members(members, ds, what="members")
        n_in = read_members(nonmembers, ds, what="non-members")
        for part, name in ((m_in.split, "members"), (n_in.split, "non-members")):
            bind(model, ds, part, what=f"the {name} file")
        mem = _take(m_in.split, MEMBER_SIZE[budget], seed)
        if n_in.indices is not None and len(n_in.indices) >= 4:
            rng = np.random.default_rng(seed)
            order = rng.permutation(len(n_in.indices))
            half = len(order) // 2
            non = _take(ds.train.subset(n_in.indices[np.sort(order[:half])]), MEMBER_SIZE[budget], seed)
            pool = _take(ds.train.subset(n_in.indices[np.sort(order[half:])]), POOL_SIZE[budget], seed)
        else:
            non = _take(n_in.split, MEMBER_SIZE[budget], seed)
    if pool is None and ds.kind != "text":
        pool = _take(ds.train, POOL_SIZE[budget], seed + 1)
    return AuditData(dataset=ds, eval=eval_split, members=mem, nonmembers=non, pool=pool, sensitive=sensitive)


def _graph_audit_data(
    model: ModelHandle, ds: Dataset, *, members: str | Path | None, sensitive: str | None
) -> AuditData:
    """A node classifier on a graph: the model must run on the whole graph; ``eval`` holds the unlabelled
    nodes (the graph probes draw their targets there). Member files and groups are not defined for graphs."""
    from trustmap.models.graph.workflow import check_node_classifier

    if members is not None:
        raise DataError(f"--members/--nonmembers do not apply to graph data ({ds.name}); leave them out")
    if sensitive is not None:
        raise DataError(f"--sensitive does not apply to graph data ({ds.name}); leave it out")
    check_node_classifier(model, ds)  # one-line errors for an image model, other features, other classes
    return AuditData(dataset=ds, eval=ds.test)
