"""SavedModel export shared by every pipeline."""

from rnnkit.export._saved_model import export_saved_model

__all__ = ["export_saved_model"]
