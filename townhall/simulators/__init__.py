"""Local stand-ins for the sources, shared by the tests, the benchmarks and `townhall demo`.

Importable without test dependencies: only the standard library and Townhall's own dependencies.
"""
