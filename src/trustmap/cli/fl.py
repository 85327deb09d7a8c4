"""``trustmap fl run``: federated training on a partitioned dataset, with per-round progress."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from trustmap.cli.context import console, esc, open_store, print_json, seed_option

app = typer.Typer(
    help="Federated learning: simulate clients and strategies (in-process or on Flower).", no_args_is_help=True
)


@app.command("run")
def run(
    strategy: Annotated[str, typer.Option(help="fedavg, fedprox, distfl or pfa.")] = "fedavg",
    clients: Annotated[int, typer.Option(help="Number of clients.")] = 20,
    partition: Annotated[
        str, typer.Option(help="iid, dirichlet:ALPHA or shift:KIND,KIND (invert, rot90, noise, grey, stripes).")
    ] = "iid",  # noqa: E501
    rounds: Annotated[int, typer.Option(help="Federated rounds.")] = 30,
    per_round: Annotated[int, typer.Option(help="Clients sampled per round.")] = 10,
    samples: Annotated[int, typer.Option(help="Training samples per client.")] = 1000,
    test_samples: Annotated[int, typer.Option(help="Local test samples per client.")] = 200,
    model: Annotated[
        Optional[str], typer.Option(help="cnn-s, cnn-s-bn or mlp (default: cnn-s; cnn-s-bn for distfl).")
    ] = None,
    image_size: Annotated[int, typer.Option(help="28, or 14 for 2x2-pooled FM14 (4x faster).")] = 28,
    engine: Annotated[str, typer.Option(help="inprocess (fast) or flower (Flower simulation on Ray).")] = "inprocess",
    seed: Annotated[int, seed_option()] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the history as JSON.")] = False,
) -> None:
    """Run a federated simulation on Fashion-MNIST and record its metrics in the results store."""
    from trustmap.federated.workflow import federate

    def show(row: dict) -> None:
        if not as_json:
            glob = f"  global acc {row['global_accuracy']:.4f}" if "global_accuracy" in row else ""
            console.print(
                f"round {row['round']:>3}/{rounds}  loss {row['train_loss']:.4f}  "
                f"client acc {row['client_accuracy']:.4f}{glob}  clusters {esc(row['clusters'])}  "
                f"({row['seconds']:.1f} s)",
                highlight=False,
            )

    outcome = federate(
        store=open_store(),
        strategy=strategy,
        clients=clients,
        partition=partition,
        rounds=rounds,
        per_round=per_round,
        samples_per_client=samples,
        test_per_client=test_samples,
        model=model,
        image_size=image_size,
        engine=engine,
        seed=seed,
        progress=False,
        on_round=show,
    )
    hist = outcome.history
    if as_json:
        print_json(
            {
                "args": outcome.args,
                "rounds": hist.rounds,
                "client_accuracy": hist.client_accuracy,
                "seconds": hist.seconds,
                "run_id": outcome.run_id,
            }
        )
        return
    console.print(
        f"[green]done[/] {esc(strategy)} on {clients} clients ({esc(partition)}): client accuracy "
        f"[bold]{hist.final['client_accuracy']:.4f}[/] in {hist.seconds:.0f} s (run {outcome.run_id})"
    )


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="fl")
