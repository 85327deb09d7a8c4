"""Renderers for a :class:`~trustmap.results.TrustReport`: HTML, JSON and a terminal summary.

They only read the report; nothing here computes a metric.

>>> html_path, json_path = write_report(report, "audit-out")
"""

from __future__ import annotations

import os
from pathlib import Path

from trustmap.report.html import render_html
from trustmap.report.json import load_report_json, render_json
from trustmap.report.terminal import render_terminal
from trustmap.results import TrustReport
from trustmap.utils.files import atomic_write_text, check_writable

__all__ = ["render_html", "render_json", "render_terminal", "load_report_json", "write_report"]


def write_report(report: TrustReport, out_dir: str | os.PathLike[str]) -> tuple[Path, Path]:
    """Write ``report.html`` and ``report.json`` into ``out_dir`` (created if needed).

    Both documents are rendered before anything is written, and each file is replaced atomically, so a
    failure never leaves a half-written report. Returns ``(html_path, json_path)``.
    """
    out = Path(out_dir)
    for name in ("report.json", "report.html"):
        check_writable(out / name)  # fail before the (slower) rendering, with a one-line message
    html_text, json_text = render_html(report), render_json(report)
    json_path = atomic_write_text(out / "report.json", json_text)
    html_path = atomic_write_text(out / "report.html", html_text)
    return html_path, json_path
