"""Forward gradient (FG): an unbiased gradient estimate from one Jacobian-vector product (ZO-Bench, arXiv 2402.11592).

For a direction ``z ~ N(0, I)`` (seeded, one draw per step) the exact directional derivative
``d = grad L . z`` comes from forward-mode AD (``torch.func.jvp``), with no backward pass and no saved
activations; the estimate is ``g = d z`` (``E[g] = grad L``) and the update is ``theta -= lr g``.
Fused attention kernels lack forward-mode AD, so the step runs attention with the math backend.
Memory: the tangents ``z`` (one per trainable tensor) live for the step; nothing is kept between steps.

``loss_of`` maps a dict of the trainable tensors (name -> tensor) to the scalar loss, usually through
``torch.func.functional_call(model, params, (x,))``:

>>> fg = ForwardGradient(dict(model.named_parameters()), lr=1e-3, seed=0)   # only requires_grad ones
>>> fg.step(lambda p: F.cross_entropy(torch.func.functional_call(model, p, (xb,)), yb))
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import torch

from trustmap.utils.seed import torch_generator


class ForwardGradient:
    """SGD on forward gradients ``(grad L . z) z`` computed with ``torch.func.jvp``."""

    def __init__(self, named_params: Mapping[str, torch.nn.Parameter], *, lr: float, seed: int = 0) -> None:
        self.params = {n: p for n, p in named_params.items() if p.requires_grad}
        if not self.params:
            raise ValueError("ForwardGradient needs at least one trainable tensor")
        if lr <= 0:
            raise ValueError(f"lr must be positive, got {lr}")
        self.lr = lr
        self._gen = torch_generator(seed)

    def directional(
        self, loss_of: Callable[[dict[str, torch.Tensor]], torch.Tensor], tangents: dict[str, torch.Tensor]
    ) -> tuple[float, float]:
        """``(L, grad L . tangents)`` at the current weights, by one forward-mode pass."""
        from torch.nn.attention import SDPBackend, sdpa_kernel

        primals = {n: p.detach() for n, p in self.params.items()}
        with sdpa_kernel(SDPBackend.MATH):  # the fused CPU attention kernels have no forward-mode AD
            loss, deriv = torch.func.jvp(loss_of, (primals,), (tangents,))
        return float(loss), float(deriv)

    def step(self, loss_of: Callable[[dict[str, torch.Tensor]], torch.Tensor]) -> float:
        tangents = {n: torch.randn(p.shape, generator=self._gen, dtype=p.dtype) for n, p in self.params.items()}
        loss, deriv = self.directional(loss_of, tangents)
        with torch.no_grad():
            for n, p in self.params.items():
                p.add_(tangents[n], alpha=-self.lr * deriv)
        return loss

    def state_bytes(self) -> int:
        return 0


__all__ = ["ForwardGradient"]
