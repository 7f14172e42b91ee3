"""Repository-wide pytest set-up: quick mode for unit tests and for the notebook kernels nbval starts."""

import os

# Set before any kernel starts, so every notebook run by nbval inherits quick mode (same code path, smaller runs).
os.environ.setdefault("OCAD_QUICK", "1")
os.environ.setdefault("MPLBACKEND", "Agg")
# No download attempts during tests: a missing data set must raise DatasetUnavailable, never hang on the network.
os.environ.setdefault("OCAD_OFFLINE", "1")
