import pytest
import torch

from trustmap.federated import ClientConfig, FederationSpec, build_federation, fl_model, make_strategy, run_inprocess
from trustmap.federated.client import proximal_loss

SPEC = FederationSpec(
    num_clients=4, partition="dirichlet:1.0", train_per_client=150, test_per_client=50, image_size=14, seed=0
)


def test_federation_is_disjoint_and_sized():
    fed = build_federation(SPEC)
    assert len(fed.clients) == 4 and fed.input_shape == (1, 14, 14)
    assert sum(len(c.train) + len(c.test) for c in fed.clients) == 4 * 200


def test_inprocess_fedavg_learns_and_is_deterministic():
    fed = build_federation(SPEC)
    cfg = ClientConfig(epochs=3)
    h1 = run_inprocess(
        fed,
        strategy=make_strategy("fedavg", client_config=cfg),
        rounds=3,
        per_round=4,
        seed=0,
        model="mlp",
        evaluate_global=False,
    )
    h2 = run_inprocess(
        fed,
        strategy=make_strategy("fedavg", client_config=cfg),
        rounds=3,
        per_round=4,
        seed=0,
        model="mlp",
        evaluate_global=False,
    )
    assert [r["client_accuracy"] for r in h1.rounds] == [r["client_accuracy"] for r in h2.rounds]
    assert h1.rounds[-1]["client_accuracy"] > 0.3  # well above 10% chance after 3 rounds
    assert h1.rounds[-1]["train_loss"] < h1.rounds[0]["train_loss"]


def test_proximal_term_is_zero_at_global_and_grows_with_distance():
    model = fl_model("mlp", input_shape=(1, 4, 4), seed=0)
    g = [p.detach().clone() for p in model.parameters()]
    x, y = torch.rand(8, 1, 4, 4), torch.randint(0, 10, (8,))
    base = torch.nn.functional.cross_entropy(model(x), y)
    assert torch.isclose(proximal_loss(g, 1.0)(model, x, y), base)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.1)
    n = sum(p.numel() for p in model.parameters())
    ce = torch.nn.functional.cross_entropy(model(x), y)
    assert torch.isclose(proximal_loss(g, 1.0)(model, x, y) - ce, torch.tensor(0.5 * n * 0.01), rtol=1e-3)


@pytest.mark.slow
def test_flower_engine_matches_inprocess():
    pytest.importorskip("ray")
    from trustmap.federated.flower import run_flower

    spec = FederationSpec(num_clients=3, partition="iid", train_per_client=64, test_per_client=16, image_size=14)
    hf = run_flower(spec, strategy=make_strategy("fedprox"), rounds=2, per_round=2, seed=0, evaluate_global=False)
    s = make_strategy("fedprox")
    hi = run_inprocess(build_federation(spec), strategy=s, rounds=2, per_round=2, seed=0, evaluate_global=False)
    assert [r["train_loss"] for r in hf.rounds] == pytest.approx([r["train_loss"] for r in hi.rounds], rel=1e-5)
    assert hf.client_accuracy == pytest.approx(hi.client_accuracy)


def test_cli_bad_inputs_exit_2(capsys):
    from trustmap.cli.app import main

    for args in (
        ["--strategy", "nope"],
        ["--partition", "dirichlet:0"],
        ["--partition", "dirichlet:-0.5"],
        ["--clients", "70000", "--samples", "1", "--test-samples", "0"],
    ):
        with pytest.raises(SystemExit) as exc:
            main(["fl", "run", *args])
        assert exc.value.code == 2
        err = capsys.readouterr().err
        assert err.startswith("error:") and err.strip().count("\n") == 0


def test_cli_fl_run_prints_rounds_and_records(capsys):
    from trustmap.cli.app import main
    from trustmap.store import ResultsStore

    with pytest.raises(SystemExit) as exc:
        main(
            [
                "fl",
                "run",
                "--clients",
                "3",
                "--rounds",
                "2",
                "--per-round",
                "3",
                "--samples",
                "60",
                "--test-samples",
                "20",
                "--image-size",
                "14",
                "--strategy",
                "fedprox",
            ]
        )
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "round   1/2" in out and "round   2/2" in out
    runs = ResultsStore.open(None).runs(command="fl run")
    assert runs and "client_accuracy" in runs[0].metrics
