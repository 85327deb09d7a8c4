#!/usr/bin/env bash
# Format the code base with the one formatter configuration in pyproject.toml ([tool.ruff]).
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/ruff format src tests benchmarks scripts "$@"
