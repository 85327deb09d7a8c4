"""Split learning: a model cut into client head, server middle and client tail, and attacks on it (SPADV)."""

from trustmap.federated.split.spadv import SplitModel, shadow_train, spadv_attack, split_cnn_s

__all__ = ["SplitModel", "shadow_train", "spadv_attack", "split_cnn_s"]
