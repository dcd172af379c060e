"""Outgoing mail: confirmations, alerts, and the List-Unsubscribe header builder."""
