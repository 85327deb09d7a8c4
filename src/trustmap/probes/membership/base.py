"""What every membership-inference probe shares: the skip rule, balanced sampling, output signals and
the result (ROC metrics plus a log-log ROC curve).

A membership probe overrides :meth:`MembershipProbe.run`; inside it, it draws a balanced, seeded
sample with :meth:`MembershipProbe.balanced`, scores members and non-members (higher = "member"),
and returns :meth:`MembershipProbe.finish`. Shapes: ``logits (N, K)``, labels ``(N,)``, scores ``(N,)``.

>>> members, nonmembers = probe.balanced(data, seed=0)
>>> return probe.finish(score(members), score(nonmembers))
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from trustmap.data.dataset import Split
from trustmap.models.handle import ModelHandle
from trustmap.probes.base import AuditData, Curve, Dimension, Direction, Probe, ProbeResult, ScoreRule, clip01
from trustmap.probes.membership.metrics import log_roc_points, membership_metrics, roc_curve

MISSING_MEMBERS = "needs member and non-member examples: pass --members and --nonmembers"
UNLEARN_SFR_ON = "trustmap unlearn --method sfr-on --forget random:0.1 --model {model} --out unlearned.pt2"


# the false-positive rates a membership probe is graded at, by metric name (Carlini et al., arXiv 2112.03570)
LOW_FPRS = {"tpr_at_0.1fpr": 0.001, "tpr_at_1fpr": 0.01}
TEESLICE = "trustmap repro teeslice  (shield the model's private slices in a TEE)"


def auc_score(m: Mapping[str, float]) -> float | None:
    """1 at chance (AUC 0.5), 0 at AUC 1: how little the attack tells members from non-members (not graded)."""
    return clip01(1 - 2 * (m["auc"] - 0.5)) if "auc" in m else None


def low_fpr_score(m: Mapping[str, float]) -> float | None:
    """How few members the attack finds at low false-positive rates: 1 at chance, 0 when it finds them all.

    At each FPR ``f`` in :data:`LOW_FPRS` (0.1% and 1%) the attack's lift over chance is ``TPR / c`` with
    ``c = max(f, 2 / n)`` (below ``2 / n`` a sample of ``n`` non-members cannot tell an attack from
    chance), and the score is ``1 - log(lift) / log(1 / c)``: 1 for ``TPR <= c``, 0 for ``TPR = 1``, on a
    log scale because a 10x lift at 0.1% FPR is a serious leak (TPR 1% there scores 0.67, 3.2% 0.5,
    10% 0.33). The lower of the two FPRs' scores counts. ``None`` if neither TPR is in ``m``.
    """
    n = m.get("n") or 0
    scores = []
    for key, fpr in LOW_FPRS.items():
        if key not in m or not math.isfinite(m[key]):
            continue
        chance = min(max(fpr, 2.0 / n if n > 0 else fpr), 0.5)
        lift = max(m[key], chance) / chance
        scores.append(clip01(1 - math.log(lift) / math.log(1 / chance)))
    return min(scores) if scores else None


def low_fpr_evidence(attack: str) -> Callable[[Mapping[str, float]], str]:
    """The evidence line of a membership probe: its TPR at 0.1% and 1% FPR, and its AUC."""
    return lambda m: (
        f"{attack} membership: TPR {m.get('tpr_at_0.1fpr', 0):.2%} at 0.1% FPR, "
        f"{m.get('tpr_at_1fpr', 0):.2%} at 1% FPR (AUC {m.get('auc', 0):.3f})"
    )


def low_fpr_rule(attack: str, *, defence: str = "sfr-on", command: str = UNLEARN_SFR_ON) -> ScoreRule:
    """The scorecard rule of every membership probe: :func:`low_fpr_score` (the privacy grade is the lowest of
    them, so the attack that finds the most members at low FPR sets it), mended by ``defence``."""
    return ScoreRule(score=low_fpr_score, evidence=low_fpr_evidence(attack), defence=defence, command=command)


def auc_rule(attack: str) -> ScoreRule:
    """The scorecard rule of a threshold attack (graded at low FPR, like every membership probe; see
    :func:`low_fpr_rule`), mended by SFR-on unlearning."""
    return low_fpr_rule(attack)


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Numerically stable log-probabilities ``(N, K)`` from logits ``(N, K)`` (float64)."""
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def class_log_prob(logits: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """``log softmax(logits)[i, idx[i]]`` per row ``(N,)``, precise even when the probability rounds to 1.

    For a confident, overfit model ``1 - p`` falls below float64's epsilon and ``log_softmax`` returns
    exactly 0 for many examples, which ties their scores. Writing ``log p = -log1p(sum of the other
    classes' exp(z_j - z_idx))`` keeps them apart (down to ~1e-300).
    """
    z = np.asarray(logits, dtype=np.float64)
    rows = np.arange(len(z))
    d = z - z[rows, np.asarray(idx, dtype=np.int64)][:, None]
    d[rows, idx] = -np.inf  # the other classes only
    m = np.maximum(d.max(axis=1), 0.0)
    rest = np.exp(d - m[:, None]).sum(axis=1)  # sum_j exp(d_j - m)
    # log(1 + sum_j exp(d_j)) = m + log(exp(-m) + rest); with m = 0 that is log1p(rest)
    return -np.where(m > 0, m + np.log(np.exp(-m) + rest), np.log1p(rest))


def true_class_log_prob(logits: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``log p(y | x)`` per example ``(N,)``; the cross-entropy loss is its negation."""
    return class_log_prob(logits, np.asarray(y, dtype=np.int64))


def seeded_subset(n_total: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """``min(n, n_total)`` distinct indices drawn with ``rng``, sorted."""
    return np.sort(rng.choice(n_total, size=min(n, n_total), replace=False))


@dataclass
class MembershipProbe(Probe):
    """Base for membership probes. ``n``: members (and as many non-members) to attack."""

    dimension: ClassVar[Dimension] = "privacy"
    needs_gradients: ClassVar[bool] = False
    # every number describes the attack's strength: lower is better
    directions: ClassVar[Mapping[str, Direction]] = {
        "auc": "lower",
        "tpr_at_1fpr": "lower",
        "tpr_at_0.1fpr": "lower",
        "advantage": "lower",
    }
    min_pool: ClassVar[int] = 0  # held-out pool examples an attack with reference models needs
    headline: ClassVar[str | None] = "tpr_at_0.1fpr"  # what the grade reads (with TPR at 1% FPR)
    BUDGETS: ClassVar[dict[str, dict[str, Any]]] = {
        "quick": {"n": 500},
        "standard": {"n": 2000},
        "thorough": {"n": 10000},
    }

    n: int = 2000

    def skip_reason(self, model: ModelHandle, data: AuditData) -> str | None:
        reason = super().skip_reason(model, data)
        if reason:
            return reason
        if data.members is None or data.nonmembers is None or len(data.members) == 0 or len(data.nonmembers) == 0:
            return MISSING_MEMBERS
        if self.n < 1:
            return f"n must be at least 1, got {self.n}"
        have = 0 if data.pool is None else len(data.pool)
        if have < self.min_pool:
            return f"needs at least {self.min_pool} held-out pool examples to train reference models (has {have})"
        return None

    def balanced(self, data: AuditData, *, seed: int) -> tuple[Split, Split]:
        """Equal numbers of members and non-members (``min(n, |members|, |non-members|)``), seeded."""
        assert data.members is not None and data.nonmembers is not None
        k = min(self.n, len(data.members), len(data.nonmembers))
        rng = np.random.default_rng([seed, 0x6D6961])  # "mia": independent of other probes' streams
        members = data.members.subset(seeded_subset(len(data.members), k, rng))
        nonmembers = data.nonmembers.subset(seeded_subset(len(data.nonmembers), k, rng))
        return members, nonmembers

    def finish(
        self,
        member_scores: np.ndarray,
        nonmember_scores: np.ndarray,
        *,
        extra: dict[str, float] | None = None,
        tables: dict[str, list[dict[str, Any]]] | None = None,
    ) -> ProbeResult:
        """A result with ``auc``, ``tpr_at_1fpr``, ``tpr_at_0.1fpr``, ``advantage``, ``n`` and the ROC curve."""
        metrics = membership_metrics(member_scores, nonmember_scores)
        metrics["n"] = float(len(member_scores))
        metrics.update(extra or {})
        fpr, tpr = log_roc_points(roc_curve(member_scores, nonmember_scores), max_points=200)
        curve = Curve(
            name=f"{self.title} ROC",
            x=fpr,
            y=tpr,
            x_label="false positive rate",
            y_label="true positive rate",
            kind="roc",
        )
        return self.result(metrics=metrics, curves=[curve], tables=tables or {})
