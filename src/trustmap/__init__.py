"""trustmap: map, measure and mend the trustworthiness of machine-learning models.

>>> import trustmap
>>> ds = trustmap.load_dataset("digits")
"""

from trustmap.data import Dataset, load_dataset
from trustmap.errors import TrustmapError

__version__ = "0.1.0"
__all__ = ["Dataset", "TrustmapError", "load_dataset", "__version__"]
