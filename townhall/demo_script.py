"""The scripted meeting `townhall demo` plays: a foundation's monthly office-hours call.

Pure data. Times are seconds from the start at speed 1; the whole script lasts about ten
minutes. Each beat goes through a real channel: email into a Maildir read by the email
collector, YouTube chat through a fake YouTube API polled by the real Google client, Zoom chat
as signed webhooks posted to the real endpoint.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

MEETING_TITLE = "Conversation with Maggie (demo)"
HOST = "Maggie"
ANSWERERS = ["Maggie", "Jan", "Kaarel", "Simona", "Patrick"]
SUBJECT_PHRASE = "Question for Maggie"
TOPICS = {
    "Trust & Safety": ["ucoc", "harassment", "trust and safety", "moderation"],
    "Funding": ["grant", "grants", "funding", "budget"],
    "Technology": ["api", "mobile app", "servers", "outage"],
}
#: a channel the demo config bans from the start: its messages arrive dismissed ("banned")
BANNED_CHANNEL = "UCdemoBannedSpammer000001"


@dataclass(frozen=True)
class Beat:
    at: float
    channel: str  # youtube | zoom | email | youtube_delete
    author: str
    text: str = ""
    author_id: str = ""
    subject: str = ""
    private: bool = False  # zoom: sent to the host only
    key: str = ""  # a name other beats refer to (deletions)


def _yt(at: float, author: str, text: str, key: str = "", author_id: str = "") -> Beat:
    return Beat(at, "youtube", author, text, author_id=author_id or f"UCdemo{zlib.crc32(author.encode()):017d}", key=key)


def _zoom(at: float, author: str, text: str, private: bool = False) -> Beat:
    return Beat(at, "zoom", author, text, private=private)


def _mail(at: float, author: str, address: str, subject: str, text: str) -> Beat:
    return Beat(at, "email", author, text, author_id=address, subject=subject)


SCRIPT: list[Beat] = [
    # Sent in advance by email (already in the inbox when the call starts).
    _mail(0, "Ana Lima", "ana.lima@example.org", "Question for Maggie",
          "How will the new grants programme support small affiliates in Latin America?\n\n"
          "Thanks,\nAna\n\n-- \nAna Lima\nWikimedia Brasil"),
    _mail(0, "Kofi Mensah", "kofi@example.net", "Question for Maggie: mobile app",
          "Is there a plan to bring offline reading back to the mobile app? Many readers "
          "in Ghana depend on it.\n\nOn Mon, Nov 7, Maggie wrote:\n> We will take questions "
          "by email before the call."),
    _mail(0, "Newsletter", "news@example.com", "Conversation with Maggie - agenda",
          "This is the agenda mail; it must be excluded by the subject rules."),
    # The call starts: chatter first.
    _yt(5, "Priya", "hello from India! 👋"),
    _yt(8, "Lukas", "Hallo aus Berlin"),
    _zoom(10, "Jan (staff)", "Welcome everyone, we start in a minute."),
    _yt(14, "Marta", "¿Cuándo estará disponible la grabación de esta llamada?"),
    _yt(18, "Tom", "great stream so far"),
    _zoom(22, "Sofia Rossi", "What is the foundation doing about harassment on talk pages?"),
    _yt(26, "Chen Wei", "The UCoC enforcement guidelines: how are they applied to small wikis?"),
    _yt(31, "Troll", "buy cheap followers at spam.example", author_id=BANNED_CHANNEL),
    _yt(35, "Aisha", "هل ستتم ترجمة الإرشادات إلى العربية؟"),
    _zoom(40, "Omar", "Can you explain how the annual plan budget is decided?"),
    # The same question on two channels.
    _yt(46, "Léa", "What is the foundation doing about harassment on talk pages??"),
    _yt(52, "Pedro", "+1"),
    _zoom(57, "Grace", "Maggie, a private note: I would like to raise my specific case "
                       "with the trust and safety team, my account was blocked.", private=True),
    _yt(63, "Nadia", "Apa rencana untuk mendukung komunitas di Indonesia?"),
    # Hostile text: markup, escape sequences, bidi override, HTML.
    _yt(70, "[bold red]Mallory[/]", "[@click=app.quit]click me[/] \x1b[2J\x1b]0;pwned\x07 "
        "<script>alert(1)</script> \u202eevil"),
    _yt(76, "Ravi", "Who won the cricket match yesterday?"),  # off topic
    _yt(81, "Bad Actor", "This is a question I will delete: what time is it?", key="deleted"),
    Beat(90, "youtube_delete", "chat moderator", key="deleted"),
    _zoom(96, "Kaarel (staff)", "Reminder: questions in the chat, please."),
    _yt(104, "Olu", "Will the servers outage last month get a public report?"),
    _mail(112, "Greta Berg", "greta@example.se", "Re: Question for Maggie",
          "Following up on my earlier mail: is there news on the API rate limits?"),
    _mail(120, "Sam Park", "sam@example.org", "[wikimedia-l] Question for Maggie",
          "How can volunteers get involved in shaping the next strategy cycle?"),
    _yt(130, "Marta", "gracias!"),
    _zoom(140, "Ben", "Could the foundation fund more translation sprints?"),
    _yt(150, "Yuki", "モバイルアプリのオフライン機能は戻りますか？"),
    _yt(165, "Troll", "last chance: cheap followers", author_id=BANNED_CHANNEL),
    _zoom(180, "Sofia Rossi", "Thanks, that was helpful!"),
    _yt(200, "João", "Como a fundação vai apoiar os editores em Moçambique?"),
    _yt(230, "Emma", "Is there a timeline for the new mobile app release?"),
    _zoom(260, "Patrick (staff)", "We have about 20 minutes left."),
    _yt(300, "Hiro", "Could you talk a bit about the grants review timeline?"),
    _mail(330, "Ana Lima", "ana.lima@example.org", "Question for Maggie (2)",
          "One more: will the grants programme accept applications in Portuguese?"),
    _yt(360, "Wiktor", "Czy będzie nagranie?"),
    _zoom(400, "Maria", "What does trust and safety do when a small wiki has no admins?"),
    _yt(450, "Lukas", "Wie werden die Prioritäten für das nächste Jahr festgelegt?"),
    _yt(500, "Tom", "thanks for doing this!"),
    _zoom(540, "Ben", "Thank you all!"),
    _yt(590, "Priya", "bye from India 🙏"),
]

DURATION = max(beat.at for beat in SCRIPT) + 10
