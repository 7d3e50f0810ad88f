"""The live edge of ds1ray: webhook intake, PII redaction, signatures, and resilience.

The HTTP app (`ds1ray.live.app`) and the live adapters (`ds1ray.adapters.live`)
are built from these modules; see docs/live_clients.md for the API.
"""
