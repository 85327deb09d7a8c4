"""RGCN: Zhu et al., "Robust Graph Convolutional Networks Against Adversarial Attacks" (KDD 2019).

Hidden representations are Gaussians (mean, diagonal variance); a variance-based attention
``exp(-gamma * var)`` shrinks the messages of uncertain neighbours, means propagate with
``D^-1/2 (A+I) D^-1/2`` and variances with ``D^-1 (A+I) D^-1``; training adds a KL term pulling the
first layer's Gaussians toward ``N(0, I)`` (beta 5e-4) and samples the output (reparameterised).
PyG's ``RGCNConv`` is the unrelated relational GCN, so this compact version uses a dense adjacency
(fine for the few-hundred-node graphs here). Gamma 1, dropout 0.6 as in DeepRobust's RGCN; hidden 32
and evaluation on the output mean *(ours)*.

Shapes: ``forward(x (N, F), edge_index (2, E), edge_weight (E,) | None) -> logits (N, C)``.

>>> model = RGCN(in_dim=32, num_classes=3, seed=0)
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F
from torch_geometric.utils import to_dense_adj

from trustmap.models.graph.gcn import NodeClassifier
from trustmap.utils.seed import seeded_global_rng


def _norm(adj: torch.Tensor, power: float) -> torch.Tensor:
    a = adj + torch.eye(len(adj))
    d = a.sum(1).pow(power)
    return d[:, None] * a * d[None, :]


class RGCN(NodeClassifier):
    """Two Gaussian graph-convolution layers with variance-based attention."""

    def __init__(
        self,
        *,
        in_dim: int,
        num_classes: int,
        hidden: int = 32,
        gamma: float = 1.0,
        beta: float = 5e-4,
        dropout: float = 0.6,
        seed: int = 0,
    ) -> None:
        super().__init__()
        with seeded_global_rng(seed):
            self.mu1, self.var1 = nn.Linear(in_dim, hidden), nn.Linear(in_dim, hidden)
            self.mu2, self.var2 = nn.Linear(hidden, num_classes), nn.Linear(hidden, num_classes)
        self.gamma, self.beta, self.dropout = gamma, beta, dropout
        self._kl = torch.zeros(())

    def forward(
        self, x: torch.Tensor, edge_index: torch.Tensor, edge_weight: torch.Tensor | None = None
    ) -> torch.Tensor:
        n = len(x)
        adj = (
            to_dense_adj(edge_index, edge_attr=edge_weight, max_num_nodes=n)[0]
            if edge_index.numel()
            else torch.zeros(n, n)
        )
        a_mean, a_var = _norm(adj, -0.5), _norm(adj, -1.0)
        h = F.dropout(x, self.dropout, self.training)
        mu, var = F.elu(self.mu1(h)), F.relu(self.var1(h))
        self._kl = -0.5 * torch.mean(torch.sum(1 + torch.log(var + 1e-8) - mu.pow(2) - var, dim=1))
        att = torch.exp(-self.gamma * var)
        mu, var = a_mean @ (mu * att), a_var @ (var * att * att)
        mu, var = F.dropout(mu, self.dropout, self.training), F.dropout(var, self.dropout, self.training)
        mu, var = F.elu(self.mu2(mu)), F.relu(self.var2(var))
        att = torch.exp(-self.gamma * var)
        mu, var = a_mean @ (mu * att), a_var @ (var * att * att)
        if self.training:
            return mu + torch.randn_like(var) * torch.sqrt(var + 1e-8)
        return mu

    def training_loss(
        self, x: torch.Tensor, edge_index: torch.Tensor, y: torch.Tensor, idx: torch.Tensor
    ) -> torch.Tensor:
        logits = self(x, edge_index)
        return F.cross_entropy(logits[idx], y[idx]) + self.beta * self._kl
