"""Models: safe I/O, the architecture registry, the model handle and one training loop."""

from trustmap.models.architectures import (
    ARCHS,
    arch_info,
    arch_names,
    build_model,
    register_arch,
)
from trustmap.models.handle import ModelHandle
from trustmap.models.io import load_model, save_model
from trustmap.models.meta import ModelMeta
from trustmap.models.train import EvalResult, TrainConfig, TrainResult, evaluate_logits, fit

__all__ = [
    "ModelHandle",
    "ModelMeta",
    "TrainConfig",
    "TrainResult",
    "EvalResult",
    "ARCHS",
    "arch_info",
    "arch_names",
    "build_model",
    "register_arch",
    "load_model",
    "save_model",
    "evaluate_logits",
    "fit",
]
