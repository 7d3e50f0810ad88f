"""Personal data out of webhook payloads and log records, before they reach the bus or a log.

What counts as personal (Presidio's entity list as the checklist, plus street
addresses, which Presidio lacks): person names, e-mail addresses, phone
numbers, street addresses and postcodes, IP addresses, card and bank numbers.

Two passes over a payload:

1. Structured fields are replaced by what they are: `first_name` → `[NAME]`,
   `address1` → `[ADDRESS]`, `phone` → `[PHONE]`, … (Shopify's `customer`,
   `shipping_address`, `billing_address`, Stripe's `billing_details`,
   `shipping`, …). E-mail addresses become a stable keyed hash
   (`email:<hex>`), so the same customer can be linked across orders without
   the address being stored. The original values are remembered.
2. Every other string is scrubbed: the values remembered in pass 1 (the
   customer's name in an order note), and patterns: e-mail addresses, phone
   numbers, street addresses, Luhn-valid card numbers, IBANs, account numbers,
   and capitalised names after a cue ("Customer Ada Lovelace", "Dear Ada").
   A name in prose with neither a cue nor a structured field elsewhere in the
   payload is not recognised (that takes a named-entity model).

Identifiers (`id`, `*_id`, `admin_graphql_api_id`, timestamps, currency codes)
are left alone: the business needs them and they are not personal.

Example:
    >>> r = Redactor(b"k")
    >>> out = r.redact_payload({"customer": {"first_name": "Ada", "email": "ada@example.com"},
    ...                         "note": "Ada says: call +44 20 7946 0958"})
    >>> out["customer"]["first_name"], out["customer"]["email"].startswith("email:")
    ('[NAME]', True)
    >>> out["note"]
    '[NAME] says: call [PHONE]'
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import re
from collections.abc import Mapping
from typing import Any

NAME = "[NAME]"
PHONE = "[PHONE]"
ADDRESS = "[ADDRESS]"
POSTCODE = "[POSTCODE]"
IP = "[IP]"
CARD = "[CARD]"
BANK = "[BANK]"
COMPANY = "[COMPANY]"

# Objects that describe a person or where they live: inside them a bare `name` is a person's.
PERSON_CONTEXTS = frozenset({
    "customer", "shipping_address", "billing_address", "default_address", "addresses",
    "billing_details", "shipping", "destination", "requester", "recipient", "address",
    "owner", "individual", "evidence", "contact", "buyer",
})
NAME_KEYS = frozenset({
    "first_name", "last_name", "full_name", "customer_name", "contact_name", "billing_name",
    "shipping_name", "recipient_name", "cardholder_name", "account_holder_name",
})
ADDRESS_KEYS = frozenset({
    "address1", "address2", "line1", "line2", "street", "street1", "street2",
    "street_address", "address_line_1", "address_line_2", "shipping_address_text",
})
POSTCODE_KEYS = frozenset({"zip", "postal_code", "postcode", "zip_code"})
IP_KEYS = frozenset({"browser_ip", "ip", "ip_address", "client_ip"})
DROPPED_KEYS = frozenset({"latitude", "longitude"})
# Prose written by people, where a customer's own name or address may turn up.
FREE_TEXT_KEYS = frozenset({
    "note", "notes", "body", "comment", "message", "description", "subject", "value", "text",
    "content", "customer_note", "gift_message", "reason", "html_body", "plain_body",
})
# Exact keys and their label; `*email*` and `*phone*` keys and a person's `name`/`company`
# are matched in `Redactor._replace_field`.
FIELD_LABELS: dict[str, str] = {
    **dict.fromkeys(NAME_KEYS, NAME), **dict.fromkeys(ADDRESS_KEYS, ADDRESS),
    **dict.fromkeys(POSTCODE_KEYS, POSTCODE), **dict.fromkeys(IP_KEYS, IP),
}
# Labels whose original values are also scrubbed from the payload's prose.
REMEMBERED_LABELS = frozenset({NAME, ADDRESS, PHONE, COMPANY})
_EMAIL = "email"
# Values under these keys are identifiers or machine values, never free text.
IDENTIFIER_KEYS = frozenset({
    "id", "admin_graphql_api_id", "created_at", "updated_at", "processed_at", "closed_at",
    "cancelled_at", "currency", "presentment_currency", "financial_status",
    "fulfillment_status", "token", "cart_token", "checkout_token", "sku", "type", "object",
    "status", "country_code", "province_code", "currency_code", "tracking_number",
    "order_name", "dedupe_key", "source",
})

DIGIT_RE = re.compile(r"\d")
EMAIL_TOKEN_RE = re.compile(r"email:[0-9a-f]{32}\Z")
EMAIL_RE = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
# A phone: optional +country, optional (area), then 2–6 digit groups split by space/dot/dash;
# or a bare E.164 number. It may not start inside a number, on an ISO date or on an
# amount; digit counts are checked after matching.
PHONE_RE = re.compile(
    r"(?<![\w/+.\-])(?!\d{4}-\d{2}-\d{2}(?!\d)|\d+\.\d{1,2}(?!\d))"
    r"(?:\+\d{1,3}[\s.\-]?)?(?:\(\d{1,4}\)[\s.\-]?)?\d{2,6}(?:[\s.\-]\d{2,6}){1,4}"
    r"(?![\w/])|(?<![\w/])\+\d{7,15}(?!\w)"
)
# Digit runs that look like a phone by shape but are dates or amounts.
NOT_A_PHONE_RE = re.compile(
    r"^\d{4}-\d{2}-\d{2}$|^\d{1,2}[./\-]\d{1,2}[./\-]\d{2,4}$|^\d+\.\d{1,2}$"
)
CARD_RE = re.compile(r"(?<![\w/.])\d(?:[ \-]?\d){12,18}(?![\w/])")
IBAN_RE = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b")
ACCOUNT_RE = re.compile(
    r"(?i)\b(account|acct|routing|sort code|bsb|iban)(\s*(?:no\.?|number|#)?\s*[:#]?\s*)"
    r"(\d[\d \-]{4,}\d)"
)
# A capitalised name after a cue that introduces a person ("Customer Ada Lovelace",
# "Dear Ada", "Mrs Babbage"). Names without such a cue or a structured field are not
# recognised: that needs a named-entity model, which this module does not use.
CUED_NAME_RE = re.compile(
    r"\b((?:Mr|Mrs|Ms|Miss|Mx|Dr|Dear|Customer|customer|Hi|Hello|Regards|Thanks|Cheers)\.?,?\s+"
    r"|(?:name is|named|signed)\s+)"
    r"([A-Z][a-z'\-]+(?:\s+[A-Z][a-z'\-]+){0,2})"
)
STREET_RE = re.compile(
    r"\b\d{1,5}[A-Za-z]?\s+(?:[A-Z][\w'.\-]*\s+){1,4}"
    r"(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Way|Place|Pl"
    r"|Terrace|Close|Crescent|Square|Sq|Parkway|Pkwy|Highway|Hwy)\b\.?"
)


def luhn_valid(digits: str) -> bool:
    """The card-number checksum; filters out order numbers that merely look long."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def iban_valid(text: str) -> bool:
    compact = text.replace(" ", "")
    rearranged = compact[4:] + compact[:4]
    numeric = "".join(str(int(char, 36)) for char in rearranged)
    return len(compact) >= 15 and int(numeric) % 97 == 1


