"""Run every benchmark in ``benchmarks/`` and print one table of ratios (``make bench``).

Each ``bench_*.py`` next to this file runs in its own subprocess (so that one benchmark's threads,
imports and memory never shift another's numbers) and reports each ratio as one line on stdout
(``benchmarks/_report.py`` builds them)::

    BENCH {"name": "pgd", "measure": "wall time", "method": "trustmap", "baseline": "art", "ratio": 0.21,
           "meaning": "trustmap's time / ART's", "target": "<= 0.333", "passed": true}

A benchmark that exits non-zero, times out or prints no valid ``BENCH`` line is shown as FAILED and makes
the exit code 1. A ratio that misses its target is shown as MISS; it fails the run only with ``--strict``
(timings on a shared machine are noisy). Every benchmark accepts ``--quick`` (a small size that checks
that it runs; its ratios are not the acceptance figures).

    python benchmarks/run_all.py [--quick] [--only pgd] [--strict] [--json all.json]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PREFIX = "bench_"
LINE_PREFIX = "BENCH "
RATIO_KEYS = ("method", "baseline", "ratio", "meaning")
TAIL_LINES = 15


@dataclass
class Outcome:
    """One benchmark's run: its ratios, or why it failed."""

    name: str
    seconds: float
    ratios: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None  # None: it ran and reported

    @property
    def failed(self) -> bool:
        return self.error is not None

    @property
    def missed(self) -> list[dict[str, Any]]:
        return [r for r in self.ratios if r.get("passed") is False]


def discover(directory: Path = HERE) -> dict[str, Path]:
    """``name -> script`` for every ``bench_<name>.py`` in ``directory``, sorted by name."""
    return {p.stem[len(PREFIX) :]: p for p in sorted(directory.glob(f"{PREFIX}*.py"))}


def select(found: dict[str, Path], only: list[str] | None) -> dict[str, Path]:
    """The benchmarks named in ``only`` (``pgd`` or ``bench_pgd``); all of them when ``only`` is empty."""
    if not only:
        return found
    names = [n.removeprefix(PREFIX).removesuffix(".py") for n in only]
    unknown = [n for n in names if n not in found]
    if unknown:
        raise SystemExit(
            f"error: no benchmark {', '.join(map(repr, unknown))}; available: {', '.join(found) or 'none'}"
        )
    return {n: found[n] for n in found if n in names}


class BadResult(Exception):
    """A benchmark's ``BENCH`` output is missing or malformed (the message is one line)."""


def parse_result(output: str) -> list[dict[str, Any]]:
    """The ratios in a benchmark's output (its ``BENCH {json}`` lines, in order); :class:`BadResult` with a
    one-line reason when there are none or one is malformed."""
    ratios = []
    for line in output.splitlines():
        if not line.startswith(LINE_PREFIX):
            continue
        try:
            r = json.loads(line[len(LINE_PREFIX) :])
        except json.JSONDecodeError as e:
            raise BadResult(f"a BENCH line is not JSON ({e.msg})") from None
        missing = [k for k in RATIO_KEYS if not isinstance(r, dict) or k not in r]
        if missing:
            raise BadResult(f"a BENCH line lacks {', '.join(missing)}")
        if not isinstance(r["ratio"], (int, float)) or isinstance(r["ratio"], bool):
            raise BadResult(f"a BENCH line has a non-numeric ratio {r['ratio']!r}")
        ratios.append(r)
    if not ratios:
        raise BadResult(f"printed no {LINE_PREFIX.strip()} line")
    return ratios


def _tail(path: Path) -> str:
    lines = path.read_text(errors="replace").splitlines() if path.exists() else []
    return "\n".join(lines[-TAIL_LINES:])


