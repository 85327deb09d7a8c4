"""Latent Distribution Adjusting (LDA) heads for face anti-spoofing (Sun et al., arXiv 2305.09285).

LDA replaces the single-centre softmax classifier by ``K`` unit-norm prototypes per class, so each class
is a mixture in the latent space. The class score aggregates the class's prototype cosines with a
log-sum-exp of temperature ``tau`` (``tau * logsumexp(cos / tau)``, a soft maximum); training uses a
prototype-level margin (scale ``s``, margin ``m`` subtracted from the true class's prototype cosines) on
the class scores and on all prototypes at once (the target is the nearest true-class prototype), which
pulls a sample to one prototype of its class and away from every other prototype. Adaptive Prototype
Selection (APS) drops, after a warm-up (at whose end the prototypes move to per-class k-means centres,
*ours*), prototypes that own fewer than ``min_share`` of their class's
assignments *(ours: 2%)*. A new domain gets a new prototype from a few samples' normalised mean
embedding, with no gradient step (:meth:`PrototypeHead.add_prototype`). With ``K = 1`` the head is
CosFace (large-margin cosine loss), whose few-shot update is the centroid move
``w_c <- normalised(w_c + shot mean)`` (:meth:`PrototypeHead.centroid_update`).

Shapes: images ``(B, 1, 25, 25)`` -> :class:`FaceTrunk` embedding ``(B, 64)`` -> logits ``(B, C)``.

>>> net = SpoofNet(PrototypeHead(classes=2, per_class=5, dim=64))
>>> net(torch.zeros(4, 1, 25, 25)).shape
torch.Size([4, 2])
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class FaceTrunk(nn.Module):
    """CNN-S adapted to 25x25 faces: conv3x3(1->16)-ReLU-pool2-conv3x3(16->32)-ReLU-pool2-FC(1152->dim)."""

    def __init__(self, *, dim: int = 64) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(32 * 6 * 6, dim),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class SoftmaxHead(nn.Module):
    """The baseline: a linear layer and cross-entropy."""

    def __init__(self, *, classes: int, dim: int) -> None:
        super().__init__()
        self.fc = nn.Linear(dim, classes)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.fc(z)

    def loss(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(self.fc(z), y)


class PrototypeHead(nn.Module):
    """``per_class`` unit-norm prototypes per class; ``per_class=1`` is CosFace."""

    def __init__(
        self,
        *,
        classes: int,
        per_class: int,
        dim: int,
        scale: float = 16.0,
        margin: float = 0.2,
        tau: float = 0.1,
        proto_weight: float = 0.5,
    ) -> None:
        super().__init__()
        if classes < 2 or per_class < 1:
            raise ValueError("PrototypeHead needs at least 2 classes and 1 prototype per class")
        self.weight = nn.Parameter(torch.randn(classes, per_class, dim) / dim**0.5)
        self.register_buffer("alive", torch.ones(classes, per_class, dtype=torch.bool))
        self.scale, self.margin, self.tau, self.proto_weight = scale, margin, tau, proto_weight

    def cosines(self, z: torch.Tensor) -> torch.Tensor:
        """``(B, C, K)`` cosines between embeddings and prototypes (dead prototypes at -2)."""
        cos = torch.einsum("bd,ckd->bck", F.normalize(z, dim=-1), F.normalize(self.weight, dim=-1))
        return cos.masked_fill(~self.alive, -2.0)

    def _scores(self, cos: torch.Tensor) -> torch.Tensor:
        return self.tau * torch.logsumexp(cos / self.tau, dim=-1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.scale * self._scores(self.cosines(z))

    def loss(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        cos = self.cosines(z)
        true = F.one_hot(y, cos.shape[1]).bool()[:, :, None] & self.alive[None]
        cos_m = cos - self.margin * true.float()
        loss = F.cross_entropy(self.scale * self._scores(cos_m), y)
        if self.proto_weight > 0 and cos.shape[2] > 1:
            target = torch.where(true, cos, torch.full_like(cos, -3.0)).flatten(1).argmax(1)
            loss = loss + self.proto_weight * F.cross_entropy(self.scale * cos_m.flatten(1), target)
        return loss

    @torch.no_grad()
    def init_from_embeddings(self, z: torch.Tensor, y: torch.Tensor, *, seed: int = 0) -> None:
        """Place each class's prototypes on k-means centres of its normalised embeddings *(ours: the warm-up
        end, before APS; without it one prototype wins every sample and the mixture collapses)*."""
        from sklearn.cluster import KMeans

        zn = F.normalize(z, dim=-1).numpy()
        for c in range(self.weight.shape[0]):
            k = int(self.alive[c].sum())
            pts = zn[(y == c).numpy()]
            if k < 2 or len(pts) < k:
                continue
            km = KMeans(n_clusters=k, n_init=3, random_state=seed).fit(pts)
            centres = F.normalize(torch.from_numpy(km.cluster_centers_).float(), dim=-1)
            self.weight.data[c, self.alive[c]] = centres

    @torch.no_grad()
    def prune(self, z: torch.Tensor, y: torch.Tensor, *, min_share: float = 0.02) -> int:
        """APS: drop prototypes owning ``< min_share`` of their class's samples (keeps >= 1); returns drops."""
        cos = self.cosines(z)
        dropped = 0
        for c in range(cos.shape[1]):
            own = cos[y == c, c].argmax(-1) if (y == c).any() else torch.zeros(0, dtype=torch.long)
            share = torch.bincount(own, minlength=cos.shape[2]).float() / max(len(own), 1)
            keep = self.alive[c] & (share >= min_share)
            if not keep.any():
                keep[share.argmax()] = True
            dropped += int((self.alive[c] & ~keep).sum())
            self.alive[c] = keep
        return dropped

    @torch.no_grad()
    def add_prototype(self, cls: int, shots: torch.Tensor) -> None:
        """A new prototype for class ``cls``: the normalised mean of ``shots`` embeddings ``(n, dim)``."""
        new = torch.zeros(self.weight.shape[0], 1, self.weight.shape[2])
        new[cls, 0] = F.normalize(F.normalize(shots, dim=-1).mean(0), dim=-1)
        alive = torch.zeros(self.weight.shape[0], 1, dtype=torch.bool)
        alive[cls, 0] = True
        self.weight = nn.Parameter(torch.cat([self.weight.data, new], 1))
        self.alive = torch.cat([self.alive, alive], 1)

    @torch.no_grad()
    def centroid_update(self, cls: int, shots: torch.Tensor) -> None:
        """CosFace's few-shot update: every live prototype of ``cls`` moves to normalised(w + shot mean)."""
        mean = F.normalize(F.normalize(shots, dim=-1).mean(0), dim=-1)
        w = F.normalize(self.weight.data[cls], dim=-1)
        self.weight.data[cls] = F.normalize(w + mean, dim=-1)

    @property
    def prototypes_alive(self) -> list[int]:
        return [int(a) for a in self.alive.sum(1)]


class SpoofNet(nn.Module):
    """:class:`FaceTrunk` followed by a head (:class:`SoftmaxHead` or :class:`PrototypeHead`)."""

    def __init__(self, head: nn.Module, *, dim: int = 64) -> None:
        super().__init__()
        self.trunk, self.head = FaceTrunk(dim=dim), head

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.trunk(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.trunk(x))

    def loss(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.head.loss(self.trunk(x), y)
