"""Jobs: a durable queue in the operational store, a scheduler and workers."""
