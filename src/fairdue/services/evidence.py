"""Evidence of a visit (S14): audio, photos, documents, kept by content.

A file is copied into the evidence folder under its SHA-256 (`ab/abcdef...`), read-only,
and its hash is written to the visit's evidence list and, through the `EvidenceAdded`
event, to the hash-chained audit log. `verify_evidence` re-hashes every file and checks
each listed hash against the audit log, so a file altered or removed on disk, or a list
entry changed in the database, is reported.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import insert, select

from fairdue.adapters.db.strategy_repo import as_utc
from fairdue.adapters.db.tables import audit_log
from fairdue.adapters.db.tables_visits import visit_evidence, visits
from fairdue.bootstrap import App
from fairdue.domain.visits import EvidenceAdded
from fairdue.errors import InvalidInput, NotFound

KINDS = ("audio", "photo", "video", "document")
_CHUNK = 1 << 20


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def stored_path(root: Path, sha256: str) -> Path:
    return root / sha256[:2] / sha256


def add_evidence(app: App, visit_id: str, source: str, *, kind: str, actor: str) -> str:
    """Keep `source` as evidence of the visit; returns its SHA-256. The same file twice is
    kept once."""
    if kind not in KINDS:
        raise InvalidInput(f"evidence kind {kind!r} is not one of {', '.join(KINDS)}")
    path = Path(source)
    if not path.is_file():
        raise InvalidInput(f"evidence file {source} does not exist")
    root = app.settings.resolved_evidence_dir()
    sha = _sha256(path)
    size = path.stat().st_size
    now = app.clock.now()
    with app.uow(actor) as uow:
        conn = uow.connection
        visit = conn.execute(select(visits.c.case_id, visits.c.status)
                             .where(visits.c.visit_id == visit_id)).first()
        if visit is None:
            raise NotFound(f"no visit {visit_id!r}")
        if visit.status not in ("in_progress", "visited"):
            raise InvalidInput(f"visit {visit_id} is {visit.status}; evidence is added from "
                               "check-in on")
        if conn.execute(select(visit_evidence.c.sha256).where(
                visit_evidence.c.visit_id == visit_id, visit_evidence.c.sha256 == sha)).first():
            return sha
        _store(path, stored_path(root, sha), sha)
        conn.execute(insert(visit_evidence).values(
            visit_id=visit_id, sha256=sha, kind=kind, file_name=path.name[:255], size_bytes=size,
            added_at=as_utc(now), added_by=actor))
        uow.record([EvidenceAdded(visit_id, visit.case_id, sha, kind, size)])
        uow.commit()
    return sha


def _store(source: Path, target: Path, sha: str) -> None:
    """Copy into place atomically (a temporary file renamed), read-only, checked."""
    if target.exists() and _sha256(target) == sha:
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
    try:
        with os.fdopen(fd, "wb") as out, source.open("rb") as handle:
            for block in iter(lambda: handle.read(_CHUNK), b""):
                out.write(block)
            out.flush()
            os.fsync(out.fileno())
        if _sha256(Path(temp)) != sha:
            raise InvalidInput(f"evidence file {source} changed while it was being stored; add it again")
        if target.exists():
            target.chmod(0o600)
        os.replace(temp, target)
        target.chmod(0o444)
    finally:
        if os.path.exists(temp):
            os.unlink(temp)


@dataclass(frozen=True)
class EvidenceProblem:
    visit_id: str
    sha256: str
    problem: str


def verify_evidence(app: App) -> tuple[int, list[EvidenceProblem]]:
    """Re-hash every evidence file and match every listed hash to the audit log; returns
    (files checked, problems)."""
    root = app.settings.resolved_evidence_dir()
    with app.engine.connect() as conn:
        listed = conn.execute(select(visit_evidence.c.visit_id, visit_evidence.c.sha256)
                              .order_by(visit_evidence.c.added_at, visit_evidence.c.sha256)).all()
        audited = {(r.subject, json.loads(r.details).get("sha256")) for r in conn.execute(
            select(audit_log.c.subject, audit_log.c.details)
            .where(audit_log.c.action == EvidenceAdded.name))}
    problems = []
    for visit_id, sha in listed:
        path = stored_path(root, sha)
        if (visit_id, sha) not in audited:
            problems.append(EvidenceProblem(visit_id, sha, "listed but not in the audit log "
                                            "(the evidence list was altered)"))
        if not path.is_file():
            problems.append(EvidenceProblem(visit_id, sha, f"file {path} is missing"))
        elif _sha256(path) != sha:
            problems.append(EvidenceProblem(visit_id, sha, f"file {path} was altered: its "
                                            "content no longer matches its SHA-256"))
    return len(listed), problems
