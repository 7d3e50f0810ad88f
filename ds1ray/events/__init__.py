"""DS1's events: pydantic contracts and the columnar batches they travel in."""

from ds1ray.events.batch import EventBatch
from ds1ray.events.contracts import CONTRACTS, Event, field_types

__all__ = ["CONTRACTS", "Event", "EventBatch", "field_types"]
