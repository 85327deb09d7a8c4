"""CBraMod-lite: a criss-cross EEG transformer with masked-patch pre-training.

Paper: Wang et al., "CBraMod: A Criss-Cross Brain Foundation Model for EEG Decoding", arXiv 2412.07236
(ICLR 2025). EEG ``(B, C, T)`` is cut into ``(B, C, N, P)`` patches of ``P`` samples (1 s at 200 Hz). Each
patch is embedded by a time-domain convolution branch plus a spectral branch (|rfft|), summed. The
asymmetric conditional positional encoding (ACPE) is a depthwise convolution over the channel x patch grid
(kernel 7 x 3) added to the tokens, so positions come from content and any montage or length works. Each
criss-cross layer splits the features (and heads) in half: the first half attends across channels within
one patch (spatial), the second across patches within one channel (temporal), in parallel; the outputs are
concatenated, then a feed-forward block follows (pre-norm residuals). Pre-training reconstructs masked
patches (MSE on the masked ones, :func:`masked_patch_loss`); fine-tuning puts a classifier on the
flattened tokens (:meth:`EEGTransformer.set_classifier`).

``attention="full"`` gives the baseline of the same size: one attention over all ``C * N`` tokens with
learned absolute channel and patch embeddings (for at most ``max_channels`` channels) instead of ACPE.

>>> model = EEGTransformer(d_model=32, layers=1, heads=4)
>>> x = torch.randn(2, 12, 800)
>>> model.features(x).shape            # (B, C, N, d)
torch.Size([2, 12, 4, 32])
>>> model.set_classifier(channels=12, patches=4, classes=4); model(x).shape
torch.Size([2, 4])

Values *(ours)*: the conv branch (16 filters, kernel and stride 25, GroupNorm over the trial's channel x
patch grid, GELU), FFN width 4d, dropout 0.1, the head (flatten, dropout 0.1, linear to 64, ELU, linear).
As in the released code, a learned mask token (one patch long) replaces masked raw patches before the
embedding.
"""

from __future__ import annotations

import torch
from torch import nn

from trustmap.errors import DataError

ATTENTIONS = ("criss-cross", "full")


