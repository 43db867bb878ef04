"""Operations: health, Prometheus metrics, rate limiting, structured logs."""
