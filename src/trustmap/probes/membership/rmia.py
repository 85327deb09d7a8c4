"""RMIA, offline (Zarifzadeh, Liu, Mitra & Shokri, "Low-Cost High-Power Membership Inference Attacks",
ICML 2024, arXiv 2312.03262).

RMIA compares the target's likelihood of ``x`` with that of population examples ``z``, each normalised
by its probability under reference models: ``LR(x) = p(y_x | x, target) / p(x)`` and the score is the
fraction of ``z`` with ``LR(x) / LR(z) > gamma``. Offline, the reference models never saw ``x`` (nor
``z``), so ``p(x)`` (the average over IN and OUT models) is approximated from the OUT average:
``p(x) = (1 + a) / 2 * mean_k p_k(x) + (1 - a) / 2``. The same formula normalises ``p(z)``.

``a`` (``offline_a``) defaults to 0.3, the authors' default. ``offline_a=None`` tunes it as their code
(privacytrustlab/ml_privacy_meter) does: reference model 0 plays the target, its complementary partner
(model 1, trained on the other half of the pool) plays the only reference, and the ``a`` in
``0, 0.1, ..., 1`` with the best AUC on model 0's known members versus held-out examples wins. That is
only as good as the reference models are like the target: a target overfit far more than the
reference recipe wants a smaller ``a`` than the tuning finds. ``temperature`` divides all logits
before the softmax (as the authors' ``get_softmax``); above 1 it helps against over-confident targets.

Data: the pool is split into a held-out population ``Z`` (``population`` examples, never trained on)
and a reference set (at most ``reference_pool`` examples; each model trains on half). Equal scores
(the fraction moves in steps of ``1 / |Z|``) are ordered by ``LR(x)`` itself, which the fraction is a
non-decreasing function of, so the ROC curve is not flattened at low FPR by ties.

Shapes: target signals ``(n,)``, reference signals ``(n, K)``; population ``(m,)`` and ``(m, K)``.
Reference models use the target's architecture when trustmap can train it (else ``cnn-s`` / ``mlp``),
with that architecture's recipe, but at most ``reference_epochs`` epochs.
Defaults (quick / standard / thorough): ``reference_models`` 2 / 2 / 4, ``reference_pool`` 2,000 / 4,000
/ 20,000, ``reference_epochs`` 2 / 3 / 20, ``population`` 500 / 1,000 / 5,000, ``n`` 500 / 2,000 /
10,000; ``offline_a = 0.3``, ``gamma = 1``, ``temperature = 1``.

>>> probe = make_probe("mia-rmia", budget="standard")
>>> result = probe.run(handle, AuditData(ds, eval=ds.test, members=m, nonmembers=nm, pool=p), seed=0)
>>> result.metrics["auc"], result.metrics["offline_a"]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from trustmap.data.dataset import Split
from trustmap.errors import TrustmapError
from trustmap.models.handle import ModelHandle
from trustmap.probes.base import AuditData, ProbeResult, register_probe
from trustmap.probes.membership.base import (
    TEESLICE,
    MembershipProbe,
    low_fpr_rule,
    seeded_subset,
    true_class_log_prob,
)
from trustmap.probes.membership.metrics import roc_auc
from trustmap.probes.membership.reference import (
    ReferenceModels,
    derived_seed,
    stacked_true_class_probs,
    train_references_for,
)

A_GRID = tuple(round(0.1 * i, 1) for i in range(11))
DEFAULT_A = 0.3


def rmia_scores(
    target_x: np.ndarray,
    ref_x: np.ndarray,
    target_z: np.ndarray,
    ref_z: np.ndarray,
    *,
    offline_a: float,
    gamma: float = 1.0,
) -> np.ndarray:
    """Offline RMIA scores ``(n,)``: the fraction of ``z`` with ``LR(x) / LR(z) > gamma``, ties by ``LR(x)``.

    ``target_x (n,)``: ``p(y|x)`` under the target; ``ref_x (n, K)``: under OUT reference models;
    ``target_z (m,)``, ``ref_z (m, K)``: the same for the population.
    """
    if not 0.0 <= offline_a <= 1.0:
        raise ValueError(f"offline_a must be in [0, 1], got {offline_a}")
    if gamma <= 0:
        raise ValueError(f"gamma must be positive, got {gamma}")
    tiny = np.finfo(np.float64).tiny
    p_x = (1 + offline_a) / 2 * ref_x.mean(axis=1) + (1 - offline_a) / 2
    p_z = (1 + offline_a) / 2 * ref_z.mean(axis=1) + (1 - offline_a) / 2
    lr_x = target_x / np.maximum(p_x, tiny)
    lr_z = np.sort(target_z / np.maximum(p_z, tiny))
    counts = np.searchsorted(lr_z, lr_x / gamma, side="left")  # #{z : LR(z) < LR(x) / gamma}
    # break ties between equal counts by LR(x) itself (a monotone map of it into [0, 1))
    return (counts + lr_x / (1.0 + lr_x)) / len(lr_z)


def tune_offline_a(
    target_in: np.ndarray,
    target_out: np.ndarray,
    ref_in: np.ndarray,
    ref_out: np.ndarray,
    target_z: np.ndarray,
    ref_z: np.ndarray,
    *,
    gamma: float = 1.0,
) -> tuple[float, list[dict[str, float]]]:
    """The ``a`` in ``A_GRID`` with the highest AUC, attacking a model whose members are known.

    ``target_*``: the stand-in target's ``p(y|x)`` on its members (``in``), non-members (``out``) and
    population; ``ref_*``: the same under reference models that saw none of them, ``(·, K)``.
    """
    rows = []
    for a in A_GRID:
        s_in = rmia_scores(target_in, ref_in, target_z, ref_z, offline_a=a, gamma=gamma)
        s_out = rmia_scores(target_out, ref_out, target_z, ref_z, offline_a=a, gamma=gamma)
        rows.append({"offline_a": a, "auc": roc_auc(s_in, s_out)})
    best = max(rows, key=lambda r: r["auc"])  # first of equal AUCs: deterministic
    return float(best["offline_a"]), rows


@register_probe
@dataclass
class RMIA(MembershipProbe):
    """Offline RMIA with reference models trained on ``data.pool``. See the module docstring."""

    id: ClassVar[str] = "mia-rmia"
    title: ClassVar[str] = "Membership inference (RMIA, reference models)"
    kinds: ClassVar[tuple[str, ...]] = ("image", "table")
    min_pool: ClassVar[int] = 100
    audit_budgets = ("standard", "thorough")
    rule = low_fpr_rule("RMIA", defence="teeslice", command=TEESLICE)
    BUDGETS: ClassVar[dict[str, dict[str, Any]]] = {
        "quick": {"n": 500, "reference_models": 2, "reference_pool": 2000, "reference_epochs": 2, "population": 500},
        "standard": {
            "n": 2000,
            "reference_models": 2,
            "reference_pool": 4000,
            "reference_epochs": 3,
            "population": 1000,
        },
        "thorough": {
            "n": 10000,
            "reference_models": 4,
            "reference_pool": 20000,
            "reference_epochs": 20,
            "population": 5000,
        },
    }

    reference_models: int = 2
    reference_pool: int = 4000
    reference_epochs: int = 3
    reference_arch: str | None = None
    population: int = 1000
    offline_a: float | None = DEFAULT_A
    gamma: float = 1.0
    temperature: float = 1.0

    def __post_init__(self) -> None:
        if self.reference_models < 1 or self.reference_pool < 2 or self.reference_epochs < 1 or self.population < 1:
            raise TrustmapError(
                "mia-rmia needs reference_models, reference_epochs and population >= 1 and reference_pool >= 2"
            )
        if self.offline_a is not None and not 0.0 <= self.offline_a <= 1.0:
            raise TrustmapError(f"mia-rmia offline_a must be between 0 and 1, got {self.offline_a}")
        if self.gamma <= 0 or self.temperature <= 0:
            raise TrustmapError(f"mia-rmia gamma and temperature must be positive: {self.gamma}, {self.temperature}")

    def measure(self, model: ModelHandle, data: AuditData, *, seed: int, progress: bool | None) -> ProbeResult:
        assert data.pool is not None
        members, nonmembers = self.balanced(data, seed=seed)
        population, ref_pool = self.split_pool(data.pool, seed=seed)
        refs = train_references_for(
            model,
            data,
            ref_pool,
            arch=self.reference_arch,
            count=self.reference_models,
            max_epochs=self.reference_epochs,
            seed=derived_seed(seed, 0x726D6961),
            progress=progress,
        )
        t = self.temperature
        target = {
            name: np.exp(true_class_log_prob(model.predict(s.x) / t, s.y))
            for name, s in (("in", members), ("out", nonmembers), ("z", population))
        }
        z_logits = refs.logits(population)  # (K, m, classes)
        ref_acc = [float(v) for v in (z_logits.argmax(axis=2) == population.y).mean(axis=1)]
        ref = {
            "in": refs.true_class_probs(members, temperature=t),
            "out": refs.true_class_probs(nonmembers, temperature=t),
            "z": stacked_true_class_probs(z_logits, population.y, temperature=t),
        }
        a, tuning = self.choose_a(refs, ref_pool, population, ref["z"], seed=seed)
        s_in = rmia_scores(target["in"], ref["in"], target["z"], ref["z"], offline_a=a, gamma=self.gamma)
        s_out = rmia_scores(target["out"], ref["out"], target["z"], ref["z"], offline_a=a, gamma=self.gamma)
        table = [
            {
                "model": k,
                "arch": refs.arch,
                "train_size": int(len(h)),
                "epochs": refs.epochs,
                "population_accuracy": acc,
            }
            for k, (h, acc) in enumerate(zip(refs.halves, ref_acc))
        ]
        extra = {"offline_a": a, "reference_models": float(len(refs.models)), "population": float(len(population))}
        return self.finish(s_in, s_out, extra=extra, tables={"reference_models": table, "offline_a_tuning": tuning})

    def split_pool(self, pool: Split, *, seed: int) -> tuple[Split, Split]:
        """(population ``Z``, reference-training set): disjoint, seeded, within the size options."""
        perm = np.random.default_rng(derived_seed(seed, 0x706F6F6C)).permutation(len(pool))
        m = min(self.population, len(pool) // 4)
        r = min(self.reference_pool, len(pool) - m)
        return pool.subset(np.sort(perm[:m])), pool.subset(np.sort(perm[m : m + r]))

    def choose_a(
        self, refs: ReferenceModels, ref_pool: Split, population: Split, ref_z: np.ndarray, *, seed: int
    ) -> tuple[float, list[dict[str, float]]]:
        """``offline_a`` if set; else tuned on reference model 0 against its partner (needs two models)."""
        if self.offline_a is not None:
            return float(self.offline_a), []
        if len(refs.models) < 2:
            return DEFAULT_A, []
        rng = np.random.default_rng(derived_seed(seed, 0x74756E65))
        half = len(population) // 2
        stand_in_out, stand_in_z = np.arange(half), np.arange(half, len(population))
        members0 = ref_pool.subset(refs.halves[0][seeded_subset(len(refs.halves[0]), half, rng)])
        p_members0 = refs.true_class_probs(members0, models=[0, 1], temperature=self.temperature)  # 0 saw them, 1 not
        return tune_offline_a(
            p_members0[:, 0],
            ref_z[stand_in_out, 0],
            p_members0[:, 1:2],
            ref_z[stand_in_out, 1:2],
            ref_z[stand_in_z, 0],
            ref_z[stand_in_z, 1:2],
            gamma=self.gamma,
        )
