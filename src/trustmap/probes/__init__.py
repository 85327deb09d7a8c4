"""Probes: attacks and audits, one file each, registered by id in :data:`PROBES`."""

from trustmap.probes.base import (
    BUDGET_NAMES,
    DIMENSIONS,
    PROBES,
    AuditData,
    Curve,
    Probe,
    ProbeResult,
    ScoreRule,
    budget_probes,
    make_probe,
    probe_class,
    probe_ids,
    register_probe,
)

__all__ = [
    "BUDGET_NAMES",
    "DIMENSIONS",
    "PROBES",
    "AuditData",
    "Curve",
    "Probe",
    "ProbeResult",
    "ScoreRule",
    "budget_probes",
    "make_probe",
    "probe_class",
    "probe_ids",
    "register_probe",
]
