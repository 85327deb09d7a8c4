"""Paper-claim experiments, one module per method id (``trustmap repro <id>``)."""

from trustmap.repro.base import (
    REPROS,
    Check,
    ReproResult,
    ReproRun,
    register_repro,
    repro_ids,
    repro_info,
    run_repro,
)

__all__ = ["REPROS", "Check", "ReproResult", "ReproRun", "register_repro", "repro_ids", "repro_info", "run_repro"]
