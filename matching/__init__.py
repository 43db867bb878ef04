"""The matching core: pure, synchronous, deterministic decisions over frozen structs.

No I/O imports here (litestar, sqlalchemy, asyncpg, firebase_admin); a test enforces it.
Eligibility, scoring, fairness, continuity and the offer cascade arrive with the matching
issue.
"""
