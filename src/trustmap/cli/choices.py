"""CLI choices and their help text, read from the registries when ``--help`` is shown.

The registries import their built-in modules (torch, the defences, every repro) on first use, which a
plain ``trustmap runs`` should not pay for. So a command's ``--method``/``--arch``/``--data`` help names
a registry here, and the list of valid ids is appended only when the help is rendered. Invalid values are
refused by the library with a one-line error that lists the same ids.

>>> app.command("harden", cls=with_choices(method=lambda: defence_help("harden")))(harden)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click
from rich.markup import escape
from typer.core import TyperCommand


def with_choices(**choices: Callable[[], str]) -> type[TyperCommand]:
    """A command class that appends ``choices[name]()`` to the help text of parameter ``name``."""

    class Command(TyperCommand):
        def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
            for param in self.params:
                if param.name in choices:
                    base: Any = param.__dict__.setdefault("_base_help", getattr(param, "help", None) or "")
                    param.help = f"{base} {escape(choices[param.name]())}".strip()  # type: ignore[attr-defined]
            super().format_help(ctx, formatter)

    return Command


def ids(names: list[str], label: str = "Choose from") -> str:
    """``"Choose from a, b, c."`` for a list of ids."""
    return f"{label} {', '.join(names)}." if names else ""


def probe_help() -> str:
    """``--probes`` help: every registered probe id, and which of them each budget runs by default."""
    from trustmap.probes.base import BUDGET_NAMES, budget_probes, probe_ids

    per_budget = "; ".join(f"{b}: {', '.join(budget_probes(b))}" for b in BUDGET_NAMES)
    return f"{ids(probe_ids(), 'Registered:')} Default sets ({per_budget})."


def budget_help() -> str:
    from trustmap.probes.base import BUDGET_NAMES

    return ids(list(BUDGET_NAMES))


AUDIT_CHOICES: dict[str, Callable[[], str]] = {"probes": probe_help, "budget": budget_help}


def split_ids(text: str | None, *, flag: str = "--probes") -> list[str] | None:
    """``"fgsm, mia-loss"`` -> ``["fgsm", "mia-loss"]``; ``None`` stays ``None``; an empty id is refused."""
    if text is None:
        return None
    names = [p.strip() for p in text.split(",")]
    if not all(names):
        from trustmap.errors import TrustmapError

        raise TrustmapError(f"{flag} {text!r} has an empty id; give comma-separated ids, e.g. fgsm,mia-loss")
    return names
