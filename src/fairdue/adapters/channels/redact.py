"""Keep channel secrets (passwords, auth tokens, bearer tokens) out of logs and messages.

The same approach as `fairdue.adapters.db.engine.redact` for database URLs: the password
in the URL's user part and every secret-looking query parameter become `***`; a string
that is not a URL at all still has anything between `user:` and `@` hidden.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, urlsplit, urlunsplit

HIDDEN = "***"

# Query parameters that carry credentials in channel URLs.
SECRET_QUERY_KEYS = frozenset(
    {"password", "pass", "token", "auth_token", "access_token", "api_key", "key", "secret"}
)

_USERINFO_PASSWORD = re.compile(r"(://[^:/@?#]*:)[^@/?#]*@")


def redact_channel_url(url: str) -> str:
    """`url` with its password and secret query parameters replaced by `***`."""
    try:
        parts = urlsplit(url)
        _ = parts.port  # a malformed port raises here; fall back to the regex below
    except ValueError:
        return _USERINFO_PASSWORD.sub(rf"\1{HIDDEN}@", url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        user, colon, _password = userinfo.partition(":")
        netloc = f"{user}:{HIDDEN}@{hostport}" if colon else netloc
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = "&".join(
            f"{key}={HIDDEN if key.lower() in SECRET_QUERY_KEYS else value}" for key, value in pairs
        )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def scrub(text: str, secrets: Iterable[str]) -> str:
    """`text` with every occurrence of each non-empty secret replaced by `***`."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, HIDDEN)
    return text
