"""One root for every error fairdue raises on purpose.

Each message says what was wrong, where, and what to do, because the person reading it
is an operator at a terminal or a borrower at a phone, not the developer.
"""

from __future__ import annotations


class FairdueError(Exception):
    """Root of every error raised on purpose by fairdue."""


class InvalidInput(FairdueError):
    """A value given to fairdue is malformed or out of range."""


class MoneyError(InvalidInput):
    """An amount is not exact, has the wrong currency, or mixes currencies."""


class LedgerError(FairdueError):
    """A payment or schedule cannot be applied to a loan as given."""


class PaymentRejected(LedgerError):
    """A payment was refused: unknown loan, non-positive amount, or a conflicting duplicate."""


class InvalidTransition(FairdueError):
    """A state machine was asked for a transition its current state does not allow."""


class DatabaseBehind(FairdueError):
    """The database schema is older than this version of fairdue expects."""


class NotFound(FairdueError):
    """A named record does not exist."""


class ConfigurationError(FairdueError):
    """A setting is missing or wrong."""


class CryptoError(FairdueError):
    """Encrypted data cannot be read with the key in use."""
