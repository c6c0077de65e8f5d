"""Duplicate hints (`meta["similar"]`) held packed in memory, written as plain JSON.

Why this exists: the queue keeps every question of a meeting in memory, and a busy stream of
near-identical messages gives almost every question five hints. Decoded as JSON they are five
`{"id": 12, "score": 0.93}` dicts, about 1.4 KB per question, more than all its other fields
together: 140 MB at 100,000 questions (BENCHMARKS.md, blocks "store" and "tui"). Packed, the
same hints take about 130 bytes.

On the wire, in the store and in exports nothing changes: `encode_hook` writes the packed form
back out as the documented list of dicts. `Question.__post_init__` packs a hint list when it is
built or decoded. A list that is not exactly the shape the queue writes (it came from an import
or another tool) is left as it is: readers go through `hint_pairs()`, which accepts both.
"""

from __future__ import annotations

import itertools
import struct
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, overload

_PAIR = struct.Struct("<QH")  # question id (the importer allows up to 2**53), score/1000
_MAX_ID = 2**64 - 1
#: More hints than this in one list are not packed (the queue writes at most five).
MAX_PACKED = 50


class SimilarHints(Sequence[dict[str, Any]]):
    """The documented list of `{"id": 12, "score": 0.93}` hints, best first, read-only, stored
    in 10 bytes per hint. `pairs()` reads them without building dicts."""

    __slots__ = ("_packed",)

    def __init__(self, packed: bytes) -> None:
        self._packed = packed

    @classmethod
    def from_json(cls, raw: object) -> SimilarHints | None:
        """The packed form of `[{"id": 12, "score": 0.93}, ...]`, or None when `raw` is not
        exactly that shape (ids 0..2**64-1, scores floats 0..1 with at most three decimals),
        so that packing and writing back out always gives the same JSON."""
        if type(raw) is not list or not raw or len(raw) > MAX_PACKED:
            return None
        pairs: list[tuple[int, int]] = []
        for item in raw:
            if type(item) is not dict or len(item) != 2:
                return None
            qid, score = item.get("id"), item.get("score")
            if (type(qid) is not int or type(score) is not float or not 0 <= qid <= _MAX_ID
                    or not 0.0 <= score <= 1.0):  # also refuses NaN
                return None
            thousandths = round(score * 1000)
            if thousandths / 1000 != score:
                return None
            pairs.append((qid, thousandths))
        return cls.from_thousandths(pairs)

    @classmethod
    def from_thousandths(cls, pairs: list[tuple[int, int]]) -> SimilarHints:
        """Packed straight from (id, score in thousandths) pairs, as the duplicate index
        ranks them (no dicts built on the ingestion path)."""
        return cls(struct.pack(f"<{'QH' * len(pairs)}", *[v for pair in pairs for v in pair]))

    def pairs(self) -> Iterator[tuple[int, float]]:
        for qid, thousandths in _PAIR.iter_unpack(self._packed):
            yield qid, thousandths / 1000

    def __len__(self) -> int:
        return len(self._packed) // _PAIR.size

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...
    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...

    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        return self.to_json()[index]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.to_json())

    def to_json(self) -> list[dict[str, Any]]:
        return [{"id": qid, "score": score} for qid, score in self.pairs()]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, SimilarHints):
            return self._packed == other._packed
        if isinstance(other, list):
            return self.to_json() == other
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # equal to a list, so not hashable

    def __repr__(self) -> str:
        return f"SimilarHints({self.to_json()!r})"


def pack_meta(meta: dict[str, Any]) -> dict[str, Any] | None:
    """A copy of `meta` with its hint list packed, or None when there is nothing to pack."""
    packed = SimilarHints.from_json(meta.get("similar"))
    return None if packed is None else {**meta, "similar": packed}


def hint_pairs(meta: Mapping[str, Any], limit: int = 20) -> list[tuple[int, float]]:
    """`meta["similar"]` as (question id, score) pairs, read defensively: it is data, not code
    (an imported question can carry any JSON there)."""
    raw = meta.get("similar")
    if isinstance(raw, SimilarHints):
        return list(itertools.islice(raw.pairs(), limit))
    found: list[tuple[int, float]] = []
    if not isinstance(raw, list):
        return found
    for item in raw[:limit]:
        if isinstance(item, Mapping) and type(item.get("id")) is int:
            score = item.get("score")
            found.append((item["id"], float(score) if isinstance(score, (int, float))
                          and not isinstance(score, bool) else 0.0))
    return found


def encode_hook(obj: object) -> Any:
    """msgspec `enc_hook`: packed hints are written as the documented list of dicts."""
    if isinstance(obj, SimilarHints):
        return obj.to_json()
    raise NotImplementedError(f"cannot encode {type(obj).__name__}")
