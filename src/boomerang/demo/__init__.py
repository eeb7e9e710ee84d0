"""The deterministic demo company generator (`boomerang demo`)."""
