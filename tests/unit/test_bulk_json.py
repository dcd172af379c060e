"""The JSON cells the bulk INSERTs write are ``json.dumps``'s text, to the byte."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from worker.store.bulk import _JSON_TEXT

_SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text()
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5)
    ),
    max_leaves=30,
)


@given(_VALUES)
def test_any_json_value_is_encoded_as_json_dumps_does(value: Any) -> None:
    assert _JSON_TEXT(value) == json.dumps(value)


@pytest.mark.parametrize(
    "value",
    [
        {"evidence": ["header Auto-Submitted: auto-replied"], "confidence": 0.95},
        {7: "int key", 2.5: "float key", None: "null key", True: "bool key"},
        (1, "tuple"),
        '\u2028 é \x00 \\ "',
        float("nan"),
    ],
)
def test_the_odd_cases_are_json_dumps_too(value: Any) -> None:
    assert _JSON_TEXT(value) == json.dumps(value)


def test_what_json_dumps_refuses_is_refused() -> None:
    with pytest.raises(TypeError, match="not JSON serializable"):
        _JSON_TEXT({"when": object()})
