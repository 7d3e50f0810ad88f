"""ds1ray: a Ray lab for DS1, an autonomous dropshipping business run by AI agents."""

from __future__ import annotations

__version__ = "0.1.0"
