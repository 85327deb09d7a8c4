"""Efficient adaptation of pretrained transformers: LoRA, LoRA-SP, prefix tuning, APT, DEFT and ZO fine-tuning.

Building blocks work on any PyTorch model (targets are matched by module name); :mod:`trustmap.adapt.train`
trains the MiniLM text classifier (:mod:`trustmap.adapt.minilm` builds it from the pretrained encoder) and
:mod:`trustmap.adapt.workflow` is the library side of ``trustmap adapt``. Methods are registered by id
(:func:`method_ids`), which the ``trustmap adapt --method`` choices come from.

>>> model = build_model("minilm", input_shape=(), num_classes=2)
>>> run = adapt(model, encode_split(model, train), config=AdaptConfig(method="lora-sp", deft_weight=1.0))
"""

from trustmap.adapt.apt import AdaptivePrefixSelfAttention, apply_apt, layer_scales
from trustmap.adapt.deft import Density, DensityMonitor, deft_penalty
from trustmap.adapt.lora import LoRALinear, apply_lora, count_trainable, freeze_except, lora_parameters, merge_lora
from trustmap.adapt.lora_sp import SparseLoRALinear, apply_lora_sp
from trustmap.adapt.memory import StepMemory, step_memory
from trustmap.adapt.methods import AdaptConfig, MethodInfo, method_ids, method_info, register_method
from trustmap.adapt.prefix import PrefixSelfAttention, apply_prefix
from trustmap.adapt.train import AdaptRun, accuracy, adapt, predict, prepare
from trustmap.adapt.zo import ForwardGradient, ZOOptimizer

__all__ = [
    "AdaptConfig",
    "AdaptRun",
    "AdaptivePrefixSelfAttention",
    "Density",
    "DensityMonitor",
    "ForwardGradient",
    "LoRALinear",
    "MethodInfo",
    "PrefixSelfAttention",
    "SparseLoRALinear",
    "StepMemory",
    "ZOOptimizer",
    "accuracy",
    "adapt",
    "apply_apt",
    "apply_lora",
    "apply_lora_sp",
    "apply_prefix",
    "count_trainable",
    "deft_penalty",
    "freeze_except",
    "layer_scales",
    "lora_parameters",
    "merge_lora",
    "method_ids",
    "method_info",
    "predict",
    "prepare",
    "register_method",
    "step_memory",
]
