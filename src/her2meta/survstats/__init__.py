"""Engines behind :mod:`her2meta.survival` and :mod:`her2meta.onestage` (import from those)."""
