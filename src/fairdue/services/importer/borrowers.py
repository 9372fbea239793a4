"""Importing borrowers: checked, personal data sealed per borrower, written in batches.

Rows are checked column-wise first (`columns`): a row whose every field matches a strict
pattern is built straight from its text, which is what the per-row validators would return
for it. Any other row goes through the per-row validators (`_checked`), which accept it or
say why not, so the messages and the rules stay in `services/validation.py`.

Personal data (name, id number, phones, emails, address, coordinates, push token) is
sealed with AES-GCM bound to the borrower id, and the first phone gets a blind index.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import insert, select, update

from fairdue.adapters.db.bulk import insert_dicts
from fairdue.adapters.db.tables import borrowers, fairness_attributes
from fairdue.bootstrap import App
from fairdue.services import validation as v
from fairdue.services.importer import columns as col
from fairdue.services.importer.report import ImportReport, Progress, file_digest, row_hash
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
    counts = report.count(name)
    report.malformed(name, source.malformed)
    digest = file_digest(path)
    seen: dict[str, int] = {}
    total = source.rows
    done = 0
    for start in range(0, total, BATCH):
        chunk = source.table.slice(start, BATCH)
        fast = _fast_mask(chunk).to_pylist()
        values = [chunk.column(c).to_pylist() for c in (*ALL_COLUMNS, "__line")]
        batch: list[dict[str, Any]] = []
        for ok, row in zip(fast, zip(*values, strict=True), strict=True):
            counts.read += 1
            line = int(row[-1])
            try:
                record = _built(row) if ok else _checked(row)
            except v.RowError as exc:
                report.reject(name, line, str(exc))
                continue
            first = seen.get(record["borrower_id"])
            if first is not None:
                report.reject(name, line, f"borrower_id {record['borrower_id']} repeats line {first}")
                continue
            seen[record["borrower_id"]] = line
            batch.append(record)
        if batch:
            _save(app, batch, report, name, digest, actor)
        done += len(chunk)
        progress(name, done, total)
    progress(name, total, total)


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
    """A row every field of which matched its strict pattern: no check can fail."""
    (borrower_id, name, id_number, phone, email, address, city, lat, lon, zone, lang,
     push_token, gender, birth_date, occupation, ethnicity, _line) = row
    zone = zone or "Asia/Shanghai"
    pii = {
        "name": name, "id_number": id_number, "phones": [phone],
        "emails": [email] if email else [],
        "addresses": [{"line": address, "city": city, "latitude": lat or None,
                       "longitude": lon or None, "timezone": zone}],
        "push_token": push_token or None,
    }
    return {
        "borrower_id": borrower_id, "pii": pii, "city": city, "timezone": zone,
        "language": lang or "zh-CN", "has_email": bool(email), "has_app": bool(push_token),
        "fairness": {"gender": gender or None, "birth_date": birth_date or None,
                     "occupation": occupation or None, "ethnicity": ethnicity or None},
        "row_hash": row_hash(*row[:-1]),
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
        "fairness": fairness, "row_hash": row_hash(*row[:-1]),
    }


def _save(app: App, batch: list[dict[str, Any]], report: ImportReport, file: str,
          digest: str, actor: str) -> None:
    counts = report.count(file)
    seal = app.keys.cipher.seal
    blind = app.keys.blind_index
    with app.uow(actor) as uow:
        conn = uow.connection
        bulk_load(conn)
        ids = [r["borrower_id"] for r in batch]
        existing: dict[str, str] = {}
        for start in range(0, len(ids), 900):
            existing.update(conn.execute(
                select(borrowers.c.borrower_id, borrowers.c.row_hash)
                .where(borrowers.c.borrower_id.in_(ids[start:start + 900]))
            ).all())
        sqlite = conn.dialect.name == "sqlite"
        new_rows, new_fair, changed = [], [], []
        for r in batch:
            bid = r["borrower_id"]
            if existing.get(bid) == r["row_hash"]:
                counts.unchanged += 1
                continue
            values = {
                "pii": seal(r["pii"], aad=bid), "phone_index": blind(r["pii"]["phones"][0]),
                "city": r["city"], "timezone": r["timezone"], "language": r["language"],
                "has_email": int(r["has_email"]) if sqlite else r["has_email"],
                "has_app": int(r["has_app"]) if sqlite else r["has_app"],
                "shard": shard_of(bid), "row_hash": r["row_hash"],
            }
            fair = r["fairness"]
            if bid in existing:
                changed.append((bid, values, fair))
            else:
                new_rows.append({"borrower_id": bid, **values})
                if any(value is not None for value in fair.values()):
                    new_fair.append({"borrower_id": bid, **fair})
        insert_dicts(conn, borrowers, new_rows)
        counts.added += len(new_rows)
        insert_dicts(conn, fairness_attributes, new_fair)
        for bid, values, fair in changed:
            conn.execute(update(borrowers).where(borrowers.c.borrower_id == bid).values(values))
            conn.execute(fairness_attributes.delete().where(fairness_attributes.c.borrower_id == bid))
            conn.execute(insert(fairness_attributes).values(
                borrower_id=bid, **{**fair, "birth_date": _date_or_none(fair["birth_date"])}))
            uow.audit("BorrowerUpdated", bid, {"source": file, "file_sha256": digest})
            counts.updated += 1
        if new_rows:
            uow.audit("BorrowersImported", file, {
                "file_sha256": digest, "borrower_ids": [r["borrower_id"] for r in new_rows],
            })
        uow.commit()


def _date_or_none(text: str | None) -> object:
    return date.fromisoformat(text) if text else None
