"""Keys for personal data: sealing PII at rest, blind indexes, and a signing key.

One JSON key file (mode 0600) holds three independent 256-bit secrets, base64-encoded:

- `pii`: AES-256-GCM key sealing each borrower's personal data as one document, so a copy
  of the database alone reveals nothing personal;
- `index`: HMAC-SHA256 key for blind indexes, so a borrower can be found by phone number
  without the number being stored in clear (a plain hash of an 11-digit phone number is
  reversed by brute force in minutes; a keyed one is not, without the key);
- `signing`: Ed25519 private key seed, for signing credentials handed to borrowers.

Separate keys keep each use independent: a leaked index key does not decrypt anything.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import os
import unicodedata
from functools import cached_property
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from fairdue.errors import ConfigurationError, CryptoError

KEY_FILE_FORMAT = 1
_KEY_NAMES = ("pii", "index", "signing")
_KEY_BYTES = 32

# Sealed blob layout: version (1 byte) | nonce (12 bytes) | ciphertext | GCM tag (16 bytes).
# The version byte lets a later format or key rotation coexist with blobs sealed today.
_SEAL_VERSION = 1
_VERSION_PREFIX = bytes([_SEAL_VERSION])
_NONCE_BYTES = 12
_TAG_BYTES = 16
_MIN_BLOB = 1 + _NONCE_BYTES + _TAG_BYTES
_WHITESPACE_TABLE = {ord(ch): None for ch in " \t\n\r\f\v\u00a0\u3000"}
# Built once: JSON, not AES, is most of the cost of a seal, and json.dumps with
# non-default options builds a new encoder on every call.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
_DECODER = json.JSONDecoder()


class PiiCipher:
    """Seals and opens JSON documents with AES-256-GCM under one key.

    One AESGCM object is kept and reused: building it per call would dominate the cost of
    sealing a million borrowers. Each seal draws a fresh random 96-bit nonce, safe for
    far more documents than a portfolio holds (NIST's bound is 2**32 per key).
    """

    __slots__ = ("_aead",)

    def __init__(self, key: bytes) -> None:
        if len(key) != _KEY_BYTES:
            raise CryptoError(f"the PII key must be {_KEY_BYTES} bytes, not {len(key)}")
        self._aead = AESGCM(key)

    def seal(self, document: dict[str, Any], *, aad: str) -> bytes:
        """Encrypt `document` as JSON, bound to `aad` (e.g. the borrower id).

        The associated data is authenticated but not stored: a blob copied onto another
        borrower's row will not open there.
        """
        return self.seal_json(_ENCODER.encode(document), aad=aad)

    def seal_json(self, text: str, *, aad: str) -> bytes:
        """`seal` of a document its caller has already written as JSON text.

        For bulk callers (the importer) that write a fixed shape of document faster than the
        general encoder; the blob is the same format, and `open` reads it like any other.
        """
        plaintext = text.encode()
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plaintext, _VERSION_PREFIX + aad.encode())
        return _VERSION_PREFIX + nonce + sealed

    def open(self, blob: bytes, *, aad: str) -> dict[str, Any]:
        """Decrypt a blob made by `seal` with the same `aad`; CryptoError if it cannot."""
        if len(blob) < _MIN_BLOB:
            raise CryptoError(
                f"cannot decrypt PII for {aad!r}: the stored value is {len(blob)} bytes, "
                "too short to be sealed data"
            )
        if blob[0] != _SEAL_VERSION:
            raise CryptoError(
                f"cannot decrypt PII for {aad!r}: unknown format version {blob[0]} "
                f"(this fairdue reads version {_SEAL_VERSION}); upgrade fairdue"
            )
        nonce = blob[1 : 1 + _NONCE_BYTES]
        try:
            plaintext = self._aead.decrypt(
                nonce, blob[1 + _NONCE_BYTES :], _VERSION_PREFIX + aad.encode()
            )
        except InvalidTag:
            raise CryptoError(
                f"cannot decrypt PII for {aad!r}: wrong key file? The data was sealed with "
                "another key, or was altered or moved to another record"
            ) from None
        document = _DECODER.decode(plaintext.decode())
        if not isinstance(document, dict):
            raise CryptoError(f"cannot decrypt PII for {aad!r}: sealed value is not a document")
        return document


class KeyRing:
    """The three keys of one key file, with the objects that use them built once."""

    def __init__(self, *, pii: bytes, index: bytes, signing: bytes, path: Path | None = None):
        for name, key in (("pii", pii), ("index", index), ("signing", signing)):
            if len(key) != _KEY_BYTES:
                raise CryptoError(f"the {name} key must be {_KEY_BYTES} bytes, not {len(key)}")
        self._pii_key = pii
        self._index_key = index
        self._signing_seed = signing
        self.path = path

    def __repr__(self) -> str:
        # Never print key material, even in a traceback.
        return f"KeyRing(path={str(self.path)!r})"

    @cached_property
    def cipher(self) -> PiiCipher:
        """The PII cipher (one per key ring, reused by every seal and open)."""
        return PiiCipher(self._pii_key)

    @cached_property
    def signing_key(self) -> Ed25519PrivateKey:
        """The Ed25519 key for signing credentials issued to borrowers."""
        return Ed25519PrivateKey.from_private_bytes(self._signing_seed)

    def blind_index(self, value: str) -> str:
        """Hex HMAC-SHA256 of `value` normalised, for equality lookups on encrypted data.

        Normalisation removes only incidental differences so that the same value typed
        twice finds the same row: Unicode compatibility forms (full-width digits from a
        Chinese input method), letter case and whitespace. Callers pass canonical values
        (E.164 phone numbers, upper-case id numbers); this is not a phone number parser.
        """
        return hmac.digest(self._index_key, normalise_for_index(value).encode(), "sha256").hex()


def normalise_for_index(value: str) -> str:
    """The form of `value` that `KeyRing.blind_index` hashes."""
    return unicodedata.normalize("NFKC", value).casefold().translate(_WHITESPACE_TABLE)


def create_key_file(path: str | Path) -> KeyRing:
    """Generate fresh keys into a new key file readable by its owner only.

    Refuses to overwrite: replacing a key file makes every sealed record unreadable.
    """
    target = Path(path).expanduser()
    keys = {name: os.urandom(_KEY_BYTES) for name in _KEY_NAMES}
    content = {
        "format": KEY_FILE_FORMAT,
        **{name: base64.b64encode(key).decode("ascii") for name, key in keys.items()},
    }
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        # O_EXCL: created here or not at all, even if two `fairdue init` race.
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise ConfigurationError(
            f"key file {target} already exists; refusing to overwrite it, because the data "
            "sealed with it would become unreadable. Use it, or move it away first"
        ) from None
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        os.fchmod(out.fileno(), 0o600)  # whatever the umask
        json.dump(content, out, indent=2)
        out.write("\n")
        out.flush()
        os.fsync(out.fileno())
    return KeyRing(pii=keys["pii"], index=keys["index"], signing=keys["signing"], path=target)


def load_key_file(path: str | Path) -> KeyRing:
    """Read a key file written by `create_key_file`; clear errors when it is missing or bad."""
    source = Path(path).expanduser()
    try:
        raw = source.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigurationError(
            f"key file {source} not found; create one with `fairdue init` (or point fairdue "
            "at the existing key file)"
        ) from None
    except OSError as exc:
        raise ConfigurationError(f"cannot read key file {source}: {exc.strerror}") from None
    try:
        content = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise CryptoError(
            f"key file {source} is not valid JSON ({exc.msg} at line {exc.lineno}); restore "
            "it from your backup (`fairdue init` creates a new one only for a new database)"
        ) from None
    if not isinstance(content, dict):
        raise CryptoError(f"key file {source} is not a fairdue key file (expected an object)")
    if content.get("format") != KEY_FILE_FORMAT:
        raise CryptoError(
            f"key file {source} has format {content.get('format')!r}; this fairdue reads "
            f"format {KEY_FILE_FORMAT}"
        )
    keys = {name: _decode_key(source, content, name) for name in _KEY_NAMES}
    return KeyRing(pii=keys["pii"], index=keys["index"], signing=keys["signing"], path=source)


def _decode_key(source: Path, content: dict[str, Any], name: str) -> bytes:
    value = content.get(name)
    if not isinstance(value, str):
        raise CryptoError(f"key file {source} has no {name!r} key; restore it from your backup")
    try:
        key = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise CryptoError(f"key file {source}: the {name!r} key is not valid base64") from None
    if len(key) != _KEY_BYTES:
        raise CryptoError(
            f"key file {source}: the {name!r} key is {len(key)} bytes, expected {_KEY_BYTES}"
        )
    return key

