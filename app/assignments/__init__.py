"""Assignments: claims, check-in, completion, withdrawal, no-shows and stale claims."""
