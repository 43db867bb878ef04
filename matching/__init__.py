"""The matching core: pure, synchronous, deterministic decisions over frozen structs.

No I/O imports here (litestar, sqlalchemy, asyncpg, firebase_admin); a test enforces it.
The vocabulary (`model`), eligibility, scoring, vetting, the offer cascade and batch plans.
"""
