"""Expansion opportunities: upsell and cross-sell signals, stages and outcomes."""
