"""The Townhall application: the `townhall` command and the processes it starts.

Three layers, each importing only the ones below it (checked by import-linter, see
pyproject.toml): `townhall` (this package: the CLI, the process wiring of `run`, `serve`,
`connect` and `demo`, and the simulators the demo plays through), `tui` (every widget and
screen, talking only to the client interface), and `aggregator` (the library: model, store,
queue, collectors, server, exports), which never loads Textual.
"""
