"""Conversations and runs: start, cancel, history, the event log and replay, fan-out."""

from .hub import Owner, SessionHub
from .live import Subscriber

__all__ = ["Owner", "SessionHub", "Subscriber"]
