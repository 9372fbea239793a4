"""The printable letter of authorisation (授权书, S9): HTML with a QR code (segno).

The letter shows who may visit (name, badge, team, photo fingerprint), for which lender
and case reference (no personal data), when, and how the borrower checks it: the official
hotline, the short code, and a QR code that opens the verification page (or holds the badge
and the code when no page is configured). The signed payload and its signature are printed
too, so anyone with the lender's public key can check the letter without fairdue.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import segno


@dataclass(frozen=True)
class Letter:
    lender: str
    agent_name: str
    badge: str
    team: str
    photo_sha256: str | None
    case_ref: str
    valid_from: datetime
    valid_to: datetime
    zone: ZoneInfo
    code: str
    credential_id: str
    payload: str
    signature_hex: str
    public_key_hex: str
    verify_hotline: str
    verify_url: str | None


def qr_content(letter: Letter) -> str:
    """What the QR code holds: the verification page with badge and code filled in."""
    query = urlencode({"badge": letter.badge, "code": letter.code})
    if letter.verify_url:
        joiner = "&" if "?" in letter.verify_url else "?"
        return f"{letter.verify_url}{joiner}{query}"
    return f"fairdue-verify:{query}"


def render_letter(letter: Letter) -> str:
    """The letter as one self-contained HTML page (the QR code inline as SVG)."""
    qr = segno.make(qr_content(letter), error="m")
    svg = qr.svg_inline(scale=4)
    start, end = letter.valid_from.astimezone(letter.zone), letter.valid_to.astimezone(letter.zone)
    e = html.escape
    rows = [
        ("Lender / 出借机构", letter.lender),
        ("Collector / 催收人员", letter.agent_name),
        ("Badge (work ID) / 工作证号", letter.badge),
        ("Team / 团队", letter.team),
        ("Photo fingerprint / 照片指纹", letter.photo_sha256 or "-"),
        ("Case reference / 案件编号", letter.case_ref),
        ("Valid / 有效期", f"{start:%Y-%m-%d %H:%M} - {end:%Y-%m-%d %H:%M} ({letter.zone.key})"),
        ("Verification code / 核验码", letter.code),
    ]
    table = "\n".join(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in rows)
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{e(letter.credential_id)}</title>
<style>body{{font-family:sans-serif;max-width:40em;margin:2em auto}}th{{text-align:left;padding-right:1em}}
pre{{white-space:pre-wrap;word-break:break-all;font-size:.7em}}</style></head><body>
<h1>Letter of authorisation / 授权书</h1>
<p>{e(letter.lender)} authorises the person below to visit you about your loan, at the agreed
time only. 本机构授权以下人员在约定时间内上门沟通还款事宜。</p>
<table>
{table}
</table>
<h2>Check before you talk or pay / 核实身份</h2>
<p>Call the official hotline {e(letter.verify_hotline)}, or scan the code, and enter the badge
number and the verification code. If it does not say "verified", do not pay anyone.
请拨打官方热线 {e(letter.verify_hotline)} 或扫码，输入工作证号和核验码核实；未核实通过请勿付款。</p>
<div>{svg}</div>
<h2>Signature / 数字签名 (Ed25519)</h2>
<pre>payload: {e(letter.payload)}
signature: {e(letter.signature_hex)}
public key: {e(letter.public_key_hex)}</pre>
</body></html>
"""


def write_letter(letter: Letter, path: str | Path) -> Path:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render_letter(letter), encoding="utf-8")
    return target
