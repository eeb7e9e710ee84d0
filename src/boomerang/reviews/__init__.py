"""Business reviews: cadence, internal review, the generated deck, the meeting."""
