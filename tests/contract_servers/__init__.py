"""Local HTTP servers speaking the live platforms' contracts, for tests over real sockets.

Each server records what it received and can be scripted to fail (429 with
Retry-After, 503 for a while, Shopify "Throttled", Meta code 17). See
`base.py` for the shared machinery.
"""
