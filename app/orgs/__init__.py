"""Organisations and their members (tenancy administration)."""
