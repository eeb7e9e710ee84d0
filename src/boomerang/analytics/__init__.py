"""Analytics over the event store: set-based queries, one engine connection per use.

DuckDB over the Parquet event files is the embedded default. Every query here is a pure
function from a connection (holding an ``events`` view) to a table, so it can be tested on
tiny tables and moved to another engine later without touching its callers.
"""
