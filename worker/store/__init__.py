"""Persistence: SQLAlchemy 2 models and every query the application runs."""
