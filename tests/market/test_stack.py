import pickle

import numpy as np
from pydantic import BaseModel

from ds1ray.market.stack import Stacked


class Inner(BaseModel):
    rate: float


class Params(BaseModel):
    count: int
    name: str
    inner: Inner


def _stacked() -> Stacked:
    return Stacked([Params(count=1, name="a", inner=Inner(rate=0.5)),
                    Params(count=2, name="b", inner=Inner(rate=1.5))])


def test_a_field_is_stacked_once_and_read_back_as_the_same_array() -> None:
    stacked = _stacked()
    counts = stacked.count
    np.testing.assert_array_equal(counts, [1, 2])
    assert counts.dtype == np.int64
    assert stacked.count is counts
    assert stacked.inner is stacked.inner
    np.testing.assert_array_equal(stacked.inner.rate, [0.5, 1.5])
    assert list(stacked.name == "b") == [False, True]


def test_a_pickled_stack_carries_its_models_not_its_arrays() -> None:
    stacked = _stacked()
    _ = stacked.count
    state = stacked.__getstate__()
    assert set(state) == {"models"}
    copy = pickle.loads(pickle.dumps(stacked))
    np.testing.assert_array_equal(copy.count, [1, 2])
    np.testing.assert_array_equal(copy.inner.rate, [0.5, 1.5])


def test_private_and_unknown_names_are_attribute_errors() -> None:
    stacked = _stacked()
    for name in ("_hidden", "missing"):
        try:
            getattr(stacked, name)
        except AttributeError:
            continue
        raise AssertionError(f"{name} should not be an attribute")
