"""Playbooks: the platform notices, decides and acts; every action has an owner."""
