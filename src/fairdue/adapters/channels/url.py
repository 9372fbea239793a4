"""Read a URL-style channel setting (`smtp://user:pass@host:587?starttls=1&from=...`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote, urlsplit

from fairdue.errors import ConfigurationError

from .redact import redact_channel_url

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


@dataclass(frozen=True)
class ChannelURL:
    """The parts of a channel URL, percent-decoded; `params` is the query string."""

    raw: str = field(repr=False)
    scheme: str
    host: str
    port: int | None
    username: str
    password: str = field(repr=False)
    path: str
    params: dict[str, str] = field(repr=False)

    @property
    def redacted(self) -> str:
        return redact_channel_url(self.raw)

    def __repr__(self) -> str:
        return f"ChannelURL({self.redacted!r})"

    def error(self, what: str) -> ConfigurationError:
        """A configuration error about this URL, naming it without its secrets."""
        return ConfigurationError(f"channel URL {self.redacted}: {what}")

    def flag(self, name: str, default: bool) -> bool:
        value = self.params.get(name)
        if value is None:
            return default
        if value.lower() in _TRUE:
            return True
        if value.lower() in _FALSE:
            return False
        raise self.error(f"?{name}= must be 1 or 0, not {value!r}")

    def number(self, name: str, default: float) -> float:
        value = self.params.get(name)
        if value is None:
            return default
        try:
            number = float(value)
        except ValueError:
            raise self.error(f"?{name}= must be a number, not {value!r}") from None
        if not number > 0:
            raise self.error(f"?{name}= must be above 0, not {value!r}")
        return number

    def require_host(self) -> str:
        if not self.host:
            raise self.error("names no host")
        return self.host


def parse_channel_url(url: str) -> ChannelURL:
    """Split `url`; a malformed one raises `ConfigurationError` without echoing secrets."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ConfigurationError(
            f"cannot read channel URL {redact_channel_url(url)}: {_safe_reason(exc)}"
        ) from None
    params: dict[str, str] = {}
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key in params:
            raise ConfigurationError(
                f"channel URL {redact_channel_url(url)} gives ?{key}= more than once; give it once"
            )
        params[key] = value
    return ChannelURL(
        raw=url,
        scheme=parts.scheme.lower(),
        host=parts.hostname or "",
        port=port,
        username=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        path=parts.path,
        params=params,
    )


def _safe_reason(exc: ValueError) -> str:
    # urllib's messages quote the offending port text, which may sit next to a password.
    return "the port is not a number" if "port" in str(exc).lower() else "malformed URL"
