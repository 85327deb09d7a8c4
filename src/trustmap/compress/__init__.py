"""Compression of fine-tuned weight deltas: DeltaDQ (arXiv 2410.08666) and its baselines.

* :mod:`trustmap.compress.deltadq`: group-wise dropout + separate quantisation of ``W_ft - W_base``.
* :mod:`trustmap.compress.baselines`: DARE, magnitude pruning and BitDelta-lite at equal bits.
* :mod:`trustmap.compress.delta`: :class:`CompressedDelta`, its bit accounting and safetensors file format.
* :mod:`trustmap.compress.workflow`: the library side of ``trustmap compress`` (MiniLM models).

>>> deltas, extras = linear_deltas(base.state_dict(), finetuned.state_dict())
>>> cd = compress_deltadq(deltas, ratio=16, calib=calibration_inputs(finetuned, ids)); cd.save("d.safetensors")
"""

from trustmap.compress.baselines import DeltaEstimate, bitdelta_lite, dare, magnitude
from trustmap.compress.delta import CompressedDelta, CompressedLayer, linear_deltas
from trustmap.compress.deltadq import compress_deltadq, group_indices, quantize_rows

__all__ = [
    "CompressedDelta",
    "CompressedLayer",
    "DeltaEstimate",
    "bitdelta_lite",
    "compress_deltadq",
    "dare",
    "group_indices",
    "linear_deltas",
    "magnitude",
    "quantize_rows",
]
