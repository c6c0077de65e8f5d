"""The labelled chat lines in tests/data and precision/recall over them (tests and bench)."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from aggregator.triage import QUESTION_THRESHOLD, likely_question

DATA = Path(__file__).resolve().parent.parent / "data"
#: files the rules were tuned on; every other chat_lines_*.tsv file is held out
TUNED = ("chat_lines_en.tsv", "chat_lines_intl.tsv")


class Line(NamedTuple):
    question: bool
    lang: str
    text: str
    file: str


def labelled_lines() -> list[Line]:
    """Every line of tests/data/chat_lines_*.tsv: `q|c <TAB> language <TAB> text`."""
    lines = []
    for path in sorted(DATA.glob("chat_lines_*.tsv")):
        for number, row in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not row.strip() or row.startswith("#"):
                continue
            label, lang, text = row.split("\t", 2)
            if label not in ("q", "c"):
                raise ValueError(f"{path.name}:{number}: label must be q or c, not {label!r}")
            lines.append(Line(label == "q", lang, text, path.name))
    return lines


def held_out() -> list[Line]:
    return [line for line in labelled_lines() if line.file not in TUNED]


def precision_recall(lines: list[Line], threshold: float = QUESTION_THRESHOLD
                     ) -> tuple[float, float]:
    predicted = [likely_question(line.text) >= threshold for line in lines]
    tp = sum(p and line.question for p, line in zip(predicted, lines))
    fp = sum(p and not line.question for p, line in zip(predicted, lines))
    fn = sum(not p and line.question for p, line in zip(predicted, lines))
    return tp / max(tp + fp, 1), tp / max(tp + fn, 1)
