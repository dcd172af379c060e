"""optout: a self-hosted email opt-out and unsubscribe processing worker."""

__version__ = "0.1.0"
