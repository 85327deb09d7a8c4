"""Back-propagation-free fine-tuning (ZO-Bench, arXiv 2402.11592): ZO-SGD and variants, forward gradient."""

from trustmap.adapt.zo.forward_grad import ForwardGradient
from trustmap.adapt.zo.mezo import RULES, ZOOptimizer, grid_step

__all__ = ["RULES", "ForwardGradient", "ZOOptimizer", "grid_step"]