class PatchEmbed(nn.Module):
    """Patches ``(B, C, N, P)`` -> ``(B, C, N, d)``: a conv branch over the samples plus a linear map of |rfft|.

    As in the released code (``models/cbramod.py``), the conv runs over the whole channel x patch grid of a
    trial and its GroupNorm normalises over that grid, so patches keep their amplitudes relative to the rest
    of the trial (normalising each patch on its own would erase the amplitude changes, such as ERD, that
    the tasks depend on)."""

    def __init__(self, patch: int, d_model: int) -> None:
        super().__init__()
        self.conv = nn.Sequential(nn.Conv2d(1, 16, (1, 25), stride=(1, 25)), nn.GroupNorm(4, 16), nn.GELU())
        self.time = nn.Linear(16 * ((patch - 25) // 25 + 1), d_model)
        self.spec = nn.Linear(patch // 2 + 1, d_model)

    def forward(self, p: torch.Tensor) -> torch.Tensor:
        b, c, n, size = p.shape
        grid = self.conv(p.reshape(b, 1, c * n, size))  # (B, 16, C*N, P')
        t = self.time(grid.permute(0, 2, 1, 3).reshape(b, c, n, -1))
        s = self.spec(torch.fft.rfft(p, dim=-1).abs() / size**0.5)
        return t + s


class CrissCrossLayer(nn.Module):
    """Pre-norm layer: spatial attention (across channels, first d/2 features, heads/2 heads) and temporal
    attention (across patches, last d/2 features, heads/2 heads) in parallel, concatenated; then an FFN."""

    def __init__(self, d_model: int, heads: int, dropout: float = 0.1) -> None:
        super().__init__()
        if d_model % 2 or heads % 2 or (d_model // 2) % (heads // 2):
            raise DataError(f"criss-cross needs even d_model and heads dividing it, got {d_model}, {heads}")
        half = d_model // 2
        self.norm1, self.norm2 = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.spatial = nn.MultiheadAttention(half, heads // 2, dropout=dropout, batch_first=True)
        self.temporal = nn.MultiheadAttention(half, heads // 2, dropout=dropout, batch_first=True)
        self.ff = nn.Sequential(
            nn.Linear(d_model, 4 * d_model), nn.GELU(), nn.Dropout(dropout), nn.Linear(4 * d_model, d_model)
        )
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, N, d)
        b, c, n, d = x.shape
        h = self.norm1(x)
        xs = h[..., : d // 2].transpose(1, 2).reshape(b * n, c, d // 2)  # sequences over channels
        xt = h[..., d // 2 :].reshape(b * c, n, d // 2)  # sequences over patches
        s = self.spatial(xs, xs, xs, need_weights=False)[0].reshape(b, n, c, d // 2).transpose(1, 2)
        t = self.temporal(xt, xt, xt, need_weights=False)[0].reshape(b, c, n, d // 2)
        x = x + self.drop(torch.cat([s, t], dim=-1))
        return x + self.drop(self.ff(self.norm2(x)))


class FullLayer(nn.Module):
    """Pre-norm layer with one attention over all ``C * N`` tokens (the full-attention baseline)."""

    def __init__(self, d_model: int, heads: int, dropout: float = 0.1) -> None:
        super().__init__()
        self.layer = nn.TransformerEncoderLayer(
            d_model, heads, 4 * d_model, dropout, activation="gelu", batch_first=True, norm_first=True
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, n, d = x.shape
        return self.layer(x.reshape(b, c * n, d)).reshape(b, c, n, d)


class EEGTransformer(nn.Module):
    """CBraMod-lite (``attention="criss-cross"``, ACPE) or the full-attention baseline (learned positions)."""

    def __init__(
        self,
        *,
        d_model: int = 64,
        layers: int = 4,
        heads: int = 8,
        patch: int = 200,
        attention: str = "criss-cross",
        acpe_kernel: tuple[int, int] = (7, 3),
        max_channels: int = 19,
        max_patches: int = 8,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        if attention not in ATTENTIONS:
            raise DataError(f"attention must be one of {', '.join(ATTENTIONS)}, got {attention!r}")
        self.patch, self.attention, self.d_model = patch, attention, d_model
        self.max_channels, self.max_patches = max_channels, max_patches
        self.embed = PatchEmbed(patch, d_model)
        self.mask_token = nn.Parameter(torch.zeros(patch))  # replaces masked raw patches
        if attention == "criss-cross":
            kc, kt = acpe_kernel
            self.acpe = nn.Conv2d(d_model, d_model, (kc, kt), padding=(kc // 2, kt // 2), groups=d_model)
            self.blocks = nn.ModuleList(CrissCrossLayer(d_model, heads, dropout) for _ in range(layers))
        else:
            self.chan_pos = nn.Parameter(0.02 * torch.randn(max_channels, d_model))
            self.time_pos = nn.Parameter(0.02 * torch.randn(max_patches, d_model))
            self.blocks = nn.ModuleList(FullLayer(d_model, heads, dropout) for _ in range(layers))
        self.norm = nn.LayerNorm(d_model)
        self.reconstruct = nn.Linear(d_model, patch)
        self.head: nn.Module | None = None

    def patches(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C, T)`` -> ``(B, C, N, P)``; T must be a whole number of patches."""
        if x.dim() != 3 or x.shape[-1] % self.patch:
            raise DataError(f"EEG must be (batch, channels, samples) with samples a multiple of {self.patch}")
        b, c, t = x.shape
        return x.reshape(b, c, t // self.patch, self.patch)

    def features(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Token features ``(B, C, N, d)``; ``mask`` (B, C, N) bool replaces those raw patches by the mask token."""
        p = self.patches(x)
        if mask is not None:  # masked at the input, as in the released code, so nothing of them leaks
            p = torch.where(mask[..., None], self.mask_token.expand_as(p), p)
        tok = self.embed(p)
        _, c, n, _ = tok.shape
        if self.attention == "criss-cross":
            tok = tok + self.acpe(tok.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
        else:
            if c > self.max_channels or n > self.max_patches:
                raise DataError(f"full attention knows {self.max_channels} channels, {self.max_patches} patches")
            tok = tok + self.chan_pos[:c, None, :] + self.time_pos[None, :n, :]
        for block in self.blocks:
            tok = block(tok)
        return self.norm(tok)

    def set_classifier(self, *, channels: int, patches: int, classes: int, hidden: int = 64) -> None:
        """Attach a fresh classification head for inputs of ``channels`` x ``patches``."""
        self.head = nn.Sequential(
            nn.Flatten(1),
            nn.Dropout(0.1),
            nn.Linear(channels * patches * self.d_model, hidden),
            nn.ELU(),
            nn.Linear(hidden, classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.head is None:
            raise DataError("call set_classifier(...) before classifying; features() gives the tokens")
        return self.head(self.features(x))


def random_patch_mask(shape: tuple[int, int, int], ratio: float, generator: torch.Generator) -> torch.Tensor:
    """A bool mask ``(B, C, N)`` with each patch masked independently with probability ``ratio``."""
    return torch.rand(shape, generator=generator) < ratio


def masked_patch_loss(model: EEGTransformer, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """MSE between the reconstruction of the masked patches and the original patches (CBraMod pre-training)."""
    target = model.patches(x)
    recon = model.reconstruct(model.features(x, mask))
    return ((recon - target) ** 2)[mask].mean()


def pretrain_masked(
    model: EEGTransformer,
    x: torch.Tensor,
    *,
    epochs: int,
    ratio: float = 0.5,
    lr: float = 1e-3,
    batch_size: int = 64,
    seed: int = 0,
) -> list[float]:
    """Masked-patch pre-training on unlabelled ``x`` (n, C, T); AdamW, cosine schedule *(ours)*. Returns the
    mean loss per epoch."""
    from trustmap.utils.seed import seeded_generator, seeded_global_rng

    gen = seeded_generator(seed, 31)
    steps = epochs * -(-len(x) // batch_size)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.05)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.1)
    history = []
    model.train()
    with seeded_global_rng(seed):
        for _ in range(epochs):
            order, total = torch.randperm(len(x), generator=gen), 0.0
            for i in range(0, len(x), batch_size):
                xb = x[order[i : i + batch_size]]
                b, c, t = xb.shape
                mask = random_patch_mask((b, c, t // model.patch), ratio, gen)
                loss = masked_patch_loss(model, xb, mask)
                opt.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                opt.step()
                sched.step()
                total += loss.item() * b
            history.append(total / len(x))
    model.eval()
    return history
