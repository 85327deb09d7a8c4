"""Model provenance: is a suspect model reused from (derived from) a source model?

``modeldiff``: ModelDiff (Li et al., ISSTA 2021, arXiv 2106.08890), black-box similarity from decision
distance vectors; ``baselines``: IPGuard-style label agreement and weight cosine; ``conferrable``:
conferrable adversarial examples (Lukas et al., ICLR 2021, arXiv 1912.00888), an extraction-aware copy
test that tells a stolen (KnockoffNets) copy from an independent model. The Fashion-MNIST
reuse benchmark of ``trustmap repro modeldiff`` lives with the experiment, in ``trustmap.repro._zoo``.
"""

from trustmap.provenance.baselines import label_agreement, weight_cosine
from trustmap.provenance.conferrable import (
    ConferrableResult,
    Fingerprint,
    cae_accuracy,
    make_fingerprint,
    verify,
)
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
    "ConferrableResult",
    "Fingerprint",
    "ModelDiffResult",
    "cae_accuracy",
    "compare_models",
    "ddv",
    "ddv_similarity",
    "decision_distances",
    "label_agreement",
    "make_fingerprint",
    "profiling_inputs",
    "verify",
    "weight_cosine",
]