def run_one(name: str, script: Path, *, quick: bool, timeout: float | None, verbose: bool, workdir: Path) -> Outcome:
    """Run ``script`` in a subprocess and collect its ratios (never raises for a failing benchmark). Its
    output (stdout and stderr) goes to a log, and to the terminal too when ``verbose``."""
    log = workdir / f"{name}.log"
    cmd = [sys.executable, str(script), *(["--quick"] if quick else [])]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    t0 = time.perf_counter()
    with open(log, "w") as out:
        proc = subprocess.Popen(
            cmd,
            env=env,
            cwd=script.parent.parent,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
        )

        def pump() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                out.write(line)
                if verbose:
                    print(f"  [{name}] {line}", end="", flush=True)

        reader = threading.Thread(target=pump, daemon=True)
        reader.start()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            reader.join()
            return Outcome(name, time.perf_counter() - t0, error=f"timed out after {timeout:g} s")
        reader.join()
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        tail = "" if verbose else _tail(log)
        return Outcome(name, seconds, error=f"exit code {proc.returncode}" + (f"\n{tail}" if tail else ""))
    try:
        return Outcome(name, seconds, ratios=parse_result(log.read_text(errors="replace")))
    except BadResult as e:
        return Outcome(name, seconds, error=str(e))


def _fmt(value: float, measure: str) -> str:
    if not math.isfinite(value):
        return str(value)
    if "diff" in measure:
        return f"{value:+.3f}" if abs(value) >= 5e-4 else "+0.000"  # never "-0.000"
    return f"{value:.3f}"


def table(outcomes: list[Outcome]) -> str:
    """One plain-text table: a row per ratio, or one FAILED row per failed benchmark."""
    head = ("benchmark", "measure", "method / baseline", "ratio", "target", "status", "meaning")
    rows: list[tuple[str, ...]] = []
    for o in outcomes:
        if o.failed:
            rows.append((o.name, "-", "-", "-", "-", "FAILED", (o.error or "").splitlines()[0]))
            continue
        for r in o.ratios:
            status = "ok" if r.get("passed") is True else "MISS" if r.get("passed") is False else "-"
            measure = str(r.get("measure") or "ratio")
            rows.append(
                (
                    o.name,
                    measure,
                    f"{r['method']} / {r['baseline']}",
                    _fmt(float(r["ratio"]), measure),
                    str(r.get("target") or "-"),
                    status,
                    str(r["meaning"]),
                )
            )
    widths = [max(len(h), *(len(row[i]) for row in rows)) if rows else len(h) for i, h in enumerate(head)]

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    return "\n".join([line(head), line(tuple("-" * w for w in widths)), *(line(r) for r in rows)])


def exit_code(outcomes: list[Outcome], *, strict: bool) -> int:
    """1 when a benchmark failed (or, with ``strict``, missed a target), else 0."""
    if any(o.failed for o in outcomes) or (strict and any(o.missed for o in outcomes)):
        return 1
    return 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="small sizes: checks that each benchmark runs")
    p.add_argument("--only", action="append", metavar="NAME", help="run only this benchmark (repeatable): pgd, ...")
    p.add_argument("--strict", action="store_true", help="a missed target also makes the exit code 1")
    p.add_argument("--timeout", type=float, default=3600.0, help="seconds per benchmark (default 3600)")
    p.add_argument("--verbose", "-v", action="store_true", help="show each benchmark's own output")
    p.add_argument("--json", type=Path, default=None, help="also write every outcome here as JSON")
    p.add_argument("--dir", type=Path, default=HERE, help=argparse.SUPPRESS)  # tests point it at fake benchmarks
    args = p.parse_args(argv)
    if args.timeout <= 0:
        p.error(f"--timeout must be > 0, got {args.timeout:g}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    todo = select(discover(args.dir), args.only)
    if not todo:
        print(f"no {PREFIX}*.py in {args.dir}", file=sys.stderr)
        return 1
    outcomes = []
    with tempfile.TemporaryDirectory(prefix="trustmap-bench-") as tmp:
        for name, script in todo.items():
            print(f"running {script.name}{' --quick' if args.quick else ''} ...", flush=True)
            o = run_one(name, script, quick=args.quick, timeout=args.timeout, verbose=args.verbose, workdir=Path(tmp))
            print(f"  {name}: {'FAILED: ' + o.error if o.error else 'done'} ({o.seconds:.0f} s)", flush=True)
            outcomes.append(o)
    print()
    print(table(outcomes))
    if args.quick:
        print("\n(--quick: small sizes; these ratios are not the acceptance figures)")
    if args.json:
        args.json.write_text(json.dumps([o.__dict__ for o in outcomes], indent=1))
    return exit_code(outcomes, strict=args.strict)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
