"""TEE-shielded DNN partition: the enclave boundary and shielding schemes (``partition``), TEESlice's private
slices (``teeslice``) and the attacks on both (``attacks``), after No Privacy Left Outside: On the
(In-)Security of TEE-Shielded DNN Partition for On-Device ML (arXiv 2310.07152)."""

from trustmap.tee.attacks import (
    MembershipResult,
    assemble_from_exposed,
    loss_threshold_mia,
    per_example_loss,
    steal_from_exposed,
    steal_teeslice,
)
from trustmap.tee.partition import (
    ExposedWeights,
    FlopsSplit,
    Partition,
    layer_flops,
    layer_units,
    register_scheme,
    scheme_names,
    shield,
    tee_latency,
)
from trustmap.tee.teeslice import (
    PruneResult,
    SlicedModel,
    enclave_partition,
    prune_slices,
    train_slices,
)

__all__ = [
    "ExposedWeights",
    "FlopsSplit",
    "MembershipResult",
    "Partition",
    "PruneResult",
    "SlicedModel",
    "assemble_from_exposed",
    "enclave_partition",
    "layer_flops",
    "layer_units",
    "loss_threshold_mia",
    "per_example_loss",
    "prune_slices",
    "register_scheme",
    "scheme_names",
    "shield",
    "steal_from_exposed",
    "steal_teeslice",
    "tee_latency",
    "train_slices",
]
