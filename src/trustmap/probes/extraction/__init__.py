"""Model-extraction probes (dimension ``security``): how well can a black-box model be copied?

``knockoff``: KnockoffNets (Orekondy et al. 2019), a thief trained on the victim's answers to queries,
across a query-budget sweep, with soft and hard labels.
"""

from trustmap.probes.extraction.knockoff import KnockoffNets, train_thief

__all__ = ["KnockoffNets", "train_thief"]
