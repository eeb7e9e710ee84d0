"""Value reporting: value metrics, per-use value moments and periodic digests."""
