"""Idempotency keys with Stripe's semantics.

`store.idempotency.run(key, request, operation)` runs `operation` once per key:
the first call's response (status and body, errors included) is stored with a
hash of the request; a retry with the same key and request gets that stored
response back (`replayed=True`) without running anything; the same key with a
different request is refused (`IdempotencyKeyReused`). Keys expire after 24 h.

The claim (`INSERT … ON CONFLICT DO NOTHING`), the operation's writes and the
stored response share one transaction. A concurrent caller with the same key
blocks on the uncommitted claim (PostgreSQL's unique index; SQLite's write
lock) until it commits, then reads the stored response: exactly one effect.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from ds1ray.errors import UserError
from ds1ray.store.transaction import Transaction

if TYPE_CHECKING:
    from ds1ray.store.store import Store

KEY_TTL = timedelta(hours=24)
MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class Response:
    """What an idempotent operation answered: an HTTP-like status and a JSON body."""

    status: int
    body: Any
    replayed: bool = False  # True when served from a stored earlier answer


class IdempotencyKeyReused(UserError):
    """The key was already used with a different request."""

    def __init__(self, key: str) -> None:
        super().__init__(
            f"Idempotency-Key {key!r} was already used with different request parameters; "
            f"use a new key for a new request"
        )
        self.key = key


def request_hash(request: bytes | str | Mapping[str, Any] | list[Any]) -> str:
    """SHA-256 of the raw request bytes, or of canonical JSON for structured requests."""
    if isinstance(request, bytes):
        data = request
    elif isinstance(request, str):
        data = request.encode()
    else:
        data = json.dumps(request, sort_keys=True, separators=(",", ":"), default=str).encode()
    return hashlib.sha256(data).hexdigest()


class IdempotencyKeys:
    """The idempotency-key table of one store (`store.idempotency`)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def run(
        self,
        key: str,
        request: bytes | str | Mapping[str, Any] | list[Any],
        operation: Callable[[Transaction], Response],
    ) -> Response:
        """Run `operation` once for `key`; later calls get its stored response.

        If `operation` raises, its writes roll back, a 500 response naming the
        error is stored for retries (as Stripe does), and the exception is re-raised.
        """
        if not key or len(key) > MAX_KEY_LENGTH:
            raise UserError(f"an Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters")
        digest = request_hash(request)

        def attempt(tx: Transaction) -> Response:
            stored = self._claim_or_read(tx, key, digest)
            if stored is not None:
                return stored
            response = operation(tx)
            self._store_response(tx, key, response)
            return response

        try:
            return self.store.run(attempt)
        except IdempotencyKeyReused:
            raise
        except Exception as error:
            failure = Response(500, {"error": {"type": "api_error",
                                               "message": f"{type(error).__name__}: {error}"}})

            def store_failure(tx: Transaction) -> None:
                if self._claim_or_read(tx, key, digest) is None:
                    self._store_response(tx, key, failure)

            self.store.run(store_failure)
            raise

    def purge_expired(self) -> int:
        """Delete keys older than 24 h; returns how many."""

        def purge(tx: Transaction) -> int:
            tx.execute("DELETE FROM idempotency_keys WHERE created_at < %s",
                       [tx.dialect.timestamp(tx.now() - KEY_TTL)])
            return tx.cursor.rowcount

        return self.store.run(purge)

    @staticmethod
    def _claim_or_read(tx: Transaction, key: str, digest: str) -> Response | None:
        """None if this transaction now owns `key`; else the stored response."""
        # An expired key is as good as new: drop it before claiming.
        tx.execute("DELETE FROM idempotency_keys WHERE key = %s AND created_at < %s",
                   [key, tx.dialect.timestamp(tx.now() - KEY_TTL)])
        claimed = tx.execute(
            "INSERT INTO idempotency_keys (key, request_hash, created_at) VALUES (%s, %s, %s) "
            "ON CONFLICT (key) DO NOTHING RETURNING key",
            [key, digest, tx.dialect.timestamp(tx.now())],
        ).fetchone()
        if claimed is not None:
            return None
        row = tx.execute(
            "SELECT request_hash, response_status, response_body FROM idempotency_keys "
            "WHERE key = %s", [key],
        ).fetchone()
        assert row is not None, "a conflicting key row must be visible once its claim committed"
        stored_hash, status, body = row
        if stored_hash != digest:
            raise IdempotencyKeyReused(key)
        return Response(int(status), tx.dialect.load_json(body), replayed=True)

    @staticmethod
    def _store_response(tx: Transaction, key: str, response: Response) -> None:
        tx.execute(
            "UPDATE idempotency_keys SET response_status = %s, response_body = %s WHERE key = %s",
            [response.status, tx.dialect.json(response.body), key],
        )
