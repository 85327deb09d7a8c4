"""``trustmap data list`` and ``trustmap data show NAME``."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from trustmap.cli.choices import ids, with_choices
from trustmap.cli.context import console, print_json

app = typer.Typer(help="Describe the datasets trustmap loads offline.", no_args_is_help=True)


def _names() -> str:
    from trustmap.data import dataset_names

    return ids(dataset_names(), "Registered:")


@app.command("list")
def list_datasets() -> None:
    """List the registered datasets and how to install each."""
    from trustmap.data import DATASETS

    table = Table(title="trustmap datasets (all offline)")
    for col in ("name", "kind", "summary", "install"):
        table.add_column(col)
    for name, info in sorted(DATASETS.items()):
        table.add_row(name, info.kind, escape(info.summary), escape(info.install))
    console.print(table)
    console.print(
        "User files: .npz with arrays x and y (a graph: x, y, edge_index [, train_idx]); "
        ".csv/.parquet with --label COLUMN [--sensitive COLUMN]."
    )


@app.command("show", cls=with_choices(name=_names))
def show(
    name: Annotated[str, typer.Argument(help="A dataset name or a user file.")],
    label: Annotated[str | None, typer.Option(help="Label column of a CSV/Parquet table.")] = None,
    sensitive: Annotated[list[str] | None, typer.Option(help="Sensitive column(s) of a table.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Describe one dataset: splits, shapes, value range, classes and sensitive attributes."""
    from trustmap.data import load_dataset

    desc = load_dataset(name, label=label, sensitive=sensitive).describe()
    if as_json:
        print_json(desc)
        return
    table = Table(title=f"dataset {escape(name)}", show_header=False)
    for key, value in desc.items():
        table.add_row(key, escape(", ".join(map(str, value)) if isinstance(value, list) else str(value)))
    console.print(table)
