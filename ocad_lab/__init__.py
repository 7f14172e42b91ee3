"""ocad_lab: a teaching kit for one-class anomaly detection with neural networks."""

__version__ = "0.1.0"
