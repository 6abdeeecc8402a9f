"""Prebuilt pipelines for the four RNN shapes."""

__all__ = []
