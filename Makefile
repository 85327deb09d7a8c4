.PHONY: demo setup test bench
VENV := .venv/bin
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

# First command: set everything up, then run the main job end to end.
demo: setup
	$(VENV)/trustmap demo --out demo-out

setup:
	bash scripts/setup.sh

# Second command: the test suite (what .ci/run calls).
test:
	$(VENV)/python -m pytest -n 2 --dist loadgroup tests

# Every benchmark in benchmarks/, one table of ratios; e.g. make bench BENCH_ARGS="--quick --only pgd"
bench:
	$(VENV)/python benchmarks/run_all.py $(BENCH_ARGS)
