"""SavedModel export shared by every pipeline, and the input checks of serving signatures."""

from rnnkit.export._inputs import require_utf8
from rnnkit.export._saved_model import export_saved_model

__all__ = ["export_saved_model", "require_utf8"]
