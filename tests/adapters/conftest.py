"""Fixtures shared by the shop adapters' tests."""

from tests.sandboxes.webhook_receiver import receiver

__all__ = ["receiver"]
