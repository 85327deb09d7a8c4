"""``trustmap compare A B``: is model B reused from model A? Black-box ModelDiff (arXiv 2106.08890), and
beside it conferrable adversarial examples (arXiv 1912.00888): is B an extracted copy of A?"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from trustmap.cli.context import console, esc, open_store, print_json, seed_option


def compare(
    a: Annotated[Path, typer.Argument(help="Source model file (.pt, .pt2 or .safetensors).")],
    b: Annotated[Path, typer.Argument(help="Suspect model file.")],
    data: Annotated[
        str | None, typer.Option(help="Seed inputs: dataset name or .npz file (default: model A's dataset).")
    ] = None,
    pairs: Annotated[int, typer.Option(help="Number of profiling input pairs (the paper: 300).")] = 300,
    mutation: Annotated[
        str, typer.Option(help="search (gradient-free, black-box) | gradient (white-box) | none.")
    ] = "search",
    steps: Annotated[int, typer.Option(help="Mutation steps.")] = 200,
    threshold: Annotated[float | None, typer.Option(help="Similarity at or above which B counts as reused.")] = None,
    queries: Annotated[
        str | None,
        typer.Option(
            help="Dataset a thief would query with, for the copy test (default: mnist-5k for fashion-mnist and back; none otherwise)."
        ),
    ] = None,
    cae: Annotated[
        bool,
        typer.Option("--cae/--no-cae", help="Also run the extraction-aware copy test (trains a few small models)."),
    ] = True,
    seed: Annotated[int, seed_option("Random seed: the same seed gives the same similarity.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the comparison as a JSON object.")] = False,
) -> None:
    """Measure how alike two models behave (ModelDiff) and say whether B looks reused from A."""
    from trustmap.provenance.modeldiff import DEFAULT_THRESHOLD
    from trustmap.provenance.workflow import compare_files

    outcome = compare_files(
        a,
        b,
        store=open_store(),
        data=data,
        n_pairs=pairs,
        mutation=mutation,
        steps=steps,
        threshold=DEFAULT_THRESHOLD if threshold is None else threshold,
        seed=seed,
        cae=cae,
        queries=queries,
    )
    r, c = outcome.result, outcome.conferrable
    if as_json:
        d = r.to_dict()
        extra = {"conferrable": None if c is None else {**c.to_dict(), "queries": outcome.queries}}
        print_json({**d, **extra, "a": str(a), "b": str(b), "data": outcome.data, "run_id": outcome.run_id})
        return
    verdict = "[bold red]REUSED[/]" if r.reused else "[bold green]independent[/]"
    weights = f"{r.weight_cosine:.4f}" if r.weight_cosine is not None else f"n/a ({esc(r.weight_cosine_note)})"
    console.print(
        f"ModelDiff similarity {r.similarity:.4f} ({r.n_pairs} pairs from {esc(outcome.data)}, mutation {esc(r.mutation)})\n"
        f"verdict: {verdict}  (reused when similarity >= {r.threshold:g})\n"
        f"baselines: label agreement {r.label_agreement:.4f}, weight cosine {weights}\n"
        f"{_copy_line(c, outcome.queries)}"
        f"run {outcome.run_id} recorded in the results store",
        highlight=False,
        soft_wrap=True,
    )


def _copy_line(c, queries: str | None) -> str:
    if c is None:
        return ""
    verdict = "[bold red]STOLEN COPY[/]" if c.stolen else "[bold green]not a copy[/]"
    pool = f", queries {esc(queries)}" if queries else ""
    note = f" ({esc(c.note)})" if c.note else ""
    return (
        f"copy test (conferrable examples{pool}): CAE accuracy {c.cae_accuracy:.4f} on {c.n_fingerprints} "
        f"fingerprints\nverdict: {verdict}  (copy when >= {c.threshold:.3f}; held-out copy "
        f"{c.surrogate_accuracy:.3f}, independent {c.reference_accuracy:.3f}){note}\n"
    )


def register(app: typer.Typer) -> None:
    app.command("compare")(compare)
