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
