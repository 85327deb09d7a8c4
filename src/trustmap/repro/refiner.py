"""``trustmap repro refiner``: Refiner against inverting-gradients leakage, FedSGD.

Paper: Refiner: Data Refining against Gradient Leakage Attacks in Federated Learning (arXiv 2212.02042). Setup
(ours; no code for the paper was found, and this is scaled to a CPU): FM14 (2×2-pooled Fashion-MNIST, for
CPU), CNN-S, FedSGD with 5 clients × 2,000 images, one batch-32 gradient per client per round, lr 0.1,
trained to convergence (issue 13: ``rounds``, 2 seeds). The attacker inverts single uploads (batch 1 with
iDLG labels, batch 4 with given labels) at round 0 and at a late round, for each defence's own training run.
Baselines: no defence; Gaussian noise and top-k pruning, each tuned to the *strongest* setting whose final
accuracy is at least Refiner's (equal accuracy).

``λ`` (issue 13) is chosen by the criterion the accuracy check uses: the largest ``λ`` in ``lambda_grid``
whose accuracy after a short FedSGD run (``tune_rounds``) on the public data (4,000 images as 5 clients,
1,000 held out) is within 2 points of the same run undefended. The upload's trivial gradient entries are
bounded (:func:`~trustmap.federated.refiner.bound_trivial`).

Checks, on per-seed paired values with 95% Student-t intervals: PSNR drop vs no defence >= 5 dB, vs the
best equal-accuracy baseline >= 2 dB, accuracy gap vs no defence <= 2 points. Sanity: the undefended model
beats the majority class, and the attack on undefended uploads beats a uniform-noise guess (PSNR).
"""

from __future__ import annotations

import numpy as np
import torch

from trustmap.data import load_dataset, stratified_indices
from trustmap.federated.federation import pool2
from trustmap.federated.leakage import idlg_label, invert_gradients, match_scores
from trustmap.federated.refiner import Defence, train_encoder
from trustmap.federated.sim import fl_model
from trustmap.repro.base import Check, ReproResult, register_repro
from trustmap.utils.progress import progress_bar
from trustmap.utils.seed import torch_generator

SIZES = {
    "default": {
        "seeds": 2,
        "rounds": 250,
        "attack_round": 200,
        "tune_rounds": 30,
        "lambda_grid": (0.01, 0.03, 0.1, 0.3, 1.0),
        "n1": 6,
        "n4": 6,
        "inv_steps": 300,
        "ref_steps": 10,
        "ref_attack_steps": 100,
        "clients": 5,
        "per_client": 2000,
        "public": 5000,
        "noise_grid": (1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3),
        "topk_grid": (0.5, 0.2, 0.1, 0.05, 0.02, 0.01),
    },
    "quick": {
        "seeds": 2,
        "rounds": 6,
        "attack_round": 4,
        "tune_rounds": 3,
        "lambda_grid": (0.1, 1.0),
        "n1": 1,
        "n4": 1,
        "inv_steps": 30,
        "ref_steps": 3,
        "ref_attack_steps": 5,
        "clients": 2,
        "per_client": 100,
        "public": 500,
        "noise_grid": (1e-2,),
        "topk_grid": (0.1,),
    },
}


NAMES = {
    "none": "no defence",
    "noise": "Gaussian noise (tuned)",
    "topk": "top-k pruning (tuned)",
    "refiner": "Refiner",
}


def _data(cfg: dict, seed: int):
    ds = load_dataset("fashion-mnist")
    idx = stratified_indices(ds.train.y, cfg["clients"] * cfg["per_client"] + cfg["public"], seed=seed)
    idx = np.random.default_rng(seed).permutation(idx)
    x, y = torch.from_numpy(pool2(ds.train.x[idx])), torch.from_numpy(ds.train.y[idx])
    pub = cfg["public"]
    clients = [
        (
            x[pub + k * cfg["per_client"] : pub + (k + 1) * cfg["per_client"]],
            y[pub + k * cfg["per_client"] : pub + (k + 1) * cfg["per_client"]],
        )
        for k in range(cfg["clients"])
    ]
    test = (torch.from_numpy(pool2(ds.test.x)), torch.from_numpy(ds.test.y))
    return clients, (x[:pub], y[:pub]), test


def _accuracy(model: torch.nn.Module, test: tuple[torch.Tensor, torch.Tensor]) -> float:
    with torch.no_grad():
        return float((model(test[0]).argmax(1) == test[1]).float().mean())


