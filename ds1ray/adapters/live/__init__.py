"""Clients of the real platforms behind DS1's adapter ports (Shopify, Meta, the AI, …).

Every client sends its HTTP calls through `ds1ray.live.resilience.Resilience`
(timeouts, backoff, `Retry-After`, rate limit, circuit breaker) and raises
`PlatformUnavailable` or `PlatformRejected` when a call does not succeed.
See docs/live_clients.md.
"""
