"""Readers, vectorisation and batching shared by every pipeline."""

__all__ = []
