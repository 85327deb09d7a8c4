"""Paper-claim experiments, one module per method id (``trustmap repro <id>``)."""

from trustmap.repro.base import Check, ReproResult, register_repro, repro_ids, repro_info

__all__ = ["Check", "ReproResult", "register_repro", "repro_ids", "repro_info"]
