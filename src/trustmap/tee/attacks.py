"""The two attacks on TEE-shielded models of Zhang et al., "No Privacy Left Outside: On the (In-)Security
of TEE-Shielded DNN Partition for On-Device ML" (IEEE S&P 2024, arXiv 2310.07152).

**Model stealing from the exposed weights.** The attacker reads everything outside the enclave
(:meth:`Partition.exposed`), holds the public pretrained weights and a small labelled query set. The
stolen model starts from the victim's architecture: visible entries take the exposed values; hidden
entries are re-initialised from the public weights where the public model has an entry of that name and
shape, else they keep a fresh seeded initialisation (e.g. the private head). It is then fine-tuned on the
query set. Against TEESlice the attacker sees only the public backbone, so it builds its own slices and
head on it (:func:`steal_teeslice`).

**Membership inference.** Loss threshold (Yeom et al. 2018) on the attacker's stolen model: score
``-CE(f(x), y)``; ROC-AUC of members (the victim's private training images) against non-members.

Shapes: queries ``x (Q, C, H, W)``, ``y (Q,)``; members/non-members likewise.

>>> exposed = shield(victim, "deep").exposed(victim)
>>> thief = steal_from_exposed(fresh_cnn4, exposed, queries, public=public_state, seed=0)
>>> loss_threshold_mia(thief, members=private_train, nonmembers=private_test).auc
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from trustmap.data.dataset import Split
from trustmap.models.train import TrainConfig, fit
from trustmap.probes.membership.metrics import roc_auc
from trustmap.tee.partition import ExposedWeights
from trustmap.tee.teeslice import SlicedModel, train_slices
from trustmap.utils.seed import seeded_global_rng

THIEF_CONFIG = TrainConfig(epochs=20, batch_size=32, lr=1e-3, optimizer="adam")


@torch.no_grad()
def assemble_from_exposed(
    model: nn.Module, exposed: ExposedWeights, *, public: Mapping[str, torch.Tensor] | None = None
) -> nn.Module:
    """Load the attacker's starting point into ``model`` in place: exposed values where visible, public
    values (same name and shape) where hidden, ``model``'s own initialisation elsewhere."""
    state = model.state_dict()
    for name, t in state.items():
        if public is not None and name in public and public[name].shape == t.shape:
            t.copy_(public[name])
        if name in exposed.values:
            t.copy_(torch.where(exposed.visible[name], exposed.values[name], t))
    return model


def steal_from_exposed(
    model: nn.Module,
    exposed: ExposedWeights,
    queries: Split,
    *,
    public: Mapping[str, torch.Tensor] | None = None,
    config: TrainConfig = THIEF_CONFIG,
    seed: int = 0,
    progress: bool | None = None,
) -> nn.Module:
    """Assemble the stolen model from the exposed and public weights and fine-tune all of it on ``queries``."""
    assemble_from_exposed(model, exposed, public=public)
    for p in model.parameters():
        p.requires_grad_(True)
    with seeded_global_rng(seed):  # dropout masks come from ``seed`` too
        fit(model, queries, config=config, seed=seed, progress=progress, description="stealing")
    return model.eval()


def steal_teeslice(
    backbone: nn.Sequential,
    queries: Split,
    *,
    num_classes: int,
    input_shape: tuple[int, ...],
    width: int = 8,
    fc_width: int = 16,
    config: TrainConfig = THIEF_CONFIG,
    seed: int = 0,
    progress: bool | None = None,
) -> SlicedModel:
    """The attacker's own slices and head on the public ``backbone``, trained on ``queries``."""
    thief = SlicedModel(
        backbone, num_classes=num_classes, input_shape=input_shape, width=width, fc_width=fc_width, seed=seed
    )
    train_slices(thief, queries, config=config, seed=seed, progress=progress)
    return thief.eval()


@torch.no_grad()
def per_example_loss(model: nn.Module, data: Split, *, batch_size: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """Cross-entropy ``(N,)`` and whether the top-1 class is right ``(N,)``, in one pass."""
    model.eval()
    x = torch.from_numpy(np.ascontiguousarray(data.x, dtype=np.float32))
    y = torch.from_numpy(np.asarray(data.y, dtype=np.int64))
    losses, correct = [], []
    for i in range(0, len(y), batch_size):
        logits = model(x[i : i + batch_size])
        losses.append(F.cross_entropy(logits, y[i : i + batch_size], reduction="none"))
        correct.append(logits.argmax(1) == y[i : i + batch_size])
    return torch.cat(losses).numpy().astype(np.float64), torch.cat(correct).numpy()


@dataclass(frozen=True)
class MembershipResult:
    """Loss-threshold MIA: ROC-AUC (members positive), mean losses, and accuracy on the non-members."""

    auc: float
    member_loss: float
    nonmember_loss: float
    nonmember_accuracy: float


def loss_threshold_mia(model: nn.Module, *, members: Split, nonmembers: Split) -> MembershipResult:
    """Score ``-loss``: a lower loss means "more likely a member"."""
    m_loss, _ = per_example_loss(model, members)
    n_loss, n_ok = per_example_loss(model, nonmembers)
    return MembershipResult(
        auc=roc_auc(-m_loss, -n_loss),
        member_loss=float(m_loss.mean()),
        nonmember_loss=float(n_loss.mean()),
        nonmember_accuracy=float(n_ok.mean()),
    )
