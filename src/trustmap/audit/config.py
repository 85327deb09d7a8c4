"""The audit's TOML config file: budget, probe selection and per-probe options.

```toml
[audit]
budget = "standard"            # quick | standard | thorough
probes = ["pgd-linf", "mia-loss"]   # default: the budget's set
seed = 0

[probes.pgd-linf]
steps = 40
eps = 0.1
```
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trustmap.errors import TrustmapError
from trustmap.utils.seed import check_seed


@dataclass(frozen=True)
class AuditConfig:
    budget: str | None = None
    probes: list[str] | None = None
    seed: int | None = None
    options: dict[str, dict[str, Any]] = field(default_factory=dict)


def load_config(path: str | Path | None) -> AuditConfig:
    if path is None:
        return AuditConfig()
    p = Path(path)
    if not p.exists():
        raise TrustmapError(f"config file {p} does not exist")
    try:
        raw = tomllib.loads(p.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise TrustmapError(f"config file {p.name} is not valid TOML ({exc})") from exc
    unknown = set(raw) - {"audit", "probes"}
    if unknown:
        raise TrustmapError(
            f"config file {p.name}: unknown section(s) {', '.join(sorted(unknown))}; use [audit] and [probes.<id>]"
        )
    audit = raw.get("audit", {})
    bad = set(audit) - {"budget", "probes", "seed"}
    if bad:
        raise TrustmapError(f"config file {p.name}: unknown [audit] key(s) {', '.join(sorted(bad))}")
    options = raw.get("probes", {})
    if not all(isinstance(v, dict) for v in options.values()):
        raise TrustmapError(f"config file {p.name}: per-probe options go in tables like [probes.pgd-linf]")
    seed = audit.get("seed")
    if seed is not None:
        try:
            check_seed(seed)
        except TrustmapError as exc:
            raise TrustmapError(f"config file {p.name}: [audit] seed {seed!r} is not valid ({exc})") from None
    return AuditConfig(budget=audit.get("budget"), probes=audit.get("probes"), seed=seed, options=options)
