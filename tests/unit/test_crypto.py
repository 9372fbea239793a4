"""The key file and the PII cipher: round trips, refusals, and errors that say what to do."""

from __future__ import annotations

import base64
import json
import stat
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from fairdue.adapters.crypto import KeyRing, PiiCipher, create_key_file, load_key_file
from fairdue.errors import ConfigurationError, CryptoError

DOCUMENT = {
    "name": "张三丰",
    "id_number": "110101199003071234",
    "phones": ["+8613812341234"],
    "address": "北京市朝阳区建国路88号",
    "coordinates": [39.9, 116.4],
    "email": None,
}


@pytest.fixture
def key_path(tmp_path: Path) -> Path:
    return tmp_path / "secrets" / "fairdue.key"


@pytest.fixture
def keys(key_path: Path) -> KeyRing:
    return create_key_file(key_path)


def test_a_created_key_file_is_private_and_loads_back_to_the_same_keys(
    keys: KeyRing, key_path: Path
) -> None:
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    content = json.loads(key_path.read_text())
    assert set(content) == {"format", "pii", "index", "signing"}
    assert all(len(base64.b64decode(content[k])) == 32 for k in ("pii", "index", "signing"))

    loaded = load_key_file(key_path)

    assert loaded.blind_index("13812341234") == keys.blind_index("13812341234")
    assert loaded.cipher.open(keys.cipher.seal(DOCUMENT, aad="B1"), aad="B1") == DOCUMENT


def test_create_refuses_to_overwrite(keys: KeyRing, key_path: Path) -> None:
    before = key_path.read_bytes()

    with pytest.raises(ConfigurationError, match="already exists; refusing to overwrite"):
        create_key_file(key_path)

    assert key_path.read_bytes() == before


def test_a_missing_key_file_says_how_to_create_one(tmp_path: Path) -> None:
    missing = tmp_path / "nope.key"

    with pytest.raises(ConfigurationError) as caught:
        load_key_file(missing)

    assert str(missing) in str(caught.value)
    assert "fairdue init" in str(caught.value)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{not json", "is not valid JSON"),
        ("[]", "not a fairdue key file"),
        ('{"format": 2}', "has format 2"),
        ('{"format": 1, "pii": "AAAA"}', "'pii' key is 3 bytes, expected 32"),
        ('{"format": 1, "pii": "***"}', "'pii' key is not valid base64"),
    ],
)
def test_a_malformed_key_file_is_named_in_the_error(
    tmp_path: Path, content: str, problem: str
) -> None:
    path = tmp_path / "bad.key"
    path.write_text(content)

    with pytest.raises(CryptoError, match=problem) as caught:
        load_key_file(path)

    assert str(path) in str(caught.value)


def test_a_key_file_missing_one_key(keys: KeyRing, key_path: Path) -> None:
    content = json.loads(key_path.read_text())
    del content["signing"]
    key_path.write_text(json.dumps(content))

    with pytest.raises(CryptoError, match="has no 'signing' key"):
        load_key_file(key_path)


def test_sealed_blob_layout(keys: KeyRing) -> None:
    plaintext = json.dumps(DOCUMENT, ensure_ascii=False, separators=(",", ":")).encode()

    blob = keys.cipher.seal(DOCUMENT, aad="B1")

    assert blob[0] == 1  # format version
    assert len(blob) == 1 + 12 + len(plaintext) + 16  # version, nonce, ciphertext, tag
    assert "张三丰".encode() not in blob


def test_every_seal_uses_a_fresh_nonce(keys: KeyRing) -> None:
    blobs = {keys.cipher.seal(DOCUMENT, aad="B1") for _ in range(100)}

    assert len(blobs) == 100
    assert len({blob[1:13] for blob in blobs}) == 100


def test_a_blob_does_not_open_for_another_record(keys: KeyRing) -> None:
    blob = keys.cipher.seal(DOCUMENT, aad="B1")

    with pytest.raises(CryptoError, match="wrong key file"):
        keys.cipher.open(blob, aad="B2")


def test_a_blob_does_not_open_with_another_key_file(keys: KeyRing, tmp_path: Path) -> None:
    other = create_key_file(tmp_path / "other.key")
    blob = keys.cipher.seal(DOCUMENT, aad="B1")

    with pytest.raises(CryptoError, match=r"cannot decrypt .* wrong key file\?"):
        other.cipher.open(blob, aad="B1")


@pytest.mark.parametrize(
    ("damage", "problem"),
    [
        (lambda b: b[:-1] + bytes([b[-1] ^ 1]), "wrong key file"),
        (lambda b: b[:20] + bytes([b[20] ^ 0x80]) + b[21:], "wrong key file"),
        (lambda b: bytes([2]) + b[1:], "unknown format version 2"),
        (lambda b: b[:28], "too short"),
    ],
)
def test_a_damaged_blob_is_refused(keys: KeyRing, damage: Any, problem: str) -> None:
    blob = keys.cipher.seal(DOCUMENT, aad="B1")

    with pytest.raises(CryptoError, match=problem):
        keys.cipher.open(damage(blob), aad="B1")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


@settings(max_examples=80, deadline=None)
@given(
    document=st.dictionaries(st.text(max_size=10), json_values, max_size=6),
    aad=st.text(max_size=40),
)
def test_any_json_document_round_trips(document: dict[str, Any], aad: str) -> None:
    cipher = PiiCipher(bytes(range(32)))

    assert cipher.open(cipher.seal(document, aad=aad), aad=aad) == document


def test_the_pii_key_must_be_256_bits() -> None:
    with pytest.raises(CryptoError, match="must be 32 bytes"):
        PiiCipher(b"short")


def test_blind_index_is_a_keyed_hex_digest_of_the_normalised_value(
    keys: KeyRing, tmp_path: Path
) -> None:
    other = create_key_file(tmp_path / "other.key")
    digest = keys.blind_index("+8613812341234")

    assert len(digest) == 64 and int(digest, 16) >= 0
    # Full-width digits (Chinese input methods), spaces and case do not matter.
    assert keys.blind_index("＋８６ 138 1234 1234") == digest
    assert keys.blind_index("Alice@Example.com") == keys.blind_index("alice@example.com")
    assert keys.blind_index("+8613812341235") != digest
    # Keyed: another key file gives another index, so the number cannot be looked up
    # by hashing every possible phone number.
    assert other.blind_index("+8613812341234") != digest


def test_the_signing_key_signs_and_is_stable_across_loads(keys: KeyRing, key_path: Path) -> None:
    signature = keys.signing_key.sign(b"credential")

    reloaded = load_key_file(key_path).signing_key

    assert isinstance(reloaded, Ed25519PrivateKey)
    reloaded.public_key().verify(signature, b"credential")  # raises if it does not match


def test_the_key_ring_never_shows_its_keys(keys: KeyRing, key_path: Path) -> None:
    content = json.loads(key_path.read_text())

    assert content["pii"] not in repr(keys)
    assert str(key_path) in repr(keys)