class Redactor:
    """Redacts payloads and text with a secret key for the e-mail hashes.

    The key keeps the hashes from being reversed by hashing a list of known
    addresses; the same key must be used everywhere that links customers.
    """

    def __init__(self, key: str | bytes) -> None:
        self._key = key.encode() if isinstance(key, str) else key
        if not self._key:
            raise ValueError("the redaction key is empty; set the PII hash key")

    # ---------------------------------------------------------------- single values

    def email_token(self, email: str) -> str:
        """A stable keyed hash of an e-mail address (case and spaces ignored)."""
        normalised = email.strip().lower().encode()
        return "email:" + hmac.new(self._key, normalised, hashlib.sha256).hexdigest()[:32]

    def redact_text(self, text: str, known: Mapping[str, str] | None = None) -> str:
        """Scrub free text: e-mail addresses, `known` personal values (value → label), patterns."""
        # E-mail addresses first: a known name inside one ("ada.lovelace@…") must not
        # break the address before it is hashed.
        if "@" in text:
            text = EMAIL_RE.sub(lambda m: self.email_token(m.group(0)), text)
        for value in sorted(known or {}, key=len, reverse=True):
            label = (known or {})[value]
            text = re.sub(rf"(?<!\w){re.escape(value)}(?!\w)", label, text, flags=re.IGNORECASE)
        # Every remaining pattern needs a digit; most product titles and labels have none.
        if DIGIT_RE.search(text):
            text = IBAN_RE.sub(lambda m: BANK if iban_valid(m.group(0)) else m.group(0), text)
            text = ACCOUNT_RE.sub(lambda m: m.group(1) + m.group(2) + BANK, text)
            text = CARD_RE.sub(_card_or_keep, text)
            text = STREET_RE.sub(ADDRESS, text)
            text = PHONE_RE.sub(_phone_or_keep, text)
        return CUED_NAME_RE.sub(lambda m: m.group(1) + NAME, text)

    # ---------------------------------------------------------------- payloads

    def redact_payload(self, payload: Any) -> Any:
        """A redacted deep copy of a JSON-like payload (dicts, lists, scalars); input untouched."""
        known: dict[str, str] = {}
        structured = self._structured(payload, known, in_person=False)
        # Names are scrubbed by whole value and by their words, so "Ada" and "Lovelace"
        # are caught in "Dear Ada Lovelace" and in "Ada called".
        for value, label in list(known.items()):
            if label == NAME:
                for word in re.split(r"[\s,]+", value):
                    if len(word) >= 3:
                        known.setdefault(word, NAME)
        return self._free_text(structured, known)

    def _structured(self, node: Any, known: dict[str, str], *, in_person: bool) -> Any:
        if isinstance(node, list):
            return [self._structured(item, known, in_person=in_person) for item in node]
        if not isinstance(node, dict):
            return node
        result: dict[str, Any] = {}
        for key, value in node.items():
            lowered = key.lower() if isinstance(key, str) else str(key).lower()
            if isinstance(value, dict | list):
                if lowered not in DROPPED_KEYS:
                    child_in_person = in_person or lowered in PERSON_CONTEXTS
                    result[key] = self._structured(value, known, in_person=child_in_person)
                continue
            replacement = self._replace_field(lowered, value, in_person, known)
            if replacement is not _DROP:
                result[key] = value if replacement is _KEEP else replacement
        return result

    def _replace_field(
        self, key: str, value: Any, in_person: bool, known: dict[str, str]
    ) -> Any:
        if key in DROPPED_KEYS:
            return _DROP
        label = FIELD_LABELS.get(key)
        if label is None:
            if "email" in key:
                label = _EMAIL
            elif "phone" in key:
                label = PHONE
            elif in_person and key in ("name", "company"):
                label = NAME if key == "name" else COMPANY
            else:
                return _KEEP
        if not isinstance(value, str | int | float) or isinstance(value, bool) or value == "":
            return _KEEP
        text = str(value)
        if label is _EMAIL:
            return self.email_token(text) if "@" in text else _KEEP
        if label in REMEMBERED_LABELS:
            known[text] = label
        return label

    def _free_text(self, node: Any, known: dict[str, str], key: str = "") -> Any:
        if isinstance(node, dict):
            return {k: self._free_text(v, known, k.lower() if isinstance(k, str) else str(k))
                    for k, v in node.items()}
        if isinstance(node, list):
            return [self._free_text(item, known, key) for item in node]
        if isinstance(node, str) and not _is_identifier_key(key) and not EMAIL_TOKEN_RE.match(node):
            # Known values only in prose: a customer called Rose must not rename the
            # product "Rose Gold Necklace" in `line_items[].title`.
            return self.redact_text(node, known if key in FREE_TEXT_KEYS else None)
        return node


