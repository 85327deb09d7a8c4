"""Graph probes for node classifiers, run by ``trustmap audit`` on graph data (see docs/graphs.md).

>>> result = make_probe("graph-structure", budget="quick").run(handle, audit_data, seed=0)
>>> result.metrics["attacked_accuracy"]
"""

from trustmap.probes.graph.structure import GraphStructureProbe

__all__ = ["GraphStructureProbe"]
