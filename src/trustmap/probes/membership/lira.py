"""LiRA, offline (Carlini, Chien, Nasr, Song, Terzis & Tramèr, "Membership Inference Attacks From First
Principles", IEEE S&P 2022, arXiv 2112.03570).

For each example ``(x, y)`` LiRA compares the target's confidence with the distribution of confidences
that models which did *not* train on ``x`` give it. The confidence is logit-scaled,
``phi = log p(y|x) - log(1 - p(y|x))`` (computed from the logits as ``z_y - logsumexp_{j != y} z_j``,
exact even when ``p`` rounds to 1), which makes it close to Gaussian across models. Offline, every
reference model trained on a random half of the auditor's ``pool``, so none saw the examples under
test; each example gets ``N(mu_out(x), sigma^2)`` and the score is the one-sided test statistic
``(phi_target - mu_out(x)) / sigma``: high when the target is more confident than models that never
saw ``x``. With fewer than ``per_example_variance_from`` (default 64) reference models the variance is
the global one over all examples, as the paper recommends for few shadow models ("fixed variance").

Hard examples (low ``mu_out``) that the target fits well stand out, which is how LiRA can lead at low
false-positive rates where global thresholds (loss, confidence) cannot (``benchmarks/bench_mia.py`` and
``docs/audit.md`` say where it does and where it does not).

Reference models mimic the target's training (as the paper's shadow models do): the target's
architecture when trustmap can train it (else ``cnn-s`` / ``mlp``), that architecture's recipe
(optimizer, learning rate, batch size), each on half of ``reference_pool`` examples, for exactly
``reference_epochs`` epochs (overfit targets train far longer than a recipe's few epochs; reference
models that stop early are less confident everywhere and blur the test).

Shapes: target ``phi (n,)``; reference ``phi (n, K)``; scores ``(n,)``. Defaults (quick / standard /
thorough): ``reference_models`` 2 / 4 / 8, ``reference_pool`` 2,000 / 4,000 / 20,000,
``reference_epochs`` 5 / 20 / 40, ``n`` 500 / 2,000 / 10,000. It runs by default in ``thorough`` audits
(at ``standard`` a CNN target's reference models alone took minutes); ``--probes mia-lira`` adds it. Graded like every membership probe on its
TPR at 0.1% and 1% FPR (:func:`~trustmap.probes.membership.base.low_fpr_score`).

>>> probe = make_probe("mia-lira", budget="standard")
>>> probe.run(handle, AuditData(ds, eval=ds.test, members=m, nonmembers=nm, pool=p), seed=0).metrics["tpr_at_0.1fpr"]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from trustmap.errors import TrustmapError
from trustmap.models.handle import ModelHandle
from trustmap.probes.base import AuditData, ProbeResult, register_probe
from trustmap.probes.membership.base import TEESLICE, MembershipProbe, low_fpr_rule
from trustmap.probes.membership.reference import derived_seed, train_references_for


def logit_confidence(logits: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``phi = z_y - logsumexp_{j != y} z_j`` (= log p/(1-p) of the true class), ``(..., N, C) -> (..., N)``."""
    z = np.asarray(logits, dtype=np.float64)
    idx = np.asarray(y, dtype=np.int64)
    z_y = np.take_along_axis(z, np.broadcast_to(idx[:, None], (*z.shape[:-1], 1)), axis=-1)[..., 0]
    others = z.copy()
    np.put_along_axis(others, np.broadcast_to(idx[:, None], (*z.shape[:-1], 1)), -np.inf, axis=-1)
    m = others.max(axis=-1)
    return z_y - (m + np.log(np.exp(others - m[..., None]).sum(axis=-1)))


def lira_scores(target_phi: np.ndarray, ref_phi: np.ndarray, *, per_example_variance: bool = False) -> np.ndarray:
    """Offline LiRA statistic ``(phi - mu_out) / sigma`` per example: ``target_phi (n,)``, ``ref_phi (n, K)``."""
    ref = np.asarray(ref_phi, dtype=np.float64)
    mu = ref.mean(axis=1)
    if per_example_variance and ref.shape[1] > 1:
        sigma = ref.std(axis=1, ddof=1)
    else:
        resid = ref - mu[:, None]
        dof = max(resid.size - len(mu), 1) if ref.shape[1] > 1 else resid.size
        sigma = np.full_like(mu, np.sqrt((resid**2).sum() / dof) if ref.shape[1] > 1 else np.std(mu))
    return (np.asarray(target_phi, dtype=np.float64) - mu) / np.maximum(sigma, 1e-6)


@register_probe
@dataclass
class LiRA(MembershipProbe):
    """Offline LiRA with reference models trained on ``data.pool``. See the module docstring."""

    id: ClassVar[str] = "mia-lira"
    title: ClassVar[str] = "Membership inference (LiRA, offline)"
    kinds: ClassVar[tuple[str, ...]] = ("image", "table")
    min_pool: ClassVar[int] = 100
    audit_budgets = ("thorough",)  # 4 x 20 epochs of the target's architecture is minutes for a CNN
    rule = low_fpr_rule("LiRA", defence="teeslice", command=TEESLICE)
    BUDGETS: ClassVar[dict[str, dict[str, Any]]] = {
        "quick": {"n": 500, "reference_models": 2, "reference_pool": 2000, "reference_epochs": 5},
        "standard": {"n": 2000, "reference_models": 4, "reference_pool": 4000, "reference_epochs": 20},
        "thorough": {"n": 10000, "reference_models": 8, "reference_pool": 20000, "reference_epochs": 40},
    }

    reference_models: int = 4
    reference_pool: int = 4000
    reference_epochs: int = 20
    reference_arch: str | None = None
    per_example_variance_from: int = 64

    def __post_init__(self) -> None:
        if self.reference_models < 1 or self.reference_pool < 2 or self.reference_epochs < 1:
            raise TrustmapError("mia-lira needs reference_models >= 1, reference_epochs >= 1 and reference_pool >= 2")

    def measure(self, model: ModelHandle, data: AuditData, *, seed: int, progress: bool | None) -> ProbeResult:
        assert data.pool is not None
        members, nonmembers = self.balanced(data, seed=seed)
        perm = np.random.default_rng(derived_seed(seed, 0x6C697261)).permutation(len(data.pool))
        ref_pool = data.pool.subset(np.sort(perm[: min(self.reference_pool, len(data.pool))]))
        refs = train_references_for(
            model,
            data,
            ref_pool,
            arch=self.reference_arch,
            count=self.reference_models,
            max_epochs=self.reference_epochs,
            seed=derived_seed(seed, 0x6C697261, 1),
            progress=progress,
            exact_epochs=True,
        )
        per_example = len(refs.models) >= self.per_example_variance_from
        scores = []
        for split in (members, nonmembers):
            target = logit_confidence(model.predict(split.x), split.y)
            ref = logit_confidence(refs.logits(split), split.y).T  # (n, K)
            scores.append(lira_scores(target, ref, per_example_variance=per_example))
        table = [
            {"model": k, "arch": refs.arch, "train_size": int(len(h)), "epochs": refs.epochs}
            for k, h in enumerate(refs.halves)
        ]
        extra = {"reference_models": float(len(refs.models)), "per_example_variance": float(per_example)}
        return self.finish(scores[0], scores[1], extra=extra, tables={"reference_models": table})