class _Marker:
    pass


_KEEP: Any = _Marker()
_DROP: Any = _Marker()


@functools.lru_cache(maxsize=4096)
def _is_identifier_key(key: str) -> bool:
    return key in IDENTIFIER_KEYS or key.endswith(("_id", "_gid", "_at"))


def _card_or_keep(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    return CARD if 13 <= len(digits) <= 19 and luhn_valid(digits) else match.group(0)


def _phone_or_keep(match: re.Match[str]) -> str:
    text = match.group(0)
    # The pattern is greedy and may run on into a following number ("+44 20 7946 0958 59.99"):
    # drop trailing space-separated parts until what is left has a phone's length.
    pieces = re.split(r"(\s)", text)
    while pieces:
        candidate = "".join(pieces)
        digits = re.sub(r"\D", "", candidate)
        if 7 <= len(digits) <= 15:
            if NOT_A_PHONE_RE.match(candidate):
                return text
            return PHONE + text[len(candidate):]
        if len(digits) < 7:
            return text
        pieces = pieces[:-2]
    return text


class RedactingFilter(logging.Filter):
    """A logging filter that redacts each record's message and traceback in place.

    Attach it to handlers (`handler.addFilter(RedactingFilter(redactor))`):
    filters on a logger do not see records propagated from child loggers.
    """

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self._redactor = redactor
        self._formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self._redactor.redact_text(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._redactor.redact_text(record.exc_text)
        if record.stack_info:
            record.stack_info = self._redactor.redact_text(record.stack_info)
        return True
