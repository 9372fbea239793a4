"""A borrower row taken the quick way seals the same personal data document, byte for byte,
as the general encoder writes for the document the per-row validators build."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from fairdue.adapters.crypto import PiiCipher
from fairdue.services.importer.borrowers import _built, _checked

_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
# Text the validators keep as written: no blank or control character at either end.
_INNER = st.characters(blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp"))
TEXT = st.text(_INNER, min_size=1, max_size=30)


@settings(max_examples=200, deadline=None)
@given(name=TEXT, id_number=st.text(_INNER, min_size=1, max_size=32), address=TEXT, city=TEXT,
       phone=st.from_regex(r"1[0-9]{10}", fullmatch=True),
       email=st.sampled_from(["", "a.b+c@example.com", "x@y.cn"]),
       coordinates=st.sampled_from([("", ""), ("39.9", "116.4"), ("-0.5", "-179.25")]),
       zone=st.sampled_from(["", "Asia/Shanghai", "Asia/Urumqi"]),
       push_token=st.sampled_from(["", "tok-abc", 'quote"and\\backslash']))
def test_the_quick_way_writes_the_document_the_encoder_writes(
    name: str, id_number: str, address: str, city: str, phone: str, email: str,
    coordinates: tuple[str, str], zone: str, push_token: str,
) -> None:
    row = ("B1", name, id_number, phone, email, address, city, *coordinates, zone, "zh-CN",
           push_token, "", "", "", "", 2)
    quick, checked = _built(row), _checked(row)
    assert quick["pii_json"] == _ENCODER.encode(checked["pii"])
    cipher = PiiCipher(bytes(32))
    assert cipher.open(cipher.seal_json(quick["pii_json"], aad="B1"), aad="B1") == checked["pii"]
    assert quick["phone"] == checked["phone"]
