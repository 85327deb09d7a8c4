"""Probes: attacks and audits, one file each, registered by id."""

from trustmap.probes.base import (
    DIMENSIONS,
    AuditData,
    Curve,
    Probe,
    ProbeResult,
    make_probe,
    probe_class,
    probe_ids,
    register_probe,
)

__all__ = [
    "DIMENSIONS",
    "AuditData",
    "Curve",
    "Probe",
    "ProbeResult",
    "make_probe",
    "probe_class",
    "probe_ids",
    "register_probe",
]
