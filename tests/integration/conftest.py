"""Fixtures shared by the integration tests: the local SMTP server of channel_servers."""

from channel_servers import smtp_server

__all__ = ["smtp_server"]
