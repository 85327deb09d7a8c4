"""``trustmap llm-trust``: score text generators on the synthetic trust tasks (refusal, over-refusal,
leakage, toxicity) and print a table, or write JSON/HTML."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from trustmap.cli.choices import ids, with_choices
from trustmap.cli.context import console, print_json, seed_option


def llm_trust(
    generator: Annotated[list[str] | None, typer.Option("--generator", "-g", help="Generator id (repeatable).")] = None,
    task: Annotated[list[str] | None, typer.Option("--task", "-t", help="Trust task id (repeatable).")] = None,
    n: Annotated[int, typer.Option(help="Prompts per task (synthetic, from templates).", min=1)] = 40,
    seed: Annotated[int, seed_option("Seed for the prompts, the canaries and the tiny LM.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the results as JSON.")] = False,
    html: Annotated[Path | None, typer.Option("--out", help="Also write an HTML report to this path.")] = None,
) -> None:
    """Run TrustLLM-style trust tasks on text generators (default: every stub, echo given the canaries)."""
    from trustmap.llm.report import to_html, to_table
    from trustmap.llm.trust import make_canaries, run_trust
    from trustmap.utils.files import atomic_write_text, check_writable

    if html is not None:
        check_writable(html)
    canaries = make_canaries(seed=seed)
    tasks = task or ["refusal", "over-refusal", "leakage", "toxicity"]
    benches = []
    for g in generator or ["always-refuse", "never-refuse", "keyword-refuser", "oracle", "toxic", "echo"]:
        options = {"memory": [c.text for c in canaries]} if g == "echo" else {"seed": seed} if g == "tiny-lm" else {}
        benches.append(run_trust(g, tasks=tasks, n=n, seed=seed, canaries=canaries, options=options))
    if html is not None:
        atomic_write_text(html, to_html(benches))
    if as_json:
        print_json([b.to_dict() for b in benches])
        return
    console.print(to_table(benches))
    if html is not None:
        console.print(f"HTML report: {html}")


def _generator_help() -> str:
    from trustmap.llm.generators import GENERATORS

    return ids(GENERATORS.ids())


def _task_help() -> str:
    from trustmap.llm.trust import TASKS

    return ids(TASKS.ids())


def register(app: typer.Typer) -> None:
    app.command("llm-trust", cls=with_choices(generator=_generator_help, task=_task_help))(llm_trust)
