"""Duplicate hints: which open questions say the same thing as a new one, across all sources.

The index keeps one short *key* per open question: its content words (stop words of the
supported languages removed), cut to a common prefix so "affiliate" meets "affiliates", sorted
and de-duplicated. Comparing keys with rapidfuzz's plain `ratio` then behaves like a
token-set comparison that ignores word order and filler words, yet costs only one bit-parallel
string comparison per candidate (the key is computed once per question, not once per lookup):
about 1 ms for 10,000 open questions where `token_set_ratio` on raw text takes ~15 ms.

Pure and in memory: the queue tells it when a question appears, changes wording or status, and
asks it for hints while building a new question (its `similar` field).
"""

from __future__ import annotations

import bisect
from array import array
from functools import lru_cache

from rapidfuzz import fuzz, process

from ..model import Hint, Question, Status
from .text import squeezed_words

#: Statuses whose questions can still take a duplicate: waiting, on the host list or live, or
#: kept for a written answer. Answered, dismissed and merged ones are not offered.
INDEXED_STATUSES = frozenset({Status.NEW, Status.QUEUED, Status.LIVE, Status.FOLLOW_UP})

PREFIX = 6          # letters of each word kept in the key: a cheap stemmer for many languages
MAX_HINTS = 5
MIN_SCORE = 0.72    # 0..1; below this, paraphrases are mostly different questions
SHORT_KEY_MIN_SCORE = 0.9  # keys of one or two words need a near-exact match
FUZZY_WINDOW = 300   # newest open questions, the fallback for all-common-word texts
COMMON_WORD = 1_000  # a word in more open questions than this does not pick candidates
COMPARED = 300       # candidates compared, rarest shared word first (beyond the first word's)
NO_HINTS: tuple[Hint, ...] = ()

# Filler words of the languages the question rules know. Kept short on purpose: a word missing
# here costs a little similarity, a content word wrongly listed here hides a real difference.
STOP_WORDS = frozenset("""
a an the and or but if of to in on at for from by with about as into than then so too very
is are was were be been being am do does did done have has had having will would shall should
can could may might must i me my we our us you your he she it its they them their this that
these those there here what which who whom whose when where why how any some all just also
please thanks thank hi hello hey question q maybe really much many more most not no yes
what's whats it's i'm i'd don't there's let's get going thing things now today
talk explain tell elaborate comment know like wondering wonder curious call meeting session
el la los las un una unos unas de del y o que en por para con se su sus es son como lo al
le les des du et ou est une dans pour pas sur ce cette qui quoi vous nous il elle ils
der die das den dem ein eine und oder ist sind wie was wer wo zu mit von fur auf ich sie wir es
o a os as um uma do da dos das e em no na nos nas para com por se seu sua
il lo gli di da e che non per con su sono come
de het een en of is zijn wat wie hoe van voor met op te ik je jullie
yang dan di ke dari apa untuk dengan ini itu ada bisa akan
""".split())


@lru_cache(maxsize=512)
def similarity_key(text: str) -> str:
    """The comparable form of `text`: sorted unique content-word prefixes.

    Cached: a new question's key is computed for its hints and again when it is indexed."""
    kept = {word[:PREFIX] for word in squeezed_words(text)
            if word not in STOP_WORDS and (len(word) > 1 or word.isdigit())}
    return " ".join(sorted(kept))


