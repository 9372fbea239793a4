"""Fixtures for the channel tests: the local SMTP and HTTP servers of channel_servers."""

from channel_servers import provider, smtp_server, tls_smtp_server

__all__ = ["provider", "smtp_server", "tls_smtp_server"]
