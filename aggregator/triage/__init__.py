"""Pure triage rules applied at ingestion: is this a question, which topics does it touch, is
it uncivil, which open questions does it repeat.

No I/O, no network, no model: each function looks only at its arguments (the duplicate index
only at what the queue told it), so the rules can be tested on tables of cases and run inside
the queue's event loop without blocking it. One module per rule:

- `question`: `likely_question` (0..1) and `QUESTION_THRESHOLD`
- `topics`: `topic_tags` from `[triage] topics`
- `civility`: the `uncivil` flag (word list, shouting, repeated insults)
- `similar`: `DuplicateIndex`, the duplicate hints a question keeps in its `similar` field
- `rules`: `Rules`, all of the above as the queue's `Triage`
"""

from .civility import DEFAULT_UNCIVIL_WORDS, Incivility, assess_civility, is_shouting
from .question import QUESTION_THRESHOLD, likely_question
from .rules import Assessment, Rules
from .similar import DuplicateIndex, similarity_key
from .text import normalise
from .topics import topic_tags

__all__ = [
    "DEFAULT_UNCIVIL_WORDS", "QUESTION_THRESHOLD", "Assessment", "DuplicateIndex", "Incivility",
    "Rules", "assess_civility", "is_shouting", "likely_question", "normalise", "similarity_key",
    "topic_tags",
]