class DuplicateIndex:
    """Open questions' similarity keys, by question id; `hints()` ranks them against a text.

    Cost decision: the fuzzy comparison is linear in the questions it looks at (50-90 ns each
    in rapidfuzz) and runs for every arriving message, on the event loop, before the message
    can be committed, so it must not scan every open question: chatter stays open, and a busy
    stream holds tens of thousands. Nor may it look only at the newest ones, because the
    duplicates that matter most are a live chat message repeating a question emailed days
    before. So candidates come from the words themselves: the open questions that share a
    *discriminating* word with the new text (a content word found in at most `common` open
    questions), whatever their age, rarest word first, up to `compared` of them (a real
    duplicate shares the rarest words). Only a text made of nothing but very common words
    falls back to the `window` most recently opened questions. A question whose key is
    identical (same content words, any order) is found at any age.

    300 comparisons (~25 us) per arrival: with 1,000 a near-identical stream spent 60 % of the
    submit path here and 100 concurrent submitters missed their p99 (BENCHMARKS.md "store").
    """

    def __init__(self, *, limit: int = MAX_HINTS, min_score: float = MIN_SCORE,
                 window: int = FUZZY_WINDOW, common: int = COMMON_WORD,
                 compared: int = COMPARED) -> None:
        self.limit = limit
        self.min_score = min_score
        self.window = window
        self.common = common
        self.compared = compared
        self._keys: dict[int, str] = {}    # every open question's key
        self._recent: dict[int, str] = {}  # the newest `window` of them, oldest first
        # key word -> open questions using it, and whole key -> open questions with it: sorted
        # arrays of ids, not sets, 4 bytes an entry instead of ~40 (a set per word or key took
        # 40 MB at 100,000 open questions). Ids mostly arrive in order, so adding one is an
        # append; the newest of a long list are its tail.
        self._postings: dict[str, array[int]] = {}
        self._by_key: dict[str, array[int]] = {}

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, question_id: object) -> bool:
        return question_id in self._keys

    def track(self, question: Question) -> None:
        """Follow `question`'s current status and wording (call on every change)."""
        if question.status not in INDEXED_STATUSES:
            self.discard(question.id)
            return
        key = similarity_key(question.display_text)
        known = self._keys.get(question.id)
        if known == key:
            return
        self._drop_key(question.id)
        if not key:
            self._recent.pop(question.id, None)
            return
        self._keys[question.id] = key
        _add(self._by_key, key, question.id)
        for word in key.split(" "):
            _add(self._postings, word, question.id)
        if question.id in self._recent or known is None:
            self._recent[question.id] = key
            while len(self._recent) > self.window:
                del self._recent[next(iter(self._recent))]

    def discard(self, question_id: int) -> None:
        self._drop_key(question_id)
        self._recent.pop(question_id, None)

    def _drop_key(self, question_id: int) -> None:
        key = self._keys.pop(question_id, None)
        if not key:
            return
        _remove(self._by_key, key, question_id)
        for word in key.split(" "):
            _remove(self._postings, word, question_id)

    def _candidates(self, key: str) -> dict[int, str]:
        """Open questions sharing a discriminating word with `key` (see the class docstring),
        rarest word first, at most `compared` of them: the newest, where a word has more."""
        postings = sorted((posting for word in key.split(" ")
                           if (posting := self._postings.get(word)) and
                           len(posting) <= self.common), key=len)
        if not postings:
            return self._recent
        ids: set[int] = set()
        for posting in postings:
            room = self.compared - len(ids)
            if room <= 0:
                break
            if len(posting) > room:
                if ids:
                    break
                posting = posting[-room:]  # id lists are sorted: the newest questions
            ids.update(posting)
        keys = self._keys
        return {qid: keys[qid] for qid in ids}

    def hints(self, text: str, *, exclude: int | None = None) -> tuple[Hint, ...]:
        """The open questions most like `text`, best first (empty when there are none).

        Scores are 0..1 (rapidfuzz's 0..100 divided by 100, three decimals); equal scores list
        the older question first, the one a merge would usually keep.
        """
        key = similarity_key(text)
        if not key or not self._keys:
            return NO_HINTS
        cutoff = self.min_score if key.count(" ") >= 2 else max(self.min_score,
                                                                 SHORT_KEY_MIN_SCORE)
        found = process.extract(key, self._candidates(key), scorer=fuzz.ratio, processor=None,
                                limit=self.limit + 1, score_cutoff=cutoff * 100)
        scores = {qid: score for _key, score, qid in found}
        scores.update((qid, 100.0) for qid in self._by_key.get(key, ()))
        ranked = sorted(((score, qid) for qid, score in scores.items() if qid != exclude),
                        key=lambda pair: (-pair[0], pair[1]))
        return tuple(Hint(qid, round(score * 10) / 1000) for score, qid in ranked[:self.limit])


def _add(table: dict[str, array[int]], name: str, question_id: int) -> None:
    ids = table.get(name)
    if ids is None:
        table[name] = array("Q", (question_id,))
    elif ids[-1] < question_id:
        ids.append(question_id)
    else:  # a reworded question, or an arrival that overtook the start-up fill
        bisect.insort(ids, question_id)


def _remove(table: dict[str, array[int]], name: str, question_id: int) -> None:
    ids = table.get(name)
    if ids is None:
        return
    at = bisect.bisect_left(ids, question_id)
    if at < len(ids) and ids[at] == question_id:
        del ids[at]
        if not ids:
            del table[name]
