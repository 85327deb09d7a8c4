"""Shared set-up of the diffusion repros (``olss``, ``elijah``, ``sfr-on-diffusion``, and with ``text=True``
``pai-diffusion`` and ``evalmuse``): the cached FM14 DDPM (or text-conditioned DDPM),
the cached CNN-S feature classifier, the 14x14 Fashion-MNIST test images ``(N, 1, 14, 14)`` and the
classifier's sanity numbers."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from trustmap.diffusion import DDPMConfig, cached_classifier, cached_ddpm, cached_text_ddpm, fm_images
from trustmap.diffusion.metrics import classifier_accuracy
from trustmap.repro.base import Check


@dataclass
class DiffusionBench:
    """The model and the yardsticks a diffusion repro measures it with."""

    config: Any
    model: Any
    classifier: Any
    test_x: np.ndarray
    test_y: np.ndarray
    classifier_accuracy: float
    majority: float

    def classifier_check(self) -> Check:
        """Sanity check shared by the diffusion repros: the feature classifier beats the majority class."""
        acc, majority = self.classifier_accuracy, self.majority
        return Check(
            "sanity: feature classifier test accuracy minus majority class",
            acc - majority,
            "> 0",
            passed=acc > majority,
            kind="sanity",
        )


def diffusion_bench(
    cfg: dict[str, Any], *, seed: int, conditional: bool, progress: bool | None, text: bool = False
) -> DiffusionBench:
    """The cached DDPM (``cfg["model"]`` on top of the 14x14 defaults; the text-conditioned one when ``text``)
    and classifier (``cfg["classifier"]``)."""
    config = replace(DDPMConfig(image_size=14, conditional=conditional, seed=seed), **cfg["model"])
    model = cached_text_ddpm(config, progress=progress) if text else cached_ddpm(config, progress=progress)
    clf = cached_classifier(14, seed=seed, **cfg["classifier"])
    test_x, test_y = fm_images(14, split="test")
    majority = float(np.bincount(test_y).max() / len(test_y))
    return DiffusionBench(config, model, clf, test_x, test_y, classifier_accuracy(clf, test_x, test_y), majority)
