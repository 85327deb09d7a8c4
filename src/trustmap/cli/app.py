"""The ``trustmap`` command line: a Typer root that only wires subcommands, each in its own module."""

from __future__ import annotations

import itertools
import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import click
import typer

from trustmap.cli import context
from trustmap.errors import TrustmapError

app = typer.Typer(
    name="trustmap",
    help="Map, measure and mend the trustworthiness of machine-learning models.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode="rich",
)


@app.callback()
def _root(
    store: Annotated[
        Optional[Path], typer.Option(help="Results store (SQLite). Default: $TRUSTMAP_STORE or the user data folder.")
    ] = None,  # noqa: E501
    debug: Annotated[bool, typer.Option("--debug", help="Show full tracebacks instead of one-line errors.")] = False,
) -> None:
    context.SETTINGS.store = store
    context.SETTINGS.debug = debug
    if "TRUSTMAP_THREADS" in os.environ:  # unset: torch's default, and light commands never import torch
        from trustmap.utils.threads import set_threads

        set_threads()  # every command runs on $TRUSTMAP_THREADS threads, not only repro; a bad value is refused


def _register() -> None:
    from trustmap.cli import data, demo, evaluate, runs, train

    app.add_typer(data.app, name="data")
    app.add_typer(runs.app, name="runs")
    app.command("train")(train.train)
    app.command("eval")(evaluate.evaluate)
    app.command("demo")(demo.demo)
    commands = (
        "audit",
        "gate",
        "harden",
        "unlearn",
        "compare",
        "repro",
        "fl",
        "adapt",
        "sweep",
        "compress",
        "text",
        "llm",
        "diffusion",
    )
    for module_name in commands:
        _optional(module_name)


def _optional(module_name: str) -> None:
    """Commands whose module exists are wired in; each module exposes ``register(app)``."""
    import importlib

    try:
        module = importlib.import_module(f"trustmap.cli.{module_name}")
    except ModuleNotFoundError as exc:
        if exc.name == f"trustmap.cli.{module_name}":
            return
        raise
    module.register(app)


_register()


def _out_paths(args: list[str]) -> list[Path]:
    """The ``--out`` paths of a command line (every command names its output with ``--out``)."""
    found = [Path(value) for flag, value in itertools.pairwise(args) if flag == "--out"]
    return found + [Path(a.split("=", 1)[1]) for a in args if a.startswith("--out=")]


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    args = list(argv if argv is not None else sys.argv[1:])
    debug = "--debug" in args
    try:
        with context.no_new_folders_on_error(*_out_paths(args)):  # a refused command leaves no empty folder
            code = app(args=args, standalone_mode=False, prog_name="trustmap")
    except TrustmapError as exc:
        if debug:
            raise
        context.err_console.print(f"[bold red]error:[/] {context.esc(exc)}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except click.exceptions.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except (KeyboardInterrupt, click.exceptions.Abort):
        context.err_console.print("[yellow]interrupted[/] (the run is recorded as interrupted)")
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)
