"""SavedModel export shared by every pipeline."""

__all__ = []
