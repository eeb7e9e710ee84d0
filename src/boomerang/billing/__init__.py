"""Subscriptions (contract lines) and invoices."""
