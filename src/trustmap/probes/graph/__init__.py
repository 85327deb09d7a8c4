"""Graph probes for node classifiers (library API; not yet run by ``trustmap audit``, see docs/graphs.md).

>>> from trustmap.probes.graph import GraphStructureProbe
>>> result = GraphStructureProbe(targets=20, budget=5).run(model, graph, train_idx=train, seed=0)
>>> result.metrics["attacked_accuracy"]
"""

from trustmap.probes.graph.structure import GraphStructureProbe

__all__ = ["GraphStructureProbe"]
