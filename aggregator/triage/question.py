"""`likely_question`: is a chat line a question for the host, or chatter? (0..1)

A small additive score over cues that hold across the ten languages Townhall's audiences write
in: question marks (? ？ ؟ ¿, and the Greek ";" at the end of Greek text), an interrogative word
or verb-first opening of any sentence (so "Hi Maggie, what ..." counts), a "Q:" style prefix,
polite requests ("can you explain", "me gustaría saber", "मैं जानना चाहता हूँ"), and length.
Greetings, thanks, reactions, emoji-only lines, exclamations ("What a great talk!") and
audio-check questions to the other viewers ("anyone else hearing an echo?") score low.

No model and no I/O: deterministic, explainable, and measured on the labelled chat lines in
tests/data (precision and recall in BENCHMARKS.md, block "triage").
"""

from __future__ import annotations

import re

from .text import normalise

#: The score from which a line counts as a question (tests/data and BENCHMARKS.md use it).
QUESTION_THRESHOLD = 0.5

# Interrogative openings, written in `normalise()`d form (casefolded, Latin accents dropped).
# Verb-first openings ("is there", "können Sie", "allez-vous") are how most European languages
# ask yes/no questions without a question word.
_OPENINGS = {
    "en": r"who|whom|whose|what|what's|whats|when|where|why|how|which|is|are|was|were|do|does|did"
          r"|can|could|will|would|should|shall|may|might|have|has|had|isn't|aren't|don't|doesn't"
          r"|didn't|won't|wouldn't|can't|any (?:plans?|updates?|news|thoughts|chance)|so what",
    "es": r"que|como|cuando|donde|adonde|por que|quien|quienes|cual|cuales|cuanto|cuantos|cuanta"
          r"|cuantas|hay|habra|puede|pueden|podria|podrian|es posible|existe|existen|se puede"
          r"|van a|vais a",
    "fr": r"qui|que|qu'est-ce|quoi|quand|ou|pourquoi|comment|combien|quel|quelle|quels|quelles"
          r"|est-ce|y a-t-il|peut-on|pouvez-vous|pourriez-vous|allez-vous|avez-vous|etes-vous"
          r"|faut-il|sera-t-il|va-t-on",
    "de": r"wer|wen|wem|wessen|was|wann|wo|wohin|woher|warum|wieso|weshalb|wie|welche|welcher"
          r"|welches|welchen|gibt es|gab es|konnen sie|konnt ihr|kann man|wird|werden|ist|sind"
          r"|habt|haben sie|hat|soll|sollen|darf|durfen",
    "pt": r"o que|que|como|quando|onde|por que|porque|quem|qual|quais|quanto|quantos|quanta"
          r"|quantas|existe|existem|voces|podem|pode|poderiam|poderia|e possivel|vai|vao",
    "it": r"chi|che cosa|cosa|quando|dove|perche|come|quale|quali|quanto|quanti|quanta|quante"
          r"|c'e|ci sono|ci sara|potete|potreste|puo|possiamo|e possibile|avete|siete",
    "nl": r"wie|wat|wanneer|waar|waarom|hoe|welke|welk|hoeveel|is er|zijn er|komt|komen|kunnen"
          r"|kun|kan|gaat|gaan|wordt|worden|heeft|hebben|zal|zullen",
    "id": r"apa|apakah|bagaimana|gimana|kapan|mengapa|kenapa|siapa|berapa|di mana|dimana|mana"
          r"|bisakah|bolehkah|adakah|haruskah",
    "hi": r"क्या|कैसे|क्यों|क्यूँ|कब|कहाँ|कहां|कौन|कौनसा|कौन सा|किस|किसने|कितना|कितने|कितनी"
          r"|kya|kaise|kyon|kyun|kab|kahan|kaun|kitna|kitne",
    "ar": r"هل|ما|ماذا|لماذا|لم|كيف|متى|أين|اين|من|كم|أي|ايش|وش",
}
_OPENING = re.compile(rf"^(?:{'|'.join(_OPENINGS.values())})(?![\w'-])")

# Interrogatives that also ask in the middle of a Hindi or Arabic sentence (verb-final order).
_MIDDLE = re.compile(r"(?<!\w)(?:कैसे|क्यों|कब|कहाँ|कहां|कौन|कितना|कितने|कितनी|kaise|kab|kahan)(?!\w)")

_REQUEST = re.compile(
    r"(?<!\w)(?:"
    r"(?:can|could|would|will) (?:you|someone|anyone|somebody|the \w+(?: team)?)"
    r" (?:please )?(?:explain|tell|share|talk|say|speak|comment|clarify|elaborate|address"
    r"|describe|walk|give|update|expand|confirm|go over)"
    r"|please (?:tell|explain|share|talk|comment|clarify|elaborate|address|describe|say|update"
    r"|expand|confirm)|tell us"
    r"|i'?d (?:like|love) to (?:know|hear|understand|learn)|i (?:want|would like|wanted) to know"
    r"|i'?m (?:curious|wondering)|i (?:wonder|was wondering)|(?:^|, )wondering|^curious"
    r"|(?:would )?love to hear (?:your|more|about)|my question (?:is|was)|interested to (?:know|hear)"
    r"|me gustaria saber|quisiera saber|quiero saber|podrian explicar|podria explicar"
    r"|j'aimerais savoir|je voudrais savoir|pourriez-vous|pouvez-vous expliquer"
    r"|ich (?:wurde|mochte) (?:gerne? )?wissen|konnten sie|konnen sie (?:erklaren|sagen)"
    r"|gostaria de saber|queria saber|poderiam explicar|poderia explicar"
    r"|vorrei sapere|potreste|potrebbe spiegare"
    r"|ik zou (?:graag )?(?:willen )?weten|kunnen jullie|kunt u"
    r"|saya ingin tahu|saya mau tanya|mohon (?:dijelaskan|penjelasan)|tolong jelaskan|bisakah"
    r"|जानना चाहत|कृपया बता|कृपया समझा|بتائیں"
    r"|أود أن أعرف|اود ان اعرف|أريد أن أعرف|اريد ان اعرف|هل يمكن"
    r")"
)

