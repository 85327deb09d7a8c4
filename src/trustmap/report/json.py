"""The JSON report: deterministic text, and a loader that fails with one line.

The document is :meth:`TrustReport.to_json_dict` (schema in ``docs/report-schema.md``) written with
sorted keys and a two-space indent, so the same audit gives byte-identical files. Timings and
timestamps are not part of it.

>>> text = render_json(report)
>>> same = load_report_json("out/report.json")
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any

from trustmap.errors import TrustmapError
from trustmap.results import (
    DIRECTIONS,
    SCHEMA_VERSION,
    Curve,
    Grade,
    ProbeResult,
    TrustReport,
    Weakness,
)

_REQUIRED = ("schema_version", "model", "data", "seed", "budget", "probes")


def render_json(report: TrustReport) -> str:
    """The report as deterministic JSON text (sorted keys, indent 2, trailing newline)."""
    return json.dumps(report.to_json_dict(), indent=2, sort_keys=True) + "\n"


def load_report_json(path: str | os.PathLike[str]) -> TrustReport:
    """Read a ``report.json`` back into a :class:`TrustReport`.

    Raises :class:`TrustmapError` (one line) for a missing or unreadable file, invalid JSON, a document
    that is not a trustmap report, or a schema of another major version. Keys added by a newer minor
    version are ignored.
    """
    p = os.fspath(path)
    try:
        with open(p, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        raise TrustmapError(f"no report at {p}; give the path of a report.json written by trustmap audit") from None
    except IsADirectoryError:
        raise TrustmapError(f"{p} is a folder; give the path of its report.json") from None
    except UnicodeDecodeError:
        raise TrustmapError(f"{p} is not a text file; give a report.json written by trustmap audit") from None
    except OSError as exc:
        raise TrustmapError(f"cannot read {p}: {exc.strerror}") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TrustmapError(f"{p} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    return report_from_dict(doc, source=p)


def report_from_dict(doc: Any, *, source: str = "the report") -> TrustReport:
    """Validate a parsed JSON document and build the :class:`TrustReport` (see :func:`load_report_json`)."""
    if not isinstance(doc, dict) or "schema_version" not in doc:
        raise TrustmapError(f"{source} is not a trustmap report (it has no schema_version)")
    version = str(doc["schema_version"])
    major = SCHEMA_VERSION.split(".")[0]
    if version.split(".")[0] != major:
        raise TrustmapError(
            f"{source} uses report schema {version}; this trustmap reads schema {major}.x "
            f"(install the trustmap version that wrote it, or re-run the audit)"
        )
    missing = [k for k in _REQUIRED if k not in doc]
    if missing:
        raise TrustmapError(f"{source} is not a valid trustmap report: missing {', '.join(missing)}")
    try:
        cleaned = {
            **doc,
            "probes": [_probe_dict(p) for p in doc["probes"]],
            "scorecard": [_known(Grade, g) for g in doc.get("scorecard", [])],
            "weaknesses": [_known(Weakness, w) for w in doc.get("weaknesses", [])],
        }
        report = TrustReport.from_json_dict(cleaned)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise TrustmapError(f"{source} is not a valid trustmap report ({type(exc).__name__}: {exc})") from None
    report.schema_version = version
    return report


def _known(cls: type, d: Any) -> dict[str, Any]:
    """Keep only the fields ``cls`` knows (a newer minor version may add keys)."""
    if not isinstance(d, dict):
        raise TypeError(f"expected an object for {cls.__name__}, got {type(d).__name__}")
    names = {f.name for f in dataclasses.fields(cls)}
    return {k: v for k, v in d.items() if k in names}


def _probe_dict(p: Any) -> dict[str, Any]:
    d = _known(ProbeResult, p)
    d["curves"] = [_known(Curve, c) for c in d.get("curves", [])]
    directions = d.get("directions", {})
    if not isinstance(directions, dict) or any(v not in DIRECTIONS for v in directions.values()):
        raise TypeError(f"probe {d.get('probe')!r}: directions must map metric names to 'higher' or 'lower'")
    if not isinstance(d.get("headline"), (str, type(None))):
        raise TypeError(f"probe {d.get('probe')!r}: headline must be a metric name")
    return d
