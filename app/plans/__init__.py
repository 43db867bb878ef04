"""Batch plans: the optimal assignment of a programme's needs for a period, as offers."""
