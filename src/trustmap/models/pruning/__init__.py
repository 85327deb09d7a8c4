"""Structured pruning of small CNNs: a FLOP counter, filter surgery and TransTailor (arXiv 2103.01542).

Import from the submodules: :mod:`.flops`, :mod:`.filters`, :mod:`.transtailor`.
"""
