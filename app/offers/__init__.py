"""Offers: the cascade that turns a need into offers, and the answers to them."""
