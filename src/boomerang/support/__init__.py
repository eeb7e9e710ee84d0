"""Support tickets, an input for health."""
