"""Importing borrowers: checked, personal data sealed per borrower, written in batches.

Rows are checked column-wise first (`columns`): a row whose every field matches a strict
pattern is built straight from its text, which is what the per-row validators would return
for it. Any other row goes through the per-row validators (`_checked`), which accept it or
say why not, so the messages and the rules stay in `services/validation.py`.

Personal data (name, id number, phones, emails, address, coordinates, push token) is
sealed with AES-GCM bound to the borrower id, and the first phone gets a blind index.
"""

from __future__ import annotations

import hashlib
from contextlib import closing
from datetime import date
from json.encoder import encode_basestring  # what the PII encoder does with a str
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import insert, update

from fairdue.adapters.crypto import KeyRing
from fairdue.adapters.db.bulk import bulk_insert, select_in
from fairdue.adapters.db.tables import borrowers, fairness_attributes
from fairdue.bootstrap import App
from fairdue.services import validation as v
from fairdue.services.importer import columns as col
from fairdue.services.importer.prepare import Prefetch, can_fork
from fairdue.services.importer.report import ImportReport, Progress, file_digest
from fairdue.services.importer.writer import bulk_load
from fairdue.services.sharding import shard_of
from fairdue.services.tabular import read_source

BORROWER_COLUMNS = (
    "borrower_id", "name", "id_number", "phone", "email", "address", "city", "latitude",
    "longitude", "timezone", "language", "push_token",
)
FAIRNESS_COLUMNS = ("gender", "birth_date", "occupation", "ethnicity")
ALL_COLUMNS = (*BORROWER_COLUMNS, *FAIRNESS_COLUMNS)
BATCH = 5000
# Check and seal batches in a forked worker on the second core; off for the reason given at
# `loans.PARALLEL`.
PARALLEL = False
_BORROWER_OUT = ("borrower_id", "pii", "phone_index", "city", "timezone", "language", "has_email",
                 "has_app", "shard", "row_hash")

_LATITUDE = r"^$|^-?([0-8]?[0-9](\.[0-9]{1,10})?|90(\.0{1,10})?)$"
_LONGITUDE = r"^$|^-?((1[0-7][0-9]|[0-9]?[0-9])(\.[0-9]{1,10})?|180(\.0{1,10})?)$"
_PATTERNS = {
    "borrower_id": col.ID,
    "name": col.text_pattern(100),
    "id_number": col.text_pattern(32),
    "phone": r"^1[0-9]{10}$",
    "email": r"^$|^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$",
    "address": col.text_pattern(300),
    "city": col.text_pattern(64),
    "latitude": _LATITUDE,
    "longitude": _LONGITUDE,
    "language": r"^(|zh-CN|en)$",
    "push_token": r"^[!-~]*$",
    "gender": col.text_pattern(16, required=False),
    "occupation": col.text_pattern(200, required=False),
    "ethnicity": col.text_pattern(200, required=False),
}


def import_borrowers(app: App, path: Path, report: ImportReport, progress: Progress,
                     actor: str) -> None:
    source = read_source(path, BORROWER_COLUMNS, FAIRNESS_COLUMNS)
    name = source.name
    report.count(name)   # listed in the report even when the file has no rows
    report.malformed(name, source.malformed)
    digest = file_digest(path)
    seen: dict[str, int] = {}
    total = source.rows
    done = 0
    starts = [(start,) for start in range(0, total, BATCH)]
    parallel = PARALLEL and len(starts) > 2 and can_fork()
    prefetch = Prefetch(_checked_chunk, (source.table, app.keys), starts, parallel=parallel)
    with closing(iter(prefetch)) as results:
        for start, checked in zip(starts, results, strict=True):
            _take(app, checked, seen, report, name, digest, actor)
            done += min(BATCH, total - start[0])
            progress(name, done, total)
    progress(name, total, total)


def _take(app: App, checked: list[tuple[int, dict[str, Any] | None, str | None]],
          seen: dict[str, int], report: ImportReport, name: str, digest: str, actor: str) -> None:
    """Report a checked batch's bad and repeated rows, and save the others."""
    counts = report.count(name)
    batch: list[dict[str, Any]] = []
    for line, record, error in checked:
        counts.read += 1
        if record is None:
            report.reject(name, line, str(error))
            continue
        first = seen.get(record["borrower_id"])
        if first is not None:
            report.reject(name, line, f"borrower_id {record['borrower_id']} repeats line {first}")
            continue
        seen[record["borrower_id"]] = line
        batch.append(record)
    if batch:
        _save(app, batch, report, name, digest, actor)


