"""The form every live port's answers must share with its mock twin (`live_fixtures.mock_port`)."""

from __future__ import annotations

from typing import Any

import numpy as np

RUN = np.zeros(1, np.int64)  # the live business is row 0 of a cohort of one


def same_form(live: Any, mock: Any) -> bool:
    """Arrays (or tuples of arrays) of the same shapes and dtypes."""
    if isinstance(live, tuple):
        return isinstance(mock, tuple) and len(live) == len(mock) and all(
            same_form(a, b) for a, b in zip(live, mock, strict=True))
    return bool(live.shape == mock.shape and live.dtype == mock.dtype)