_PREFIX = re.compile(
    r"^(?:q|q\d+|question|qn|pregunta|question|frage|pergunta|domanda|vraag|pertanyaan|सवाल"
    r"|प्रश्न|سؤال)\s*[:.)-]", re.IGNORECASE)

# Chatter: greetings, thanks, agreement, laughter, sign-offs. Only counts against a line that
# has no question mark; "Hello from Lagos! What is ...?" stays a question.
_CHATTER = re.compile(
    r"(?<!\w)(?:hello|hi|hey|greetings|good (?:morning|afternoon|evening)|cheers|thanks|thank you"
    r"|thx|ty|congrats|congratulations|bravo|well said|great (?:point|talk|answer|session|job)"
    r"|agreed|i agree|totally agree|same here|same question|following|\+1|lol|haha\w*|brb|bye"
    r"|hola|saludos|gracias|buenas|de acuerdo|jaja\w*|bonjour|salut|merci|d'accord|mdr"
    r"|hallo|grusse|danke|stimme|ola|obrigad[oa]|saudacoes|concordo|kkk\w*|boa tarde|ciao"
    r"|saluti|grazie|buonasera|bravissim\w*|groetjes|dank je|mee eens|halo|salam|terima kasih"
    r"|setuju|selamat|wkwk\w*|mantap|नमस्ते|धन्यवाद|सहमत|शुभ|dhanyavaad|namaste|badhiya"
    r"|مرحبا|شكرا|تحية|تحياتي|أتفق|اتفق|مساء الخير|صباح الخير)(?!\w)"
)
# Questions to the other viewers about the stream, not to the host.
_AUDIENCE = re.compile(
    r"(?<!\w)(?:anyone else|for anyone|is it just me|can (?:you|anyone|everyone) hear|"
    r"where is everyone|who else is|audio|sound|echo|lagging|frozen|mic)(?!\w)")
_EXCLAMATION = re.compile(r"^(?:what an? |how (?:cool|great|nice|amazing|wonderful|lovely)|"
                          r"que (?:buen|bonit|legal|lind|bom)|quelle? |wie (?:schon|toll|cool)|"
                          r"che (?:bell|bravo)|wat (?:mooi|leuk|goed))")
_SENTENCE = re.compile(r"[.!?？؟¿¡\n,;:।]+|\s[-–—]\s")
_GREEK = re.compile(r"[\u0370-\u03ff\u1f00-\u1fff]")
_LETTER = re.compile(r"[^\W\d_]")
_UNSPACED = re.compile(r"[\u0e00-\u0e7f\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")


def _has_question_mark(text: str) -> bool:
    if any(mark in text for mark in ("?", "？", "؟", "¿", "⁇")):
        return True
    return text.rstrip().endswith(";") and bool(_GREEK.search(text))


def _is_chatter(clauses: list[str]) -> bool:
    """Greetings or thanks that are not just the opening of something else.

    Leading greeting clauses ("Hi Maggie, ...", "Thanks for the update. ...") are skipped; the
    line is chatter if nothing follows them or what follows is chatter too.
    """
    rest = list(clauses)
    while rest and _CHATTER.search(rest[0]):
        rest.pop(0)
    if len(rest) == len(clauses):
        return any(_CHATTER.search(clause) for clause in clauses)
    return not rest or any(_CHATTER.search(clause) for clause in rest)


def likely_question(text: str) -> float:
    """0..1: how likely `text` is a question for the host rather than chatter.

    `QUESTION_THRESHOLD` (0.5) separates the two on the labelled set in tests/data.
    """
    body = normalise(text)
    letters = len(_LETTER.findall(body))
    if letters < 2:
        return 0.0  # emoji, "+1", "???"
    word_count = len(body.split())
    if _UNSPACED.search(body):  # Thai, Japanese, Chinese, Korean: about two letters a word
        word_count = max(word_count, letters // 2)
    marked = _has_question_mark(body)
    clauses = [c.strip() for c in _SENTENCE.split(body) if c.strip()]
    opening = any(_OPENING.match(c) for c in clauses)
    exclaimed = "!" in body and not marked and bool(_EXCLAMATION.match(clauses[0] if clauses
                                                                       else body))
    score = 0.1
    if marked:
        score += 0.5
    if opening and not exclaimed:
        score += 0.35 if marked else 0.45
    elif _MIDDLE.search(body):
        score += 0.25 if marked else 0.4
    if _REQUEST.search(body):
        score += 0.4
    if _PREFIX.match(body):
        score += 0.5
    if not marked and _is_chatter(clauses):
        score -= 0.3
    if _AUDIENCE.search(body):
        score -= 0.45
    if exclaimed:
        score -= 0.3
    if word_count < 3:
        score -= 0.2
    elif word_count >= 6:
        score += 0.05
    return round(min(max(score, 0.0), 1.0), 3)
