"""Codeliver's HTTP service and composition root."""
