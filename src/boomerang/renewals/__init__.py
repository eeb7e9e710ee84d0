"""Renewals: the pipeline of contract lines coming up, its forecast and outcomes."""
