"""Backdoor probes (security): find a backdoor without knowing its trigger or seeing poisoned data.

- ``backdoor-scan``: Neural Cleanse trigger inversion (Wang et al., IEEE S&P 2019) graded by the anomaly
  index of the inverted masks' norms, confirmed by STRIP entropy (Gao et al., arXiv 1902.06531).

Functions, usable by defences: :func:`invert_triggers`, :func:`anomaly_indices`, :func:`strip_entropy`.

>>> from trustmap.probes.backdoor import invert_triggers
>>> inv = invert_triggers(module, x, y, num_classes=10, steps=80)
"""

# the probe module registers itself on import
from trustmap.probes.backdoor.inversion import Inversion, anomaly_indices, invert_triggers, trigger_asr
from trustmap.probes.backdoor.neural_cleanse import BackdoorScan
from trustmap.probes.backdoor.strip import strip_entropy

__all__ = ["BackdoorScan", "Inversion", "anomaly_indices", "invert_triggers", "strip_entropy", "trigger_asr"]
