"""Audits: run probes into a TrustReport, grade it, and compare two audits (gate)."""

from trustmap.audit.model import SCHEMA_VERSION, Grade, TrustReport, Weakness
from trustmap.audit.prepare import prepare_audit_data
from trustmap.audit.runner import run_audit
from trustmap.audit.scorecard import score_report

__all__ = [
    "SCHEMA_VERSION",
    "Grade",
    "TrustReport",
    "Weakness",
    "prepare_audit_data",
    "run_audit",
    "score_report",
]
