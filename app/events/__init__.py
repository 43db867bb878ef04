"""The live channel: WS /v1/events."""
