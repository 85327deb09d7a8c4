"""Per-head applications: the loss, the evaluation and the trivial baseline of each text task type.

=================== ======================================= ===================== =============================
application         loss on ``net(x)``                      metric                trivial baseline
=================== ======================================= ===================== =============================
``classification``  cross-entropy                           accuracy              majority class
``tagging``         cross-entropy on tagged first pieces    micro F1 (non-``O``)  random tagger (train prior)
``span``            start CE + end CE                       exact match           uniform random word (expected)
``retrieval``       in-batch InfoNCE on same-group pairs    MRR@10                random ranking (expected)
=================== ======================================= ===================== =============================

Tagging and span targets come from :class:`trustmap.text.processors.Processor` (``-100`` = not scored).
``x`` is token ids or cached hidden states; pair batches for retrieval are ``(B, 2, ...)``.

>>> app = APPLICATIONS.get("tagging"); app.evaluate(net, x_test, test)["f1"]
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from trustmap.registry import Registry
from trustmap.text.processors import IGNORE, Encoded

Loss = Callable[[nn.Module, torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class Application:
    name: str
    head: str
    metric: str
    baseline_name: str
    loss: Loss
    evaluate: Callable[[nn.Module, np.ndarray, Encoded], dict[str, float]]
    baseline: Callable[[Encoded, Encoded, int], float]
    lr: float  # default learning rate for full or top-layer fine-tuning (ours)


def _check(name: str, app: Application) -> None:
    if app.name != name:
        raise ValueError(f"application registered as {name!r} calls itself {app.name!r}")
    for fn in (app.loss, app.evaluate, app.baseline):
        if not callable(fn):
            raise TypeError(f"application {name!r} needs callable loss, evaluate and baseline")


APPLICATIONS: Registry[Application] = Registry(
    "application", check=_check, summary=lambda a: f"{a.metric} vs {a.baseline_name}"
)


@torch.no_grad()
def outputs(net: nn.Module, x: np.ndarray, *, batch_size: int = 64) -> list[torch.Tensor]:
    """Eval-mode outputs of ``net`` per batch (lengths may differ between batches)."""
    net.eval()
    t = torch.from_numpy(np.ascontiguousarray(x))
    return [net(t[i : i + batch_size]) for i in range(0, len(t), batch_size)]


# --- classification --------------------------------------------------------------------------------
def _cls_loss(net: nn.Module, xb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(net(xb), yb)


def _cls_eval(net: nn.Module, x: np.ndarray, test: Encoded) -> dict[str, float]:
    pred = torch.cat(outputs(net, x)).argmax(1).numpy()
    return {"accuracy": float((pred == test.targets).mean())}


def _majority(train: Encoded, test: Encoded, seed: int) -> float:
    return float((test.targets == np.bincount(train.targets).argmax()).mean())


# --- tagging ---------------------------------------------------------------------------------------
def _tag_loss(net: nn.Module, xb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
    out = net(xb)
    return F.cross_entropy(out.flatten(0, 1), yb[:, : out.shape[1]].flatten(), ignore_index=IGNORE)


def tag_f1(pred: np.ndarray, gold: np.ndarray) -> dict[str, float]:
    """Micro precision/recall/F1 over non-``O`` tags (0 = ``O``) at scored positions (``gold != -100``)."""
    keep = gold != IGNORE
    p, g = pred[keep], gold[keep]
    tp = float(((p == g) & (g > 0)).sum())
    prec, rec = tp / max(float((p > 0).sum()), 1.0), tp / max(float((g > 0).sum()), 1.0)
    return {"precision": prec, "recall": rec, "f1": 2 * prec * rec / max(prec + rec, 1e-12)}


def _tag_eval(net: nn.Module, x: np.ndarray, test: Encoded) -> dict[str, float]:
    gold = test.targets
    pred = np.full_like(gold, IGNORE)
    row = 0
    for out in outputs(net, x):
        n, length = out.shape[0], out.shape[1]
        pred[row : row + n, :length] = out.argmax(-1).numpy()
        row += n
    return tag_f1(pred, gold)


def _random_tagger(train: Encoded, test: Encoded, seed: int) -> float:
    tags = train.targets[train.targets != IGNORE]
    prior = np.bincount(tags, minlength=int(tags.max()) + 1) / len(tags)
    rng = np.random.default_rng(seed)
    pred = rng.choice(len(prior), size=test.targets.shape, p=prior)
    return tag_f1(pred, test.targets)["f1"]


# --- span ------------------------------------------------------------------------------------------
def _span_loss(net: nn.Module, xb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
    out = net(xb)
    return 0.5 * (F.cross_entropy(out[..., 0], yb[:, 0]) + F.cross_entropy(out[..., 1], yb[:, 1]))


def best_spans(out: torch.Tensor, *, max_width: int = 8) -> np.ndarray:
    """``(N, 2)`` start/end maximising ``start + end`` logits with ``start <= end < start + max_width``."""
    s, e = out[..., 0], out[..., 1]
    score = s[:, :, None] + e[:, None, :]
    length = out.shape[1]
    i, j = torch.arange(length)[:, None], torch.arange(length)[None, :]
    score = score.masked_fill(~((j >= i) & (j < i + max_width)), -1e9)
    flat = score.flatten(1).argmax(1)
    return torch.stack([flat // length, flat % length], 1).numpy()


def _span_eval(net: nn.Module, x: np.ndarray, test: Encoded) -> dict[str, float]:
    pred = np.concatenate([best_spans(o) for o in outputs(net, x)])
    gold = test.targets
    return {
        "exact_match": float((pred == gold).all(1).mean()),
        "start_accuracy": float((pred[:, 0] == gold[:, 0]).mean()),
    }


def _random_word(train: Encoded, test: Encoded, seed: int) -> float:
    """Expected exact match of a pointer to a uniformly random word of the row (1 / words per row)."""
    from trustmap.models.text import load_tokenizer

    tok = load_tokenizer()
    special = {tok.pad_token_id, tok.cls_token_id, tok.sep_token_id}
    words = [
        sum(1 for t in row if t not in special and not tok.convert_ids_to_tokens(int(t)).startswith("##"))
        for row in test.ids
    ]
    return float(np.mean([1.0 / max(n, 1) for n in words]))


# --- retrieval -------------------------------------------------------------------------------------
def _retrieval_loss(net: nn.Module, xb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
    q, p = net(xb[:, 0]), net(xb[:, 1])
    same = yb[:, None] == yb[None, :]  # other in-batch positives of the same group are not negatives
    logits = (q @ p.T) / 0.05
    logits = logits.masked_fill(same & ~torch.eye(len(yb), dtype=torch.bool), -1e4)
    return F.cross_entropy(logits, torch.arange(len(yb)))


def mrr_at(emb: np.ndarray, groups: np.ndarray, *, k: int = 10) -> float:
    """Mean reciprocal rank of the first same-group item among the others (each row a query; 0 past ``k``)."""
    sims = emb @ emb.T
    np.fill_diagonal(sims, -np.inf)
    order = np.argsort(-sims, axis=1)[:, :k]
    hits = groups[order] == groups[:, None]
    ranks = np.where(hits.any(1), hits.argmax(1) + 1, 0)
    has = np.array([(groups == g).sum() > 1 for g in groups])
    return float(np.where(ranks > 0, 1.0 / np.maximum(ranks, 1), 0.0)[has].mean())


def _retrieval_eval(net: nn.Module, x: np.ndarray, test: Encoded) -> dict[str, float]:
    emb = torch.cat(outputs(net, x)).numpy()
    return {"mrr@10": mrr_at(emb, test.targets)}


def _random_ranking(train: Encoded, test: Encoded, seed: int) -> float:
    rng = np.random.default_rng(seed)
    return mrr_at(rng.standard_normal((len(test), 64)), test.targets)


for _app in (
    Application(
        "classification", "classification", "accuracy", "majority class", _cls_loss, _cls_eval, _majority, 1e-4
    ),
    Application("tagging", "tagging", "f1", "random tagger", _tag_loss, _tag_eval, _random_tagger, 1e-4),
    Application("span", "span", "exact_match", "random word", _span_loss, _span_eval, _random_word, 1e-4),
    Application(
        "retrieval", "embedding", "mrr@10", "random ranking", _retrieval_loss, _retrieval_eval, _random_ranking, 1e-4
    ),
):
    APPLICATIONS.add(_app.name, _app)


__all__ = ["APPLICATIONS", "Application", "best_spans", "mrr_at", "outputs", "tag_f1"]
