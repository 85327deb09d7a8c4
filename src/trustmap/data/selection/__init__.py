"""Training-data selection: pick a budget of examples from a pool for a target (see :mod:`.gtp`)."""
