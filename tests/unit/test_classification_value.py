"""Classification's hand-written __init__ against its dataclass fields (see the class)."""

from __future__ import annotations

import dataclasses
import pickle

from worker.core.classify import Classification, MessageClass
from worker.core.verdict import Prepared


def test_classification_init_is_the_fields() -> None:
    fields = dataclasses.fields(Classification)

    # a value of each field's type, none of them its default (so every one is seen set)
    def value(f: dataclasses.Field[object]) -> object:
        if f.name == "message_class":
            return MessageClass.COMPLAINT
        if f.name == "confidence":
            return 0.25
        if f.default is False:
            return True
        if f.default == () or f.name == "evidence":
            return (f"value of {f.name}",)
        return f"value of {f.name}"

    values = [value(f) for f in fields]
    by_position = Classification(*values)  # type: ignore[arg-type]
    by_name = Classification(**{f.name: v for f, v in zip(fields, values, strict=True)})  # type: ignore[arg-type]
    assert len(set(map(repr, values))) == len(values) - sum(v is True for v in values) + 1
    for f, value in zip(fields, values, strict=True):
        assert getattr(by_position, f.name) == value, f.name
        assert getattr(by_name, f.name) == value, f.name
    bare = Classification(MessageClass.OTHER, 0.5, ("why",))
    for f in fields[3:]:
        assert getattr(bare, f.name) == f.default, f.name
    assert [f.default for f in fields[:3]] == [dataclasses.MISSING] * 3
    # pickled (into and out of the classifier processes) field by field, in order
    assert pickle.loads(pickle.dumps(by_position)) == by_position
    assert by_position.__reduce__()[1] == tuple(values)
    prepared = Prepared(by_position, "subject", "digest")
    assert pickle.loads(pickle.dumps(prepared)) == prepared
    assert prepared.__reduce__()[1] == tuple(
        getattr(prepared, f.name) for f in dataclasses.fields(Prepared)
    )


def test_classification_is_a_value() -> None:
    a = Classification(MessageClass.BOUNCE, 0.98, ("DSN",), addresses=("a@example.org",))
    b = Classification(MessageClass.BOUNCE, 0.98, ("DSN",), addresses=("a@example.org",))
    assert a == b
    assert hash(a) == hash(b)
    assert len({a, b}) == 1
    assert a != dataclasses.replace(a, confidence=0.5)
    assert pickle.loads(pickle.dumps(a)) == a
    assert "BOUNCE" in repr(a) or "bounce" in repr(a)
