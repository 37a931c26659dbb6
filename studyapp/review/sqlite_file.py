"""The review database as a file (no Qt): what can go wrong with it, and transactions that
report it truthfully.

`check_database_file` tells, without writing, whether a file can be used read-write (not SQLite,
damaged, read-only, newer, a WAL left in a read-only folder); `Autocommit` runs explicit,
nestable transactions and turns a full disk into `StoreError` kind "full" without masking it;
`narrowed` adds an optional filter to a query.
"""

from __future__ import annotations

import errno
import os
import shutil
import sqlite3
import tempfile
from pathlib import Path

_SQLITE_MAGIC = b"SQLite format 3\x00"


class StoreError(Exception):
    """The review database cannot be used; `kind` is corrupt, readonly, newer, full or io."""

    def __init__(self, message: str, kind: str = "io"):
        super().__init__(message)
        self.kind = kind

    @property
    def history_readable(self) -> bool:
        """True when the file itself is intact, so a temporary copy shows its history."""
        return self.kind in ("readonly", "newer", "full")


_SQLITE_FULL = 13


def is_disk_full(exc: BaseException) -> bool:
    """True for SQLite's "database or disk is full" and the OS's no-space errors."""
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)
        return (code is not None and code & 0xFF == _SQLITE_FULL) or \
            "database or disk is full" in str(exc)
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", -1))


def disk_full_error(path: Path | None, exc: BaseException) -> StoreError:
    where = f"holding the review database {path} " if path else ""
    return StoreError(f"The disk {where}is full, so grades cannot be saved ({exc}). The file "
                      "itself is intact and was not changed; free some space and reopen it.",
                      "full")


def wal_without_shm(path: Path) -> bool:
    return (Path(f"{path}-wal").exists() and not Path(f"{path}-shm").exists()
            and not os.access(path.parent, os.W_OK | os.X_OK))


def wal_message(path: Path) -> str:
    return (f"The review database {path} is in a read-only folder and was not closed cleanly: "
            f"its write-ahead log ({path.name}-wal) is there but not the index SQLite keeps "
            f"beside it ({path.name}-shm), which SQLite cannot create in a read-only folder. "
            "The file is not damaged; grades cannot be saved there.")


def check_database_file(path: Path, schema_version: int) -> None:
    """Raise StoreError if an existing file cannot safely be used read-write. Writes nothing."""
    if not path.exists():
        parent = path.parent
        if not os.access(parent, os.W_OK | os.X_OK):
            raise StoreError(f"The folder {parent} is read-only, so the review history cannot "
                             "be saved there.", "readonly")
        return
    if path.is_dir():
        raise StoreError(f"{path} is a folder, not a review database.", "corrupt")
    try:
        with path.open("rb") as fh:
            head = fh.read(16)
    except OSError as exc:
        raise StoreError(f"The review database {path} cannot be read: {exc.strerror}.", "io")
    if head and head != _SQLITE_MAGIC:
        raise StoreError(f"The review database {path} is damaged (it is not a SQLite file). "
                         "It was left untouched.", "corrupt")
    if head:
        try:
            con = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=2.0)
            try:
                result = con.execute("PRAGMA quick_check").fetchone()
                version = None
                has_meta = con.execute("SELECT 1 FROM sqlite_master WHERE type='table' "
                                       "AND name='meta'").fetchone()
                if has_meta:
                    row = con.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
                    version = int(row[0]) if row else None
            finally:
                con.close()
        except sqlite3.DatabaseError as exc:
            if wal_without_shm(path):
                raise StoreError(wal_message(path), "readonly") from exc
            raise StoreError(f"The review database {path} is damaged ({exc}). It was left "
                             "untouched.", "corrupt") from exc
        if not result or result[0] != "ok":
            raise StoreError(f"The review database {path} is damaged ({result[0] if result else '?'}"
                             "). It was left untouched.", "corrupt")
        if version is not None and version > schema_version:
            raise StoreError(f"The review database {path} was written by a newer version of "
                             "studyapp. It was left untouched.", "newer")
    if not os.access(path, os.W_OK) or not os.access(path.parent, os.W_OK | os.X_OK):
        raise StoreError(f"The review database {path} is read-only, so grades cannot be "
                         "saved.", "readonly")


def copy_with_wal(path: Path) -> sqlite3.Connection:
    """An in-memory copy of a WAL database SQLite cannot open where it is (no -shm file in a
    read-only folder): the file and its log are copied to a temporary folder, where SQLite
    reads both, and from there into memory. The original is never written."""
    with tempfile.TemporaryDirectory(prefix="studyapp-db-") as tmp:
        copy = Path(tmp) / path.name
        shutil.copyfile(path, copy)
        shutil.copyfile(f"{path}-wal", f"{copy}-wal")
        src = sqlite3.connect(str(copy))
        try:
            mem = sqlite3.connect(":memory:", isolation_level=None)
            src.backup(mem)
        finally:
            src.close()
    return mem


class Autocommit:
    """sqlite3 connection in autocommit mode whose `with` block is an explicit transaction
    (BEGIN IMMEDIATE ... COMMIT/ROLLBACK), nestable: only the outermost block commits.

    On a full disk SQLite has already rolled the transaction back when the error arrives; a
    ROLLBACK then would fail ("no transaction is active") and hide the real error, so only an
    open transaction is rolled back, and the disk-full error becomes StoreError kind "full".
    """

    def __init__(self, con: sqlite3.Connection, path: Path | None = None):
        self._con = con
        self._depth = 0
        self._path = path

    def __enter__(self):
        if self._depth == 0:
            try:
                self._con.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                if is_disk_full(exc):
                    raise disk_full_error(self._path, exc) from exc
                raise
        self._depth += 1
        return self

    def __exit__(self, exc_type, exc, tb):
        self._depth -= 1
        if self._depth:
            return False
        if exc_type is None:
            try:
                self._con.execute("COMMIT")
                return False
            except sqlite3.Error as commit_error:
                exc = commit_error
                self._rollback_if_open()
                if is_disk_full(exc):
                    raise disk_full_error(self._path, exc) from exc
                raise
        self._rollback_if_open()
        if isinstance(exc, (sqlite3.Error, OSError)) and is_disk_full(exc):
            raise disk_full_error(self._path, exc) from exc
        return False

    def _rollback_if_open(self) -> None:
        if not self._con.in_transaction:
            return  # SQLite rolled back already (a full disk, an I/O error)
        try:
            self._con.execute("ROLLBACK")
        except sqlite3.Error:
            pass  # the error that led here is the one to report

    def execute(self, *args):
        return self._con.execute(*args)

    def executemany(self, *args):
        return self._con.executemany(*args)

    def executescript(self, script: str):
        # executescript would COMMIT our open transaction first; run statements one by one.
        for statement in script.split(";"):
            if statement.strip():
                self._con.execute(statement)

    def close(self):
        self._con.close()


def narrowed(sql: str, args: tuple, column: str, value) -> tuple[str, tuple]:
    """`sql` (ending in a WHERE clause) and its `args`, narrowed to rows whose `column` is
    `value` when a value is given. A separate clause rather than `(? IS NULL OR col=?)`, which
    keeps SQLite from using the index on that column."""
    if value is None:
        return sql, args
    return f"{sql} AND {column}=?", (*args, value)
