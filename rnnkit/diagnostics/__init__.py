"""Back-propagation through time made visible: how much gradient reaches each time step."""

from rnnkit.diagnostics._gradient_flow import gradient_flow, plot_gradient_flow

__all__ = ["gradient_flow", "plot_gradient_flow"]