def _checked_chunk(state: tuple[pa.Table, KeyRing], start: int
                   ) -> list[tuple[int, dict[str, Any] | None, str | None]]:
    """(line, record, None) or (line, None, why not) per row of one batch, the record with its
    personal data sealed and its phone's blind index: the work that needs no database, done
    ahead in a worker process (`prepare.Prefetch`). A sealed record of a borrower that turns
    out to be stored unchanged is dropped unused."""
    table, keys = state
    chunk = table.slice(start, BATCH)
    fast = _fast_mask(chunk).to_pylist()
    values = [chunk.column(c).to_pylist() for c in (*ALL_COLUMNS, "__line")]
    cipher, blind = keys.cipher, keys.blind_index
    out: list[tuple[int, dict[str, Any] | None, str | None]] = []
    for ok, fingerprint, row in zip(fast, _row_hashes(chunk), zip(*values, strict=True), strict=True):
        line = int(row[-1])
        try:
            record = _built(row) if ok else _checked(row)
        except v.RowError as exc:
            out.append((line, None, str(exc)))
            continue
        bid = record["borrower_id"]
        record["row_hash"] = fingerprint
        record["sealed"] = (cipher.seal_json(record.pop("pii_json"), aad=bid) if ok
                            else cipher.seal(record.pop("pii"), aad=bid))
        record["phone_index"] = blind(record.pop("phone"))
        record["shard"] = shard_of(bid)
        out.append((line, record, None))
    return out


def _row_hashes(chunk: pa.Table) -> list[str]:
    """`report.row_hash` of every row's fields as written, joined column-wise."""
    joined = pc.binary_join_element_wise(*(chunk.column(c) for c in ALL_COLUMNS), "\x1f")
    sha256 = hashlib.sha256
    return [sha256(text.encode()).hexdigest() for text in joined.to_pylist()]


def _fast_mask(chunk: pa.Table) -> pa.Array:
    masks = [col.matches(chunk.column(c), pattern) for c, pattern in _PATTERNS.items()]
    zones = chunk.column("timezone")
    known = [z for z in pc.unique(zones).to_pylist() if z == "" or (z.strip() == z and _zone_ok(z))]
    masks.append(pc.is_in(zones, value_set=pa.array(known, pa.string())))
    birth = chunk.column("birth_date")
    birth_ok, _ = col.day(birth)
    masks.append(pc.or_(pc.equal(birth, ""), birth_ok))
    return col.all_of(masks)


def _zone_ok(zone: str) -> bool:
    try:
        v.timezone(zone)
    except v.RowError:
        return False
    return True


def _built(row: tuple[str, ...]) -> dict[str, Any]:
    """A row every field of which matched its strict pattern: no check can fail.

    Its personal data is written as JSON text here, key for key what the general encoder
    would write for the `pii` document `_checked` builds (`PiiCipher.seal` of that document
    and `seal_json` of this text open to equal documents); the encoder's generic walk over
    nested dicts and lists was the largest cost of sealing a borrower.
    """
    (borrower_id, name, id_number, phone, email, address, city, lat, lon, zone, lang,
     push_token, gender, birth_date, occupation, ethnicity, _line) = row
    zone = zone or "Asia/Shanghai"
    q = encode_basestring
    pii_json = (
        f'{{"name":{q(name)},"id_number":{q(id_number)},"phones":[{q(phone)}],'
        f'"emails":[{q(email) if email else ""}],"addresses":[{{"line":{q(address)},'
        f'"city":{q(city)},"latitude":{q(lat) if lat else "null"},'
        f'"longitude":{q(lon) if lon else "null"},"timezone":{q(zone)}}}],'
        f'"push_token":{q(push_token) if push_token else "null"}}}'
    )
    return {
        "borrower_id": borrower_id, "pii_json": pii_json, "phone": phone, "city": city,
        "timezone": zone, "language": lang or "zh-CN", "has_email": bool(email),
        "has_app": bool(push_token),
        "fairness": {"gender": gender or None, "birth_date": birth_date or None,
                     "occupation": occupation or None, "ethnicity": ethnicity or None},
    }


