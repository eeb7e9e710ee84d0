"""The web shell: app wiring, authentication, CSRF, templates, navigation, error pages."""
