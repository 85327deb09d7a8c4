"""Model-extraction probes (dimension ``security``): how well can a black-box model be copied?

``knockoff``: KnockoffNets (Orekondy et al., "Knockoff Nets: Stealing Functionality of Black-Box Models",
CVPR 2019, arXiv 1812.02766), a thief trained on the victim's answers to queries,
across a query-budget sweep, with soft and hard labels.
"""

from trustmap.probes.extraction.knockoff import KnockoffNets, train_thief

__all__ = ["KnockoffNets", "train_thief"]
