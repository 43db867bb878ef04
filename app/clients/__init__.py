"""Clients: the people an organisation helps, their personal data and its audited use."""
