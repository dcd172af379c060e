"""optout: a self-hosted email opt-out and unsubscribe processing worker."""

__version__ = "0.1.0"

# before any worker.core module is imported: the compiled classifier or its sources
from worker import _native  # noqa: F401
