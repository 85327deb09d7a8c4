"""Probe ``backdoor-scan``: Neural Cleanse trigger inversion, graded with STRIP entropy.

**Neural Cleanse** (Wang et al., "Neural Cleanse: Identifying and Mitigating Backdoor Attacks in Neural
Networks", IEEE S&P 2019). For every class ``k`` it searches the smallest trigger that sends clean images
to ``k``: a mask ``m (1, H, W)`` in ``[0, 1]`` and a pattern ``p (C, H, W)`` in the value range, applied as
``x' = (1 - m) * x + m * p``, minimising ``CE(f(x'), k) + λ_k * |m|_1``. Both are optimised in tanh space
with Adam (lr 0.1, betas 0.5/0.9) from a seeded random start. ``λ_k`` follows the schedule of the paper's
code (starting at ``init_cost`` 1e-3, its "early detection" setting): after ``patience`` consecutive steps
whose attack success rate (ASR) reaches ``asr_threshold`` (0.99) ``λ`` is multiplied by 1.5, after
``patience`` steps below it ``λ`` is divided by 1.5^1.5; the kept trigger is the one with the smallest
``|m|_1`` among steps that reached the threshold. A class stops early once ``λ`` has gone both up and
down and its best norm has not improved by 1% in ``early_stop_patience`` (25, the official example's 5 * patience) steps (the paper asks
1% per step of a whole epoch; per mini-batch that stopped classes whose norm was still falling). A step here is one mini-batch
(the paper's is an epoch of mini-batches), so the audit's budget of a few dozen steps per class suffices.
All classes are optimised together in one batched forward pass. The search itself lives in
:mod:`trustmap.probes.backdoor.inversion` (:func:`invert_triggers`, :func:`anomaly_indices`), usable by defences.

A backdoor's target class needs a far smaller trigger than the others. The **anomaly index** of the
smallest norm is ``(median - min) / (1.4826 * MAD)`` over the classes' norms; Neural Cleanse flags the
model when it exceeds 2. Deviation: by default (``log_norms=True``) the index is taken over log norms, since
the norms of a small Fashion-MNIST CNN's clean classes spread over an order of magnitude (raw index on
three BadNets models 1.4-2.0, on log norms 3.2-5.3; clean models 1.0-1.4); ``anomaly_index_raw`` is the
paper's index.

**STRIP** (Gao et al., arXiv 1902.06531; :mod:`trustmap.probes.backdoor.strip`) gives the second signal:
each class's inverted trigger is stamped on clean images, which are then superimposed on other clean
images. A real backdoor keeps its target whatever the image is mixed with, so its entropy falls well below
that of clean superimposed images; the adversarial patch that inversion finds on a clean model does not
survive superimposition. ``strip_ratio`` is the suspected class's mean entropy over the clean images' mean
entropy; STRIP agrees when it is below ``strip_threshold`` (0.5).

**Decision** (``decision="both"``, the default): the model is ``flagged`` only when Neural Cleanse flags it
(anomaly index > ``anomaly_threshold``) *and* STRIP agrees on the same suspected class; ``"neural-cleanse"``
or ``"strip"`` grade on one signal, ``"either"`` on either. Both signals are always reported.

**Calibration** (:mod:`trustmap.probes.backdoor.calibration`): a class with a strong natural shortcut
(Fashion-MNIST's *Bag*) passes both tests on a well-trained clean model. So a flagged scan is calibrated
when the audit has a pool of at least 1,000 clean images the model never saw: ``reference_models`` (2)
clean models of the target's architecture train on halves of the pool for ``reference_epochs`` (4), every
class is inverted on each, and the suspected class's log-norm offset from the median is compared with
theirs, for every class. The class with the largest **calibrated index** becomes the suspect (it can
differ from the raw smallest trigger: a backdoor toward Dress hides behind Bag's natural shortcut), and
the model stays flagged only if its calibrated index exceeds ``anomaly_threshold`` (and, with
``decision="both"``, STRIP agrees on that class).
Without a pool (or with ``reference_models=0``) the decision is uncalibrated; ``options["calibration"]``
says which happened.

Metrics: ``flagged`` (0/1), ``anomaly_index``, ``suspected_target`` (class index), ``inverted_asr`` (ASR of
the suspected class's inverted trigger on held-out clean images), ``mask_l1`` and ``median_mask_l1``,
``strip_ratio``, ``strip_entropy_trigger``, ``strip_entropy_clean``, ``nc_flagged``, ``strip_flagged``,
``uncalibrated_flagged``, ``uncalibrated_suspect``; ``calibrated_index`` and ``calibrated_strip_ratio`` (with the table
``calibration``, one row per reference model) when the scan was calibrated.
``known_trigger_asr`` and ``known_target`` too when the model's metadata records its own poisoning
(``trustmap train --poison``): the real trigger's success rate, to show what a removal bought.
Table: ``per_class`` (norm, anomaly index, ASR, STRIP entropy per class). Curve: the mask norm per class
(bars). Image: the suspected class's inverted trigger ``m * p`` (channel mean), drawn in the HTML report.

Scorecard (security): :func:`backdoor_score` grades both signals; the mend is ``harden --method nc-unlearn``.

Defaults (quick / standard / thorough): ``n_images`` 200 / 300 / 1000, ``steps`` 40 / 80 / 300.

>>> result = make_probe("backdoor-scan", budget="standard").run(handle, audit_data, seed=0)
>>> result.metrics["flagged"], result.metrics["suspected_target"], result.metrics["anomaly_index"]
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch

from trustmap.attacks.backdoor import stamp
from trustmap.errors import TrustmapError
from trustmap.models.handle import ModelHandle
from trustmap.probes.backdoor.calibration import Calibration, calibrate, strip_ratio
from trustmap.probes.backdoor.inversion import anomaly_indices, invert_triggers, trigger_asr
from trustmap.probes.backdoor.strip import strip_entropy
from trustmap.probes.base import (
    AuditData,
    Curve,
    Dimension,
    Direction,
    Probe,
    ProbeResult,
    ScoreRule,
    clip01,
    register_probe,
)
from trustmap.probes.membership.reference import train_references_for
from trustmap.results import Image
from trustmap.utils.seed import derive_seed, torch_generator

MIN_CALIBRATION_POOL = 1000  # pool images needed to train reference models for calibration
DECISIONS = ("both", "neural-cleanse", "strip", "either")


def backdoor_score(m: Mapping[str, float]) -> float | None:
    """The scorecard's 0-1 score from both signals: half from Neural Cleanse's anomaly index (1 at an index
    of 1.5 or less, 0 at 3 or more; clean models measure 1.0-1.4, backdoored ones 3.2-5.3), half from
    STRIP's entropy ratio (1 at 0.75 or more, 0 at 0.25 or less). When the scan was calibrated against
    clean reference models, the calibrated index and the calibrated STRIP ratio (capped at 1) stand in for
    the raw ones. A flagged model scores at most 0.3."""
    if "anomaly_index" not in m or "strip_ratio" not in m:
        return None
    index = m.get("calibrated_index", m["anomaly_index"])
    ratio = min(1.0, m["calibrated_strip_ratio"]) if "calibrated_strip_ratio" in m else m["strip_ratio"]
    nc = clip01((index - 1.5) / 1.5) if math.isfinite(index) else 0.0
    strip = clip01((0.75 - ratio) / 0.5)
    score = 1.0 - 0.5 * nc - 0.5 * strip
    return min(score, 0.3) if m.get("flagged") else score


def _evidence(m: Mapping[str, float]) -> str:
    verdict = (
        f"possible backdoor toward class {int(m.get('suspected_target', -1))}"
        if m.get("flagged")
        else "no backdoor found"
    )
    calibrated = (
        f", {m['calibrated_index']:.2f} against clean reference models"
        if "calibrated_index" in m and math.isfinite(m["calibrated_index"])
        else ""
    )
    return (
        f"{verdict}: Neural Cleanse anomaly index {m.get('anomaly_index', 0):.2f}{calibrated} (flag > 2), STRIP "
        f"entropy ratio {m.get('strip_ratio', 0):.2f} (flag < 0.5), inverted trigger succeeds on "
        f"{m.get('inverted_asr', 0):.0%}"
    )


def known_trigger(model: ModelHandle) -> Any:
    """The trigger a model's metadata records under ``extra["poison"]`` (models built by ``trustmap train
    --poison``), as ``(Trigger, target)``; ``None`` for any other model."""
    from trustmap.attacks.backdoor import Trigger

    d = model.meta.extra.get("poison") if isinstance(model.meta.extra, dict) else None
    if not isinstance(d, dict) or "target" not in d:
        return None
    opts = {
        k: v for k, v in d.items() if k in ("kind", "size", "position", "value", "pattern", "alpha", "margin", "seed")
    }
    try:
        return Trigger(**opts), int(d["target"])
    except (TypeError, ValueError, TrustmapError):
        return None


@register_probe
@dataclass
class BackdoorScan(Probe):
    """Neural Cleanse trigger inversion + STRIP entropy; needs no trigger and no poisoned data. See the
    module docstring for the method, the decision rule and the reported metrics."""

    id: ClassVar[str] = "backdoor-scan"
    title: ClassVar[str] = "Backdoor scan (Neural Cleanse + STRIP)"
    dimension: ClassVar[Dimension] = "security"
    needs_gradients: ClassVar[bool] = True
    kinds: ClassVar[tuple[str, ...]] = ("image",)
    # not in the quick audit: its 40 steps per class miss backdoors the standard budget finds (docs/backdoor.md)
    audit_budgets: ClassVar[tuple[str, ...]] = ("standard", "thorough")
    rule: ClassVar[ScoreRule | None] = ScoreRule(
        score=backdoor_score,
        evidence=_evidence,
        defence="nc-unlearn",
        command="trustmap harden --method nc-unlearn --model {model} --data {data} --out cleaned.pt2",
    )
    # grading signals: a small anomaly index, a high STRIP ratio and a weak inverted trigger are better
    directions: ClassVar[Mapping[str, Direction]] = {
        "flagged": "lower",
        "anomaly_index": "lower",
        "calibrated_index": "lower",
        "strip_ratio": "higher",
        "calibrated_strip_ratio": "higher",
        "inverted_asr": "lower",
        "known_trigger_asr": "lower",
    }
    headline: ClassVar[str | None] = "anomaly_index"
    BUDGETS: ClassVar[dict[str, dict[str, Any]]] = {
        "quick": {"n_images": 200, "steps": 40, "reference_models": 2},
        "standard": {"n_images": 300, "steps": 80, "reference_models": 2},
        "thorough": {"n_images": 1000, "steps": 300, "reference_models": 4},
    }

    n_images: int = 300
    steps: int = 80
    batch_size: int = 32
    lr: float = 0.1
    init_cost: float = 1e-3
    patience: int = 5
    early_stop_patience: int = 25
    log_norms: bool = True
    asr_threshold: float = 0.99
    anomaly_threshold: float = 2.0
    strip_images: int = 50
    strip_overlays: int = 8
    strip_threshold: float = 0.5
    decision: str = "both"
    reference_models: int = 2
    reference_epochs: int = 4

    def __post_init__(self) -> None:
        if self.decision not in DECISIONS:
            raise TrustmapError(f"backdoor-scan decision must be one of {', '.join(DECISIONS)}, not {self.decision!r}")
        ints = {
            "n_images": self.n_images,
            "steps": self.steps,
            "batch_size": self.batch_size,
            "patience": self.patience,
            "early_stop_patience": self.early_stop_patience,
            "strip_images": self.strip_images,
            "strip_overlays": self.strip_overlays,
            "reference_epochs": self.reference_epochs,
        }
        bad = [f"{k}={v}" for k, v in ints.items() if not (isinstance(v, int) and v >= 1)]
        if not (isinstance(self.reference_models, int) and self.reference_models >= 0):
            bad.append(f"reference_models={self.reference_models} (0 turns calibration off)")
        floats = {
            "lr": self.lr,
            "init_cost": self.init_cost,
            "asr_threshold": self.asr_threshold,
            "anomaly_threshold": self.anomaly_threshold,
            "strip_threshold": self.strip_threshold,
        }
        bad += [f"{k}={v}" for k, v in floats.items() if not (math.isfinite(v) and v > 0)]
        if bad:
            raise TrustmapError(f"backdoor-scan options must be positive: {', '.join(bad)}")

    def skip_reason(self, model: ModelHandle, data: AuditData) -> str | None:
        reason = super().skip_reason(model, data)
        if reason:
            return reason
        if data.eval.x.ndim != 4:
            return f"{self.title} needs images (N, C, H, W), got inputs of shape {data.eval.x.shape}"
        if len(data.eval) < 20:
            return f"{self.title} needs at least 20 evaluation images, got {len(data.eval)}"
        if data.dataset.num_classes < 3:
            return f"{self.title} needs at least 3 classes for its outlier test, got {data.dataset.num_classes}"
        return None

    def _decide(self, nc_flag: bool, strip_flag: bool) -> bool:
        return {
            "both": nc_flag and strip_flag,
            "neural-cleanse": nc_flag,
            "strip": strip_flag,
            "either": nc_flag or strip_flag,
        }[self.decision]

    def _calibrate(
        self,
        model: ModelHandle,
        data: AuditData,
        norms: np.ndarray,
        strip_ratios: np.ndarray,
        *,
        invert: Any,
        strip: Any,
        seed: int,
        progress: bool | None,
    ) -> tuple[Calibration | None, str]:
        """Reference calibration of a flagged scan (:mod:`~trustmap.probes.backdoor.calibration`), with a note
        saying what was done or why it was not."""
        if self.reference_models < 1:
            return None, "off (reference_models=0)"
        if data.pool is None or len(data.pool) < MIN_CALIBRATION_POOL:
            have = 0 if data.pool is None else len(data.pool)
            return None, f"not possible: needs a pool of >= {MIN_CALIBRATION_POOL} clean images, got {have}"
        refs = train_references_for(
            model,
            data,
            data.pool,
            arch=None,
            count=self.reference_models,
            max_epochs=self.reference_epochs,
            seed=derive_seed(seed, 0x5246),
            progress=progress,
        )
        cal = calibrate(norms, strip_ratios, refs.models, reference_arch=refs.arch, invert=invert, strip=strip)
        return cal, f"{len(refs.models)} clean {refs.arch} reference models on halves of {len(data.pool)} pool images"

    def measure(self, model: ModelHandle, data: AuditData, *, seed: int, progress: bool | None) -> ProbeResult:
        assert model.module is not None
        net = model.module
        vr = model.meta.value_range or data.dataset.value_range or (0.0, 1.0)
        lo, hi = float(vr[0]), float(vr[1])
        classes = data.dataset.classes
        n_cls = model.meta.num_classes or data.dataset.num_classes
        order = np.random.default_rng(derive_seed(seed, 0x4E43)).permutation(len(data.eval))
        x_all = torch.from_numpy(np.ascontiguousarray(data.eval.x[order], dtype=np.float32))
        y_all = torch.from_numpy(np.asarray(data.eval.y[order], dtype=np.int64))
        n_opt = min(self.n_images, max(len(x_all) // 2, len(x_all) - self.strip_images - 50))
        x_opt, y_opt = x_all[:n_opt], y_all[:n_opt]
        x_hold, y_hold = (x_all[n_opt:], y_all[n_opt:]) if len(x_all) > n_opt else (x_opt, y_opt)
        inv_opts: dict[str, Any] = {
            "num_classes": n_cls,
            "steps": self.steps,
            "batch_size": self.batch_size,
            "lr": self.lr,
            "init_cost": self.init_cost,
            "patience": self.patience,
            "early_stop_patience": self.early_stop_patience,
            "asr_threshold": self.asr_threshold,
            "value_range": (lo, hi),
        }
        inv = invert_triggers(net, x_opt, y_opt, **inv_opts, generator=torch_generator(derive_seed(seed, 0x4E44)))
        raw_index = anomaly_indices(inv.l1)
        index = anomaly_indices(np.log(np.maximum(inv.l1, 1e-6))) if self.log_norms else raw_index
        suspect = int(np.argmin(inv.l1))
        nc_flag = bool(inv.l1[suspect] < np.median(inv.l1) and index[suspect] > self.anomaly_threshold)
        masks, patterns = torch.from_numpy(inv.masks), torch.from_numpy(inv.patterns)
        asr = [trigger_asr(net, x_hold, y_hold, masks[k], patterns[k], k) for k in range(n_cls)]
        # STRIP: stamped held-out images superimposed on the other held-out images
        gen = torch_generator(derive_seed(seed, 0x5354))
        xs, ys = x_hold[: self.strip_images], y_hold[: self.strip_images]
        pool = x_hold[self.strip_images :] if len(x_hold) > self.strip_images + 10 else x_opt
        strip = {"n_overlays": self.strip_overlays, "clip": (lo, hi), "overlays": pool}
        h_clean = float(strip_entropy(net, xs, generator=gen, **strip).mean())
        h_trig = []
        for k in range(n_cls):
            keep = ys != k
            stamped = stamp(xs[keep], masks[k], patterns[k])
            h_trig.append(float(strip_entropy(net, stamped, generator=gen, **strip).mean()))
        ratio = h_trig[suspect] / h_clean if h_clean > 0 else 0.0
        strip_flag = bool(ratio < self.strip_threshold)
        flagged = self._decide(nc_flag, strip_flag)
        calibration, calibration_note = None, "not needed: the uncalibrated scan did not flag the model"
        if flagged:
            calibration, calibration_note = self._calibrate(
                model,
                data,
                inv.l1,
                np.array(h_trig) / h_clean if h_clean > 0 else np.zeros(n_cls),
                invert=lambda ref, r: invert_triggers(
                    ref, x_opt, y_opt, **inv_opts, generator=torch_generator(derive_seed(seed, 0x4E45, r))
                ),
                strip=lambda ref, mask, pattern, k: strip_ratio(
                    ref, xs, ys, mask, pattern, k, **strip, generator=torch_generator(derive_seed(seed, 0x5355))
                ),
                seed=seed,
                progress=progress,
            )
        uncalibrated_flag, uncalibrated_suspect = flagged, suspect
        if calibration is not None:  # the class whose trigger is smallest relative to the clean references
            suspect = calibration.k
            ratio = h_trig[suspect] / h_clean if h_clean > 0 else 0.0
            nc_flag = calibration.index > self.anomaly_threshold
            strip_flag = bool(ratio < self.strip_threshold)
            flagged = self._decide(nc_flag, strip_flag)
        metrics = {
            "flagged": float(flagged),
            "anomaly_index": float(index[suspect]),
            "suspected_target": float(suspect),
            "anomaly_index_raw": float(raw_index[suspect]),
            "inverted_asr": asr[suspect],
            "mask_l1": float(inv.l1[suspect]),
            "median_mask_l1": float(np.median(inv.l1)),
            "strip_ratio": float(ratio),
            "strip_entropy_trigger": h_trig[suspect],
            "strip_entropy_clean": h_clean,
            "nc_flagged": float(nc_flag),
            "strip_flagged": float(strip_flag),
            "uncalibrated_flagged": float(uncalibrated_flag),
            "uncalibrated_suspect": float(uncalibrated_suspect),
        }
        tables: dict[str, list[dict[str, Any]]] = {}
        if calibration is not None:
            metrics["calibrated_index"] = calibration.index
            metrics["calibrated_strip_ratio"] = calibration.strip_ratio
            tables["calibration"] = calibration.rows
        names = [classes[k] if k < len(classes) else str(k) for k in range(n_cls)]
        per_class = [
            {
                "class": names[k],
                "mask_l1": round(float(inv.l1[k]), 2),
                "anomaly_index": round(float(index[k]), 3),
                "inverted_asr": round(asr[k], 4),
                "strip_entropy": round(h_trig[k], 4),
                "steps": int(inv.steps[k]),
            }
            for k in range(n_cls)
        ]
        if calibration is not None:
            for k, row in enumerate(per_class):
                row["calibrated_index"] = calibration.indices[k]
        image = (inv.masks[suspect][None] * inv.patterns[suspect]).mean(0)  # the trigger m * p, channel mean
        picture = Image(
            name=f"inverted trigger of class {names[suspect]} (mask x pattern)",
            pixels=[[round(float(v), 3) for v in line] for line in image],
            vmin=lo,
            vmax=hi,
        )
        known = known_trigger(model)
        if known is not None:  # a demo model that records its own poisoning: the real trigger's ASR too
            from trustmap.attacks.backdoor import attack_success_rate

            trig, target = known
            metrics["known_trigger_asr"] = attack_success_rate(
                net, x_hold.numpy(), y_hold.numpy(), trigger=trig, target=target
            )
            metrics["known_target"] = float(target)
        curve = Curve(
            name="inverted trigger size per class (mask L1 norm)",
            x=[float(k) for k in range(n_cls)],
            y=[float(v) for v in inv.l1],
            x_label="class",
            y_label="mask L1 norm",
            kind="bar",
            labels=names,
        )
        tables = {"per_class": per_class, **tables}
        result = self.result(metrics=metrics, curves=[curve], tables=tables, images=[picture])
        result.options.update(
            value_range=[lo, hi],
            optimisation_images=int(n_opt),
            holdout_images=len(x_hold),
            calibration=calibration_note,
        )
        if uncalibrated_flag and not flagged:
            k = uncalibrated_suspect
            result.reason = (
                f"class {names[k]} has a small inverted trigger ({inv.l1[k]:.1f} pixels, median "
                f"{np.median(inv.l1):.1f}), but clean reference models trained here have it too (largest "
                f"calibrated index {metrics['calibrated_index']:.2f}, class {names[suspect]}): a natural "
                "shortcut of the data, not a backdoor"
            )
        if flagged:
            result.reason = (
                f"possible backdoor toward class {names[suspect]}: its inverted trigger covers "
                f"{inv.l1[suspect]:.1f} pixels (median {np.median(inv.l1):.1f}) and succeeds on "
                f"{asr[suspect]:.0%} of held-out images"
            )
        return result
