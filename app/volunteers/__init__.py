"""Volunteers: sign-up, profile, availability, duty, vetting, devices."""
