"""Push and live events: the outbox, the dispatcher and its transports."""
