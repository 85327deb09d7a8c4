"""Audits: run probes into a TrustReport, grade it, and compare two audits (gate).

The report model (:class:`TrustReport`, :class:`Grade`, :class:`Weakness`) lives in :mod:`trustmap.results`,
below both this package and :mod:`trustmap.report`; it is re-exported here.

The heavy parts (runner, data preparation) are imported lazily so that light commands such as
``trustmap gate`` start without loading torch.
"""

from __future__ import annotations

from typing import Any

from trustmap.results import SCHEMA_VERSION, Grade, TrustReport, Weakness

_LAZY = {
    "prepare_audit_data": "trustmap.audit.prepare",
    "run_audit": "trustmap.audit.runner",
    "score_report": "trustmap.audit.scorecard",
}

__all__ = ["SCHEMA_VERSION", "Grade", "TrustReport", "Weakness", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'trustmap.audit' has no attribute {name!r}")
