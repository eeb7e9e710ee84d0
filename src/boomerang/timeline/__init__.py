"""The account timeline: everything that happens to an account, in order."""
