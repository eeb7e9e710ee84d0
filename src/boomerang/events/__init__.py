"""The event store: product usage events (Segment spec) as day-partitioned Parquet files."""
