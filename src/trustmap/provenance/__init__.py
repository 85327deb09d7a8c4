"""Model provenance: is a suspect model reused from (derived from) a source model?

``modeldiff``: ModelDiff (Li et al., ISSTA 2021, arXiv 2106.08890), black-box similarity from decision
distance vectors; ``baselines``: IPGuard-style label agreement and weight cosine. The Fashion-MNIST
reuse benchmark of ``trustmap repro modeldiff`` lives with the experiment, in ``trustmap.repro._zoo``.
"""

from trustmap.provenance.baselines import label_agreement, weight_cosine
from trustmap.provenance.modeldiff import (
    DEFAULT_THRESHOLD,
    ModelDiffResult,
    compare_models,
    ddv,
    ddv_similarity,
    decision_distances,
    profiling_inputs,
)

__all__ = [
    "DEFAULT_THRESHOLD",
    "ModelDiffResult",
    "compare_models",
    "ddv",
    "ddv_similarity",
    "decision_distances",
    "label_agreement",
    "profiling_inputs",
    "weight_cosine",
]
