"""Ingestion: the Segment-compatible tracking API, write keys and the durable inbox."""
