"""The registry's models, one module per topic (the register mirror; accounts and look-ups)."""

from registry.models.register import Recipient

__all__ = ["Recipient"]