def _attack(model, defence: Defence, clients, cfg: dict, gen: torch.Generator) -> dict[str, float]:
    scores: dict[str, list[float]] = {"psnr1": [], "ssim1": [], "psnr4": [], "ssim4": [], "psnr_noise": []}
    for bs, n in ((1, cfg["n1"]), (4, cfg["n4"])):
        for _ in range(n):
            cx, cy = clients[int(torch.randint(len(clients), (1,), generator=gen))]
            idx = torch.randperm(len(cy), generator=gen)[:bs]
            up = defence(model, cx[idx], cy[idx], generator=gen, steps=cfg["ref_attack_steps"])
            labels = idlg_label(up) if bs == 1 else cy[idx]
            x_hat = invert_gradients(
                model, up, labels=labels, shape=tuple(cx[idx].shape), steps=cfg["inv_steps"], generator=gen
            )
            p, s = match_scores(x_hat, cx[idx])
            scores[f"psnr{bs}"].append(p)
            scores[f"ssim{bs}"].append(s)
            scores["psnr_noise"].append(match_scores(torch.rand(cx[idx].shape, generator=gen), cx[idx])[0])
    out = {k: float(np.mean(v)) for k, v in scores.items()}
    out["psnr"] = (out["psnr1"] + out["psnr4"]) / 2
    out["ssim"] = (out["ssim1"] + out["ssim4"]) / 2
    return out


def fedsgd(defence: Defence, clients, test, cfg: dict, *, seed: int, attack: bool, tick=None) -> dict[str, float]:
    """Train with FedSGD under ``defence``; optionally attack at round 0 and ``attack_round``."""
    model = fl_model("cnn-s", input_shape=(1, 14, 14), seed=seed)
    gen = torch_generator(seed + 17)
    attack_gen = torch_generator(seed + 29)
    attacks = []
    for r in range(cfg["rounds"]):
        if attack and r in (0, cfg["attack_round"]):
            attacks.append(_attack(model, defence, clients, cfg, attack_gen))
        grads = None
        for cx, cy in clients:
            idx = torch.randperm(len(cy), generator=gen)[:32]
            up = defence(model, cx[idx], cy[idx], generator=gen)
            grads = up if grads is None else [a + b for a, b in zip(grads, up)]
        with torch.no_grad():
            for p, g in zip(model.parameters(), grads):
                p.sub_(0.1 * g / len(clients))
        if tick:
            tick()
    out = {"accuracy": _accuracy(model, test)}
    if attacks:
        out.update({k: float(np.mean([a[k] for a in attacks])) for k in attacks[0]})
        out.update({f"{k}_r0": attacks[0][k] for k in ("psnr", "ssim")})
    return out


def _tune_lambda(encoder, public, cfg: dict, seed: int) -> tuple[float, list]:
    """Largest ``λ`` whose short public-data FedSGD accuracy is within 2 points of the undefended run's
    (else the smallest ``λ`` in the grid); also every ``(λ, accuracy)`` tried, undefended first as ``0``."""
    x, y = public
    n_val = len(y) // 5
    val = (x[:n_val], y[:n_val])
    k = cfg["clients"]
    chunk = (len(y) - n_val) // k
    pub_clients = [
        (x[n_val + i * chunk : n_val + (i + 1) * chunk], y[n_val + i * chunk : n_val + (i + 1) * chunk])
        for i in range(k)
    ]
    short = {**cfg, "rounds": cfg["tune_rounds"]}
    base = fedsgd(Defence("none"), pub_clients, val, short, seed=seed, attack=False)["accuracy"]
    trials = [(0.0, base)]
    for lam in cfg["lambda_grid"]:
        acc = fedsgd(
            Defence("refiner", lam, encoder, steps=cfg["ref_steps"]), pub_clients, val, short, seed=seed, attack=False
        )["accuracy"]
        trials.append((lam, acc))
    ok = [lam for lam, acc in trials[1:] if acc >= base - 0.02]
    return (max(ok) if ok else min(cfg["lambda_grid"])), trials


def _tuned(kind: str, grid, target_acc: float, clients, test, cfg, seed) -> tuple[float, list]:
    """Strongest strength in ``grid`` whose accuracy ≥ ``target_acc`` (else the weakest one)."""
    trials = [(s, fedsgd(Defence(kind, s), clients, test, cfg, seed=seed, attack=False)["accuracy"]) for s in grid]
    ok = [s for s, a in trials if a >= target_acc]
    strongest = (max(ok) if kind == "noise" else min(ok)) if ok else (min(grid) if kind == "noise" else max(grid))
    return strongest, trials


