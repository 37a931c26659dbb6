"""Checks on a parsed notes file that need its place on disk, and the sentences that explain
the result to the learner (no Qt).

Images: the bundled deck ships without the book's figures, so its missing images are expected
and not reported (the renderer shows a quiet placeholder); in the learner's own file each
missing image is a warning with its line and question, since the learner can fix it.

The sentences here are what the app shows above the warnings list, on an open card, and on
hover over the deck header's "N open": each says which card and which line.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from urllib.parse import unquote, urlparse

from studyapp.notes.answers import NO_ANSWER, ONLY_TODO
from studyapp.notes.cards import Card, ParseResult, ParseWarning


def _short(text: str, limit: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def bundled_notes_dir() -> Path | None:
    try:
        return Path(str(resources.files("studyapp.resources").joinpath("notes"))).resolve()
    except (ModuleNotFoundError, OSError, TypeError):
        return None


def is_bundled_notes(path: str | Path) -> bool:
    """Whether `path` is the deck that ships with the app (inside its installed resources)."""
    folder = bundled_notes_dir()
    try:
        return folder is not None and Path(path).resolve().parent == folder
    except OSError:
        return False


def _resolve_local(src: str, base_dir: Path) -> tuple[str, Path | None]:
    """("remote", None), ("found", path) or ("missing", looked-for path) for an image source,
    resolved as the renderer resolves it (relative to the notes file's folder)."""
    src = src.strip()
    parsed = urlparse(src)
    scheme = parsed.scheme.lower()
    if scheme in ("http", "https", "ftp") or src.startswith("//"):
        return "remote", None
    if scheme == "data":
        return "found", None
    if scheme == "file":
        path = Path(unquote(parsed.path))
    elif len(scheme) > 1:
        return "remote", None
    else:
        path = Path(unquote(src))
        if not path.is_absolute():
            path = base_dir / path
    try:
        return ("found" if path.is_file() else "missing"), path
    except OSError:
        return "missing", path


def image_warnings(cards: list[Card], base_dir: str | Path) -> list[ParseWarning]:
    """A warning for each image a card shows that is not on disk (or is remote)."""
    base = Path(base_dir)
    out = []
    for card in cards:
        for line, src in card.images:
            how, path = _resolve_local(src, base)
            if how == "found":
                continue
            q = _short(card.question)
            if how == "remote":
                msg = (f"question '{q}': image {src} is on the web and is not loaded (the app "
                       "works offline); a placeholder is shown")
            else:
                where = "next to the notes file" if path and path.parent == base else str(path)
                msg = (f"question '{q}': image '{src}' is not found ({where}); a placeholder "
                       "is shown")
            out.append(ParseWarning(line, msg, "image", card.question))
    return out


def check_on_disk(result: ParseResult, path: str | Path) -> None:
    """Mark the bundled deck and add the learner's own file's missing images as warnings."""
    result.bundled = is_bundled_notes(path)
    if not result.bundled:
        result.warnings.extend(image_warnings(result.cards, Path(path).resolve().parent))
        result.warnings.sort(key=lambda w: w.line)


def warnings_intro(result: ParseResult) -> str:
    """The sentence above the warnings list: what became cards and what, if anything, did not."""
    name = result.path.name if result.path else "The notes"
    n = len(result.cards)
    head = f"{name}: {n} card{'s' if n != 1 else ''} read."
    lost = result.lost
    if lost:
        lines = ", ".join(str(w.line) for w in lost)
        return (f"{head} {len(lost)} question{'s are' if len(lost) != 1 else ' is'} not a card "
                f"(line{'s' if len(lost) != 1 else ''} {lines}): fix the file and it reloads by "
                "itself.")
    images = sum(1 for w in result.warnings if w.kind == "image")
    tail = f" {images} image{'s are' if images != 1 else ' is'} missing (shown as a placeholder)." \
        if images else ""
    return (f"{head} Every question in the file is a card; the lines below were read in a "
            f"particular way or ignored.{tail}")


def open_note(card: Card) -> str:
    """What the review says on an open question, naming where the notes leave it open."""
    if card.open_reason == NO_ANSWER:
        return (f"Open question: the notes have no answer yet (line {card.line}). Think it "
                "through, then grade how well you could answer.")
    if card.open_reason == ONLY_TODO:
        return (f"Open question: the notes say TODO (line {card.todo_line or card.line}). Think "
                "it through, then grade how well you could answer.")
    if card.todo_line:
        return f"The notes mark part of this answer TODO (line {card.todo_line})."
    return ""


def open_questions_tooltip(result: ParseResult) -> str:
    """Plain-text lines for hovering "N open": each open card with its line and why."""
    rows = []
    for c in result.open_cards:
        why = "no answer yet" if c.open_reason == NO_ANSWER else "the answer is only TODO"
        rows.append(f"line {c.todo_line or c.line}: {_short(c.question, 60)} ({why})")
    partly = [c for c in result.cards if not c.open_question and c.todo_line]
    if partly:
        rows.append("Answered, with a TODO left in the answer:")
        rows += [f"line {c.todo_line}: {_short(c.question, 60)}" for c in partly]
    return "\n".join(rows)
