"""Triage benchmark: likely_question precision/recall on the labelled chat lines, and the time
of one duplicate-hint lookup against 10,000 open questions (target: median <= 5 ms).

Run: python -m bench.triage_bench   (writes the "triage" block of BENCHMARKS.md)
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aggregator.model import Author, Question  # noqa: E402
from aggregator.triage import QUESTION_THRESHOLD, DuplicateIndex, likely_question  # noqa: E402
from aggregator.triage.similar import COMMON_WORD, COMPARED, FUZZY_WINDOW  # noqa: E402
from bench._report import table, write_section  # noqa: E402
from tests.support.triage_data import TUNED, Line, labelled_lines, precision_recall  # noqa: E402

OPEN_QUESTIONS = 10_000
LOOKUPS = 300

SUBJECTS = ("the funding strategy|small affiliates|the board election|the mobile app|"
            "translation tools|the code of conduct|harassment reports|the annual plan|wiki search|"
            "volunteer burnout|the data dumps|research grants|the movement charter|bots on small "
            "wikis|the community wishlist|hiring in Africa|the endowment|chapter budgets|offline "
            "reading|the Wikidata query service|accessibility|paid editing|the developer summit|"
            "regional hubs|the legal team|machine translation|new editors|admin elections").split("|")
TEMPLATES = ("How will {} affect {}?", "What is the plan for {} and {}?",
             "Can you talk about {} in relation to {}", "When will {} be discussed with {}?",
             "Why did {} change after {}?", "Is there any update on {} for {}?",
             "what happens to {} if {} fails", "Who decides about {} and {}?",
             "¿Cómo afecta {} a {}?", "Wie wirkt sich {} auf {} aus?")


def chat_question(rng: random.Random) -> str:
    return rng.choice(TEMPLATES).format(rng.choice(SUBJECTS), rng.choice(SUBJECTS))


def classifier_rows(lines: list[Line]) -> list[list[object]]:
    groups = [("English (tuned + held out)", [x for x in lines if x.lang == "en"]),
              ("all languages", lines),
              ("held out only", [x for x in lines if x.file not in TUNED])]
    rows = []
    for name, group in groups:
        precision, recall = precision_recall(group)
        rows.append([name, len(group), f"{precision:.3f}", f"{recall:.3f}"])
    return rows


def hint_timings(**index_options: int
                 ) -> tuple[float, float, float, int, list[list[dict[str, float | int]]]]:
    rng = random.Random(9)
    index = DuplicateIndex(**index_options)
    author = Author(name="bench", id="bench")
    start = time.perf_counter()
    for qid in range(1, OPEN_QUESTIONS + 1):
        index.track(Question(id=qid, source="youtube", external_id=str(qid), author=author,
                             text=chat_question(rng), received_at="2024-01-01T00:00:00.000Z"))
    build = time.perf_counter() - start
    times, hinted, found = [], 0, []
    for _ in range(LOOKUPS):
        text = chat_question(rng)
        start = time.perf_counter()
        hints = index.hints(text)
        times.append(time.perf_counter() - start)
        hinted += bool(hints)
        found.append(hints)
    times.sort()
    return (statistics.median(times) * 1000, times[int(len(times) * 0.95)] * 1000,
            build, hinted, found)


def main() -> None:
    lines = labelled_lines()
    print(f"classifying {len(lines)} labelled lines ...", flush=True)
    rows = classifier_rows(lines)
    print(table(["set", "lines", "precision", "recall"], rows))
    start = time.perf_counter()
    for line in lines:
        likely_question(line.text)
    per_line = (time.perf_counter() - start) / len(lines) * 1e6
    print(f"indexing {OPEN_QUESTIONS} open questions, then {LOOKUPS} lookups ...", flush=True)
    median, p95, build, hinted, found = hint_timings()
    ok = "meets" if median <= 5 else "MISSES"
    # the same lookups comparing every open question fuzzily (no word is "discriminating",
    # the fallback window holds them all): what the candidate selection costs in hints
    full_median, full_p95, _, full_hinted, full_found = hint_timings(window=OPEN_QUESTIONS,
                                                                     common=0)
    same_best = sum(bool(a) and bool(b) and a[0]["score"] >= b[0]["score"]
                    for a, b in zip(found, full_found))
    body = "\n\n".join([
        f"`likely_question` at the default threshold {QUESTION_THRESHOLD} on the labelled chat "
        "lines in `tests/data/chat_lines_*.tsv` (targets: English precision >= 0.9 and recall "
        ">= 0.85; overall >= 0.8 and >= 0.75). The same engineer wrote the lines and the rules, "
        "so the tuned files flatter the rules; `chat_lines_holdout.tsv` was written after "
        "tuning and its errors were not fixed (two later rule changes came from unit cases and "
        "left its numbers unchanged).",
        table(["set", "lines", "precision", "recall"], rows),
        f"Scoring costs {per_line:.0f} µs per line.",
        f"Duplicate hints for one new question against {OPEN_QUESTIONS:,} open ones "
        f"({LOOKUPS} lookups; target median <= 5 ms, {ok} it). The fuzzy comparison covers the "
        f"open questions sharing a discriminating word (in at most {COMMON_WORD:,} open "
        f"questions) with the new one, at any age, rarest word first while at most "
        f"{COMPARED:,} are compared, falling back to the newest {FUZZY_WINDOW:,} "
        "when every word is common; the second row compares every open question, for what the "
        "selection costs in hints found:",
        table(["candidates", "median", "p95", "index build (10,000)", "lookups with a hint",
               "best hint as good as with all"],
              [["rare-word candidates", f"{median:.2f} ms", f"{p95:.2f} ms",
                f"{build:.2f} s", f"{hinted}/{LOOKUPS}", f"{same_best}/{LOOKUPS}"],
               [f"all {OPEN_QUESTIONS:,}", f"{full_median:.2f} ms", f"{full_p95:.2f} ms", "",
                f"{full_hinted}/{LOOKUPS}", "-"]]),
    ])
    print(body)
    write_section("triage", body)


if __name__ == "__main__":
    main()
