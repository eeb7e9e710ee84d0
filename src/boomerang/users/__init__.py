"""Staff users, roles and REST API tokens."""
