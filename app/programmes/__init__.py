"""Programmes: kinds of co-delivered service and their offer policies."""
