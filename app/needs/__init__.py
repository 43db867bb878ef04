"""Needs (needs): what caseworkers post for their clients, and their lifecycle."""
