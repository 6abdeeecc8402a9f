"""Real corpora that ship inside registry packages (see shared DATA.md)."""

__all__ = []