def _checked(row: tuple[str, ...]) -> dict[str, Any]:
    """Any other row, field by field through the validators, which say what is wrong."""
    (borrower_id, name, id_number, phone, email, address, city, lat, lon, zone, lang,
     push_token, gender, birth_date, occupation, ethnicity, _line) = row
    borrower_id = v.identifier(borrower_id, "borrower_id")
    phones = [v.phone(p, "phone") for p in phone.replace(";", "|").split("|") if p.strip()]
    if not phones:
        raise v.RowError("phone is empty")
    emails = [e for e in (v.email(x) for x in email.replace(";", "|").split("|")) if e]
    pii: dict[str, Any] = {
        "name": v.text(name, "name", max_len=100),
        "id_number": v.text(id_number, "id_number", max_len=32),
        "phones": phones,
        "emails": emails,
        "addresses": [{
            "line": v.text(address, "address", max_len=300),
            "city": v.text(city, "city", max_len=64),
            "latitude": v.coordinate(lat, "latitude", limit=90),
            "longitude": v.coordinate(lon, "longitude", limit=180),
            "timezone": v.timezone(zone),
        }],
        "push_token": push_token.strip() or None,
    }
    fairness = {
        "gender": gender.strip() or None,
        "birth_date": v.day(birth_date, "birth_date").isoformat() if birth_date.strip() else None,
        "occupation": occupation.strip() or None,
        "ethnicity": ethnicity.strip() or None,
    }
    return {
        "borrower_id": borrower_id, "pii": pii, "city": pii["addresses"][0]["city"],
        "timezone": v.timezone(zone), "language": v.language(lang),
        "has_email": bool(emails), "has_app": bool(pii["push_token"]),
        "fairness": fairness, "phone": phones[0],
    }


def _save(app: App, batch: list[dict[str, Any]], report: ImportReport, file: str,
          digest: str, actor: str) -> None:
    counts = report.count(file)
    with app.uow(actor) as uow:
        conn = uow.connection
        bulk_load(conn)
        existing: dict[str, str] = dict(select_in(
            conn, borrowers, "borrower_id", ["row_hash"], [r["borrower_id"] for r in batch]))
        sqlite = conn.dialect.name == "sqlite"
        new_rows: list[tuple[Any, ...]] = []
        new_fair: list[tuple[Any, ...]] = []
        changed = []
        for r in batch:
            bid = r["borrower_id"]
            if existing.get(bid) == r["row_hash"]:
                counts.unchanged += 1
                continue
            values = (r["sealed"], r["phone_index"], r["city"], r["timezone"], r["language"],
                      int(r["has_email"]) if sqlite else r["has_email"],
                      int(r["has_app"]) if sqlite else r["has_app"], r["shard"], r["row_hash"])
            fair = r["fairness"]
            if bid in existing:
                changed.append((bid, dict(zip(_BORROWER_OUT[1:], values, strict=True)), fair))
            else:
                new_rows.append((bid, *values))
                if any(value is not None for value in fair.values()):
                    new_fair.append((bid, *fair.values()))
        bulk_insert(conn, borrowers, _BORROWER_OUT, new_rows, ready=sqlite)
        counts.added += len(new_rows)
        bulk_insert(conn, fairness_attributes, ("borrower_id", *FAIRNESS_COLUMNS), new_fair)
        for bid, new_values, fair in changed:
            conn.execute(update(borrowers).where(borrowers.c.borrower_id == bid).values(new_values))
            conn.execute(fairness_attributes.delete().where(fairness_attributes.c.borrower_id == bid))
            conn.execute(insert(fairness_attributes).values(
                borrower_id=bid, **{**fair, "birth_date": _date_or_none(fair["birth_date"])}))
            uow.audit("BorrowerUpdated", bid, {"source": file, "file_sha256": digest})
            counts.updated += 1
        if new_rows:
            uow.audit("BorrowersImported", file, {
                "file_sha256": digest, "borrower_ids": [r[0] for r in new_rows],
            })
        uow.commit()


def _date_or_none(text: str | None) -> object:
    return date.fromisoformat(text) if text else None
