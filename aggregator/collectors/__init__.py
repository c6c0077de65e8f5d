"""Collectors: one module per source, all sharing base.py.

`build_collectors(config, health)` makes the collectors the config enables. Each source module
adds its own branch here.
"""

from __future__ import annotations

from ..config import Config
from ..health import HealthRegistry
from .base import Collector


def build_collectors(config: Config, health: HealthRegistry) -> list[Collector]:
    collectors: list[Collector] = []
    if config.zoom.enabled:
        from .zoom import build_zoom_collector

        collectors.append(build_zoom_collector(config, health))
    if config.youtube.enabled:
        from .youtube import YouTubeCollector

        collectors.append(YouTubeCollector(config, health))
    if config.email.enabled:
        collectors.append(_email_collector(config, health))
    return collectors


def _email_collector(config: Config, health: HealthRegistry) -> Collector:
    """`[email]`: a Maildir folder when `maildir` is set, otherwise the IMAP server."""
    from datetime import date

    from .email_rules import SubjectRules

    mail = config.email
    rules = SubjectRules(mail.subject_include, mail.subject_exclude, mail.include_replies)
    if mail.maildir:
        from .maildir import MaildirCollector

        since = date.fromisoformat(mail.since) if mail.since else None
        return MaildirCollector(mail.maildir, rules, health, since=since)
    from .imap import ImapCollector
    from .imap_connect import ImapSettings

    return ImapCollector(ImapSettings.from_config(config), rules, health, config.secret)
