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
    return collectors
