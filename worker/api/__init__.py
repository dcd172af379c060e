"""HTTP: one-click and landing pages, the suppression API, health and metrics."""
