"""Helpers shared by several test folders: the stand-ins for servers only tests start (a pymap
IMAP server, a Zoom cloud), and data builders used by the tests and the benchmarks."""
