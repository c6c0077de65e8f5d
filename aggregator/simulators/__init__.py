"""Local stand-ins for the real sources (fake YouTube API, Zoom webhook sender, mail writer),
used by `townhall demo` and by the tests; importable without test dependencies."""
