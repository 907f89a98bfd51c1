"""Outgoing messages: queued exactly once (queue), delivered through Twilio's REST API (sender)."""

from voiceline.outbox.queue import enqueue

__all__ = ["enqueue"]
