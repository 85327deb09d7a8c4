"""Paper-claim experiments, one module per method id (``trustmap repro <id>``)."""

from trustmap.repro.base import REPROS, Check, ReproResult, register_repro, repro_ids, repro_info

__all__ = ["REPROS", "Check", "ReproResult", "register_repro", "repro_ids", "repro_info"]
