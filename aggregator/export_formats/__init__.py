"""One module per export format; `aggregator.export` picks between them.

Every renderer takes an `ExportData` (the selected questions plus what they need from the
history) and returns text; none of them touches the store, so each is testable on plain data.
"""
