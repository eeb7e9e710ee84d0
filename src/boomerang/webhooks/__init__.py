"""Inbound webhooks from support and billing systems."""
