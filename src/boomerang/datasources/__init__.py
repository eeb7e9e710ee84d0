"""The admin "Data sources" page: write keys, ingestion, imports, webhooks, the event source."""
