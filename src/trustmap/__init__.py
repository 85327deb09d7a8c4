"""trustmap: map, measure and mend the trustworthiness of machine-learning models.

>>> import trustmap
>>> ds = trustmap.load_dataset("digits")
"""

import os

# Nothing in trustmap reaches the network at run time: Ray (sweeps, Flower's simulation) would otherwise
# report usage statistics to its servers. Set RAY_USAGE_STATS_ENABLED=1 yourself to allow it.
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

from trustmap.data import Dataset, load_dataset
from trustmap.errors import TrustmapError

__version__ = "0.1.0"
__all__ = ["Dataset", "TrustmapError", "load_dataset", "__version__"]
