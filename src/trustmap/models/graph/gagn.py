"""GAgN-lite: Graph Agent Network, Cheng et al., "Graph Agent Network: Empowering Nodes with Inference
Capabilities for Adversarial Resilience" (arXiv 2306.06909).

Every node is an agent with a 1-hop view. It embeds its own features, receives its neighbours' embeddings
as messages, judges each incoming edge and aggregates the edges it trusts with attention, then classifies
itself. No agent sees beyond its neighbours, so a malicious message reaches one hop only. The paper's
functions, each a single-hidden-layer MLP (proven sufficient in the paper), weights shared by all agents
for CPU cost *(ours)*:

- embedding ``emb``: features ``(F,)`` -> embedding ``(H,)`` (the message an agent sends);
- link plausibility ``link``: ``[h_i * h_j, |h_i - h_j|]`` -> P(edge is real), trained on the real edges
  against as many random non-edges *(ours)*;
- degree inference ``deg``: ``h_j`` -> log(1 + degree); a neighbour whose claimed degree exceeds the
  inferred one loses confidence: ``conf_ij = plaus_ij * exp(-relu(log(1 + claimed_j) - inferred_j))``;
- attention (the individual function): ``a^T [h_i, h_j]`` (LeakyReLU), softmax over kept neighbours
  and the agent itself;
- classifier ``cls``: ``[h_i, sum_j alpha_ij h_j]`` -> class logits.

Multilevel edge filtering: an edge is dropped before aggregation when its plausibility is below 0.5 or
its confidence is below the 10th percentile of the clean training graph's edge confidences (methods.md).
Training is local: an agent's loss sees its neighbours' messages detached, so no gradient crosses an edge
*(ours)*; the first ``filter_after`` epochs train without the filter, then the confidence threshold is
fixed and training continues with the filter on *(ours)*. Adam replaces the paper's local SGD rules, and
dropout (0.5) acts only on the classifier's input, not on the features *(ours; input dropout made the
embeddings, and so the link and degree judgements, noisy: clean accuracy 0.83 instead of 0.97 on a CSBM pilot)*.

Shapes: ``forward(x (N, F), edge_index (2, E), edge_weight (E,) | None) -> logits (N, C)``;
:meth:`GAgN.edge_scores` gives the filter's view of each edge.

>>> model = GAgN(in_dim=32, num_classes=3, seed=0)
>>> fit_node_classifier(model, graph, train_idx, seed=0)   # trustmap.models.graph.gcn
>>> model.edge_scores(x, edge_index).kept.mean()           # share of edges an agent trusts
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F
from torch_geometric.utils import scatter

from trustmap.models.graph.gcn import NodeClassifier
from trustmap.utils.seed import seeded_global_rng


def _mlp(inp: int, hidden: int, out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(inp, hidden), nn.ReLU(), nn.Linear(hidden, out))


@dataclass
class EdgeScores:
    """Per directed edge ``j -> i`` (receiver ``i = edge_index[1]``): plausibility, confidence, kept (0/1)."""

    plausibility: torch.Tensor
    confidence: torch.Tensor
    kept: torch.Tensor


class GAgN(NodeClassifier):
    """GAgN-lite node agents (see the module docstring)."""

    def __init__(
        self,
        *,
        in_dim: int,
        num_classes: int,
        hidden: int = 64,
        dropout: float = 0.5,
        plausibility_min: float = 0.5,
        confidence_quantile: float = 0.1,
        filter_after: int = 100,
        confidence_min: float | None = None,
        seed: int = 0,
    ) -> None:
        super().__init__()
        with seeded_global_rng(seed):
            self.emb = _mlp(in_dim, hidden, hidden)
            self.link = _mlp(2 * hidden, hidden, 1)
            self.deg = _mlp(hidden, hidden, 1)
            self.att = nn.Linear(2 * hidden, 1)
            self.cls = _mlp(2 * hidden, hidden, num_classes)
        self.dropout = dropout
        self.plausibility_min = plausibility_min
        self.confidence_quantile = confidence_quantile
        self.filter_after = filter_after
        self.confidence_min = confidence_min  # fixed from the clean graph during training (or a saved model)
        self._steps = 0

    # --- the agents' communicable functions ----------------------------------------------------------
    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.emb(x)

    def _plausibility(self, h_i: torch.Tensor, h_j: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.link(torch.cat([h_i * h_j, (h_i - h_j).abs()], 1)).squeeze(1))

    def _scores(self, h: torch.Tensor, hn: torch.Tensor, edge_index: torch.Tensor, w: torch.Tensor) -> EdgeScores:
        src, dst = edge_index
        plaus = self._plausibility(h[dst], hn[src])
        claimed = torch.log1p(scatter(w, dst, 0, dim_size=len(h), reduce="sum"))
        mismatch = F.relu(claimed - self.deg(hn).squeeze(1))
        conf = plaus * torch.exp(-mismatch[src])
        kept = plaus >= self.plausibility_min
        if self.confidence_min is not None:
            kept = kept & (conf >= self.confidence_min)
        return EdgeScores(plaus, conf, kept.float())

    def edge_scores(
        self, x: torch.Tensor, edge_index: torch.Tensor, edge_weight: torch.Tensor | None = None
    ) -> EdgeScores:
        """The filter's verdict on every edge (evaluation mode, no gradient)."""
        with torch.no_grad():
            h = self.emb(x)
            w = torch.ones(edge_index.shape[1]) if edge_weight is None else edge_weight
            return self._scores(h, h, edge_index, w)

    # --- inference -----------------------------------------------------------------------------------
    def _forward(
        self, x: torch.Tensor, edge_index: torch.Tensor, edge_weight: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        n = len(x)
        w = torch.ones(edge_index.shape[1]) if edge_weight is None else edge_weight
        h = self.embed(x)
        hn = h.detach() if self.training else h  # local learning: no gradient crosses an edge
        filtering = not self.training or self.confidence_min is not None
        keep = self._scores(h, hn, edge_index, w).kept if filtering else torch.ones_like(w)
        loops = torch.arange(n)
        dst = torch.cat([edge_index[1], loops])
        weight = torch.cat([w * keep, torch.ones(n)])
        msg = torch.cat([hn[edge_index[0]], h], 0)  # an agent's own embedding keeps its gradient
        e = F.leaky_relu(self.att(torch.cat([h[dst], msg], 1)).squeeze(1), 0.2)
        e = torch.exp(e - scatter(e, dst, 0, dim_size=n, reduce="max").detach()[dst])
        num = weight * e
        alpha = num / scatter(num, dst, 0, dim_size=n, reduce="sum")[dst]
        agg = scatter(alpha[:, None] * msg, dst, 0, dim_size=n, reduce="sum")
        out = self.cls(F.dropout(torch.cat([h, agg], 1), self.dropout, self.training))
        return out, h

    def forward(
        self, x: torch.Tensor, edge_index: torch.Tensor, edge_weight: torch.Tensor | None = None
    ) -> torch.Tensor:
        return self._forward(x, edge_index, edge_weight)[0]

    def saved_options(self) -> dict[str, float | None]:
        return {"confidence_min": self.confidence_min}

    # --- local learning ------------------------------------------------------------------------------
    def training_loss(
        self, x: torch.Tensor, edge_index: torch.Tensor, y: torch.Tensor, idx: torch.Tensor
    ) -> torch.Tensor:
        self._steps += 1
        if self.confidence_min is None and self._steps > self.filter_after and edge_index.shape[1]:
            self.eval()
            conf = self.edge_scores(x, edge_index).confidence
            self.confidence_min = float(torch.quantile(conf, self.confidence_quantile))
            self.train()
        logits, h = self._forward(x, edge_index, None)
        loss = F.cross_entropy(logits[idx], y[idx])
        if edge_index.shape[1]:
            n = len(x)
            neg = torch.randint(0, n, edge_index.shape)
            pos_p = self._plausibility(h[edge_index[1]], h[edge_index[0]])
            neg_p = self._plausibility(h[neg[1]], h[neg[0]])
            loss = loss + F.binary_cross_entropy(pos_p, torch.ones_like(pos_p))
            loss = loss + F.binary_cross_entropy(neg_p, torch.zeros_like(neg_p))
            deg = torch.log1p(scatter(torch.ones(edge_index.shape[1]), edge_index[1], 0, dim_size=n, reduce="sum"))
            loss = loss + F.mse_loss(self.deg(h).squeeze(1), deg)
        return loss