def refiner_checks(runs: list[dict]) -> list[Check]:
    """The checks on per-seed ``runs`` (``"<defence>.<metric>"`` entries): sanity, then the paper's claims."""
    names = NAMES
    mean_psnr = {m: float(np.mean([r[f"{m}.psnr"] for r in runs])) for m in ("noise", "topk")}
    best = "noise" if mean_psnr["noise"] <= mean_psnr["topk"] else "topk"  # by the mean, then judged per seed

    def per_seed(fn) -> list[float]:
        return [float(fn(r)) for r in runs]

    checks = [
        Check.over_seeds(
            "sanity: undefended accuracy minus the majority class (points)",
            per_seed(lambda r: r["none.accuracy"] - 0.1),
            threshold=0.0,
            kind="sanity",
            scale=100,
        ),
        Check.over_seeds(
            "sanity: attack PSNR on undefended uploads minus a uniform-noise guess (dB)",
            per_seed(lambda r: r["none.psnr"] - r["none.psnr_noise"]),
            threshold=0.0,
            kind="sanity",
        ),
        Check.over_seeds(
            "PSNR drop vs undefended (dB)",
            per_seed(lambda r: r["none.psnr"] - r["refiner.psnr"]),
            threshold=5.0,
        ),
        Check.over_seeds(
            f"PSNR drop vs best tuned baseline ({names[best]}) (dB)",
            per_seed(lambda r: r[f"{best}.psnr"] - r["refiner.psnr"]),
            threshold=2.0,
        ),
        Check.over_seeds(
            "accuracy gap vs undefended (points)",
            per_seed(lambda r: r["none.accuracy"] - r["refiner.accuracy"]),
            threshold=0.02,
            above=False,
            scale=100,
        ),
        Check.over_seeds("chosen lambda", per_seed(lambda r: r["lambda"]), threshold=0.0, kind="info"),
    ]
    return checks


@register_repro("refiner", title="Refiner: data refining against gradient leakage", arxiv="2212.02042")
def refiner_experiment(*, size: str, seed: int, progress: bool | None) -> ReproResult:
    cfg = SIZES[size]
    runs = []
    seeds = [seed + i for i in range(cfg["seeds"])]
    with progress_bar("refiner", total=len(seeds) * 4 * cfg["rounds"], enabled=progress) as tick:
        for s in seeds:
            clients, public, test = _data(cfg, s)
            encoder = train_encoder(public[0], seed=s)
            lam, lambda_trials = _tune_lambda(encoder, public, cfg, s)
            refiner = Defence("refiner", lam, encoder, steps=cfg["ref_steps"])
            res = {"refiner": fedsgd(refiner, clients, test, cfg, seed=s, attack=True, tick=tick)}
            res["none"] = fedsgd(Defence("none"), clients, test, cfg, seed=s, attack=True, tick=tick)
            sigma, noise_trials = _tuned("noise", cfg["noise_grid"], res["refiner"]["accuracy"], clients, test, cfg, s)
            keep, topk_trials = _tuned("topk", cfg["topk_grid"], res["refiner"]["accuracy"], clients, test, cfg, s)
            res["noise"] = fedsgd(Defence("noise", sigma), clients, test, cfg, seed=s, attack=True, tick=tick)
            res["topk"] = fedsgd(Defence("topk", keep), clients, test, cfg, seed=s, attack=True, tick=tick)
            runs.append(
                {
                    "seed": s,
                    "lambda": lam,
                    "lambda_trials": lambda_trials,
                    "sigma": sigma,
                    "topk_keep": keep,
                    "noise_trials": noise_trials,
                    "topk_trials": topk_trials,
                    **{f"{m}.{k}": v for m, r in res.items() for k, v in r.items()},
                }
            )
    names = NAMES
    metrics = ("psnr", "ssim", "psnr1", "psnr4", "psnr_r0", "accuracy")
    rows = [
        {"method": names[m], **{k: float(np.mean([r[f"{m}.{k}"] for r in runs])) for k in metrics}}
        for m in ("none", "noise", "topk", "refiner")
    ]
    checks = refiner_checks(runs)
    return ReproResult(
        method="refiner",
        claim="Uploading gradients of refined data lowers inverting-gradients PSNR by >= 5 dB versus no defence "
        "and >= 2 dB versus equal-accuracy noise/pruning, at <= 2 points accuracy cost.",
        rows=rows,
        checks=checks,
        runs=runs,
        size=size,
        seeds=seeds,
        notes=f"FM14, CNN-S, FedSGD {cfg['clients']} clients, {cfg['rounds']} rounds; attacks at rounds 0 and "
        f"{cfg['attack_round']} ({cfg['n1']}×batch-1 + {cfg['n4']}×batch-4, {cfg['inv_steps']} steps); "
        f"lambda per seed {[r['lambda'] for r in runs]} (largest in {cfg['lambda_grid']} within 2 points of "
        f"undefended on a {cfg['tune_rounds']}-round public-data run); trivial upload entries bounded; "
        "baselines tuned to the strongest setting with accuracy >= Refiner's.",
    )
