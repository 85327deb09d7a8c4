"""The Flower engine: trustmap strategies and clients under Flower's simulation (Ray backend).

``FlowerBridge`` is a Flower ``FedAvg`` whose ``configure_train``/``aggregate_train`` hooks delegate to a
trustmap :class:`~trustmap.federated.strategy.Strategy` (so DistFL/PFA clusters work: each node gets its
cluster's model). ``client_app`` is a Flower ``ClientApp`` whose train handler calls the same
:func:`~trustmap.federated.client.local_train` as the in-process engine; it rebuilds its data from the
:class:`FederationSpec` sent in the message config, so no images cross process boundaries. Ray runs the
clients on many processes or machines; Flower's ``run_simulation`` is the entry point.

Message layout: ``arrays`` (ArrayRecord, the model), ``config`` (ConfigRecord: spec JSON, model name,
seed, lr, epochs, batch size, μ, extras separated by ``;``); replies carry ``arrays``, ``metrics`` (``num-examples``,
``cid``, ``train_loss``) and, when asked, ``extras`` (ConfigRecord of float lists).

>>> hist = run_flower(spec, strategy=make_strategy("fedavg"), rounds=5, per_round=10, seed=0)
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from collections.abc import Iterable

import numpy as np

from trustmap.federated.client import ClientConfig, ClientUpdate, get_weights, local_train
from trustmap.federated.federation import FederationSpec, build_federation
from trustmap.federated.sim import FLHistory, RoundHook, evaluate_clients, fl_model, round_metrics
from trustmap.federated.strategy import Strategy

try:  # Flower is an optional dependency (the ``fl`` extra)
    from flwr.app import ArrayRecord, ConfigRecord, Context, Message, MessageType, MetricRecord, RecordDict
    from flwr.clientapp import ClientApp
    from flwr.serverapp import Grid, ServerApp
    from flwr.serverapp.strategy import FedAvg as _FlowerFedAvg
except ImportError as exc:  # pragma: no cover
    from trustmap.errors import TrustmapError

    raise TrustmapError("the Flower engine needs flwr[simulation]: pip install 'trustmap[fl]'") from exc


# ---------------------------------------------------------------------------------------------- client
client_app = ClientApp()


def _spec_from(config: ConfigRecord) -> FederationSpec:
    raw = json.loads(str(config["spec"]))
    raw["shifts"] = tuple(raw["shifts"])
    return FederationSpec(**raw)


@client_app.query()
def _whoami(msg: Message, context: Context) -> Message:
    cid = int(context.node_config["partition-id"])
    return Message(RecordDict({"metrics": MetricRecord({"cid": cid})}), reply_to=msg)


@client_app.train()
def _train(msg: Message, context: Context) -> Message:
    cfg = msg.content["config"]
    cid = int(context.node_config["partition-id"])
    fed = build_federation(_spec_from(cfg))
    model = fl_model(str(cfg["model"]), input_shape=fed.input_shape, seed=int(cfg["seed"]))
    extras = tuple(x for x in str(cfg["extras"]).split(";") if x)
    config = ClientConfig(
        epochs=int(cfg["epochs"]),
        lr=float(cfg["lr"]),
        batch_size=int(cfg["batch-size"]),
        proximal_mu=float(cfg["proximal-mu"]),
        extras=extras,
    )
    weights = msg.content["arrays"].to_numpy_ndarrays()
    update = local_train(model, weights, fed.clients[cid].train, config=config, seed=int(cfg["train-seed"]), cid=cid)
    content = RecordDict(
        {
            "arrays": ArrayRecord(update.weights),
            "metrics": MetricRecord({"num-examples": update.num_examples, "cid": cid, **update.metrics}),
        }
    )
    if update.extras:
        # a ConfigRecord: Flower's checks allow one ArrayRecord and one MetricRecord per reply
        content["extras"] = ConfigRecord({k: [float(v) for v in a.ravel()] for k, a in update.extras.items()})
    return Message(content, reply_to=msg)


# ---------------------------------------------------------------------------------------------- server
class FlowerBridge(_FlowerFedAvg):
    """A Flower strategy that delegates sampling, per-client models and aggregation to ``strategy``."""

    def __init__(self, strategy: Strategy, *, spec: FederationSpec, model: str, per_round: int, seed: int) -> None:
        super().__init__(fraction_evaluate=0.0, min_available_nodes=spec.num_clients)
        self.inner, self.spec, self.model, self.per_round, self.seed = strategy, spec, model, per_round, seed
        self.node_of: dict[int, int] = {}

    def configure_train(
        self, server_round: int, arrays: ArrayRecord, config: ConfigRecord, grid: Grid
    ) -> Iterable[Message]:
        spec_json = json.dumps(dataclasses.asdict(self.spec))
        messages = []
        for cid in self.inner.sample(server_round, per_round=self.per_round, seed=self.seed):
            cc = self.inner.config_for(server_round, cid)
            cfg = ConfigRecord(
                {
                    "spec": spec_json,
                    "model": self.model,
                    "seed": self.seed,
                    "server-round": server_round,
                    "train-seed": self.seed * 100_003 + server_round * 1000 + cid,
                    "epochs": cc.epochs,
                    "lr": cc.lr,
                    "batch-size": cc.batch_size,
                    "proximal-mu": cc.proximal_mu,
                    "extras": ";".join(cc.extras),
                }
            )
            record = RecordDict({"arrays": ArrayRecord(self.inner.model_for(cid)), "config": cfg})
            messages.append(Message(record, message_type=MessageType.TRAIN, dst_node_id=self.node_of[cid]))
        return messages

    def aggregate_train(
        self, server_round: int, replies: Iterable[Message]
    ) -> tuple[ArrayRecord | None, MetricRecord | None]:
        valid, errors = self._check_and_log_replies(replies, is_train=True)
        if errors:  # a failed client is a bug here, not a straggler: stop with its reason
            raise RuntimeError(f"round {server_round}: client failed: {errors[0].error.reason}")
        updates = []
        for msg in valid:
            m = msg.content["metrics"]
            extras = (
                {k: np.asarray(v, dtype=np.float32) for k, v in msg.content["extras"].items()}
                if "extras" in msg.content
                else {}
            )
            updates.append(
                ClientUpdate(
                    int(m["cid"]),
                    msg.content["arrays"].to_numpy_ndarrays(),
                    int(m["num-examples"]),
                    {"train_loss": float(m["train_loss"])},
                    extras,
                )
            )
        updates.sort(key=lambda u: u.cid)  # same order as the in-process engine
        self.inner.aggregate(server_round, updates)
        self.last_updates = updates
        return ArrayRecord(self.inner.models[min(self.inner.models)]), MetricRecord(
            {"train_loss": float(np.mean([u.metrics["train_loss"] for u in updates]))}
        )


def run_flower(
    spec: FederationSpec,
    *,
    strategy: Strategy,
    rounds: int,
    per_round: int,
    model: str = "cnn-s",
    seed: int = 0,
    evaluate_global: bool = True,
    on_round: RoundHook | None = None,
    num_cpus_per_client: float = 1.0,
    backend: str = "ray",
    quiet: bool = True,
) -> FLHistory:
    """Run the federation under Flower's simulation engine (one SuperNode per client)."""
    from flwr.simulation import run_simulation

    fed = build_federation(spec)
    net = fl_model(model, input_shape=fed.input_shape, seed=seed)
    strategy.initialize(get_weights(net), num_clients=spec.num_clients, model=net, input_shape=fed.input_shape)
    bridge = FlowerBridge(strategy, spec=spec, model=model, per_round=per_round, seed=seed)
    hist = FLHistory()
    start = time.perf_counter()
    server_app = ServerApp()

    @server_app.main()
    def _main(grid: Grid, context: Context) -> None:  # noqa: ARG001
        deadline = time.time() + 300
        while len(nodes := list(grid.get_node_ids())) < spec.num_clients and time.time() < deadline:
            time.sleep(0.2)  # SuperNodes register asynchronously
        queries = [Message(RecordDict({}), message_type=MessageType.QUERY, dst_node_id=n) for n in nodes]
        for reply in grid.send_and_receive(queries):
            if reply.has_error():
                raise RuntimeError(f"Flower node {reply.metadata.src_node_id} failed: {reply.error.reason}")
            bridge.node_of[int(reply.content["metrics"]["cid"])] = reply.metadata.src_node_id

        def evaluate(server_round: int, arrays: ArrayRecord) -> MetricRecord | None:  # noqa: ARG001
            if server_round == 0:
                return None
            row = round_metrics(strategy, fed, net, server_round, bridge.last_updates, evaluate_global=evaluate_global)
            row["seconds"] = round(time.perf_counter() - start, 2)
            hist.rounds.append(row)
            if on_round is not None:
                on_round(row)
            return MetricRecord({k: float(v) for k, v in row.items()})

        bridge.start(
            grid=grid, initial_arrays=ArrayRecord(strategy.model_for(0)), num_rounds=rounds, evaluate_fn=evaluate
        )

    flwr_logger = logging.getLogger("flwr")
    level = flwr_logger.level
    if quiet:
        flwr_logger.setLevel(logging.WARNING)
    try:
        run_simulation(
            server_app=server_app,
            client_app=client_app,
            num_supernodes=spec.num_clients,
            backend_name=backend,
            backend_config={
                "client_resources": {"num_cpus": num_cpus_per_client, "num_gpus": 0.0},
                "init_args": {"logging_level": "ERROR", "log_to_driver": False},
            },
        )
    finally:
        flwr_logger.setLevel(level)
    hist.seconds = time.perf_counter() - start
    if len(hist.rounds) != rounds:
        raise RuntimeError(f"the Flower simulation finished {len(hist.rounds)} of {rounds} rounds; see its log")
    hist.client_accuracy = evaluate_clients(strategy, fed, net)
    return hist
