"""A notes file opened as a deck: parse, find (or adopt) its deck in the store, sync (no Qt)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from studyapp.notes.parser import ParseResult, parse_file
from studyapp.review.store import ReviewStore, SyncReport


def bundled_notes_path() -> Path:
    from model.resources import resource_path

    return resource_path("notes", "llm-from-scratch-notes.md")


def deck_path_key(path: str | Path) -> str:
    """How the store names a notes file. The bundled deck gets a location-free name, so its
    history survives reinstalling the app somewhere else."""
    path = Path(path).resolve()
    try:
        bundled = bundled_notes_path().resolve()
    except Exception:  # resources not installed: no bundled deck to recognise
        bundled = None
    if bundled is not None and path == bundled:
        return f"bundled:{path.name}"
    return str(path)


def deck_name(parse: ParseResult, path: Path) -> str:
    """The deck's display name (the notes file's name without extension)."""
    return path.stem


@dataclass
class OpenedDeck:
    path: Path
    parse: ParseResult
    deck_id: int
    adopted: bool  # history adopted from a deck opened under another path
    sync: SyncReport


def open_deck(store: ReviewStore, path: str | Path, now: int | None = None) -> OpenedDeck:
    """Parse a notes file and attach it to its deck. Raises NotesError (not a notes file) or
    StoreError/sqlite errors from the store."""
    return attach_deck(store, Path(path), parse_file(path), now)


def attach_deck(store: ReviewStore, path: Path, parse: ParseResult,
                now: int | None = None) -> OpenedDeck:
    """Attach an already parsed notes file to its deck (the parse may come from a worker
    thread; the store is only touched here, on the caller's thread)."""
    deck_id, adopted = store.deck_for_notes(
        deck_path_key(path), deck_name(parse, path), (c.key for c in parse.cards), now)
    report = store.sync_cards(deck_id, parse.cards, now)
    return OpenedDeck(path, parse, deck_id, adopted, report)
