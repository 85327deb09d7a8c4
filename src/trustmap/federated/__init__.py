"""Federated and split learning: partitioners, strategies (FedAvg, FedProx, DistFL, PFA), two engines.

- ``partition.py``, ``federation.py``: clients' data (IID, Dirichlet label skew, feature shift).
- ``client.py``: local training and evaluation; ``strategy.py``: the server side.
- ``sim.py``: the fast in-process engine; ``flower.py``: the same code under Flower (Ray simulation).
- ``distfl.py``, ``cfl.py``, ``pfa.py``: clustered strategies; ``leakage.py``, ``refiner.py``: gradient leakage and
  its defence; ``split/``: split-learning attacks (SPADV).

Importing this package is light: Flower is imported only by ``flower.py``.
"""

from trustmap.federated.client import ClientConfig, ClientUpdate, get_weights, local_train, set_weights
from trustmap.federated.federation import Federation, FederationSpec, build_federation
from trustmap.federated.partition import apply_shift, dirichlet_partition, iid_partition, parse_partition
from trustmap.federated.sim import FLHistory, fl_model, run_inprocess
import trustmap.federated.distfl  # noqa: F401,E402  (registers the strategy)
import trustmap.federated.cfl  # noqa: F401,E402  (registers the strategy)
import trustmap.federated.pfa  # noqa: F401,E402  (registers the strategy and its client extra)
from trustmap.federated.strategy import FedAvg, FedProx, Strategy, make_strategy, strategy_names, weighted_average

__all__ = [
    "ClientConfig",
    "ClientUpdate",
    "get_weights",
    "local_train",
    "set_weights",
    "Federation",
    "FederationSpec",
    "build_federation",
    "apply_shift",
    "dirichlet_partition",
    "iid_partition",
    "parse_partition",
    "FLHistory",
    "fl_model",
    "run_inprocess",
    "FedAvg",
    "FedProx",
    "Strategy",
    "make_strategy",
    "strategy_names",
    "weighted_average",
]
