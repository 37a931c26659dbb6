"""Export a deck to an Anki package (.apkg) with genanki (no Qt).

One subdeck per section ("<deck>::<section>"), one note per card with the question and the
answer rendered to HTML (the same renderer the app uses, with `CARD_CSS`), the section as a tag.
GUIDs come from the card's identity, so importing a newer export updates the notes already in
Anki instead of duplicating them. Image files inside the notes file's folder (or below it,
symlinks followed) travel as media; anything else a card points to (an absolute path, a
file: URL, `../`, a link leading out, a file that is not an image) stays out of the package,
shown as a placeholder and named in the report, so exporting someone else's notes never
packs private files. Missing images stay visible placeholders. The package is written to a
temporary file and renamed.
"""

from __future__ import annotations

import hashlib
import html
import os
import re
import tempfile
from pathlib import Path
from typing import Sequence

from studyapp.notes.parser import Card
from studyapp.notes.render import CARD_CSS, Renderer

# Fixed ids: re-exports map onto the same note type and decks in Anki.
MODEL_ID = 1_607_392_319_017
_MODEL_NAME = "studyapp notes card"


def _stable_id(text: str) -> int:
    # Anki ids are 63-bit positive integers; keep them in a range Anki's own ids do not use.
    return (int(hashlib.sha1(text.encode("utf-8")).hexdigest()[:12], 16) % (1 << 40)) + (1 << 41)


def _tag(section: str) -> str:
    return re.sub(r"[^\w\-]+", "_", section).strip("_")[:60] or "notes"


def export_apkg(cards: Sequence[Card], out_path: str | Path, deck_name: str,
                base_dir: str | Path | None = None) -> dict:
    """Write `cards` to `out_path` as an Anki package. Returns {"notes", "decks", "media",
    "left_out"}: counts, and the images not packed as {"card", "src", "reason"} dicts."""
    import genanki  # imported here: it is slow to import and only export needs it

    out_path = Path(out_path)
    model = genanki.Model(
        MODEL_ID, _MODEL_NAME,
        fields=[{"name": "Question"}, {"name": "Answer"}, {"name": "Section"}, {"name": "Key"}],
        templates=[{
            "name": "Card 1",
            "qfmt": '<div class="section">{{Section}}</div><div class="question">{{Question}}</div>',
            "afmt": '{{FrontSide}}<hr id="answer"><div class="answer">{{Answer}}</div>',
        }],
        css=CARD_CSS + "\n.card { font-family: sans-serif; text-align: left; }\n"
                       ".question { font-size: 20px; font-weight: bold; }\n")
    renderer = Renderer(base_dir, confine_images=True)
    decks: dict[str, object] = {}
    media: dict[Path, str] = {}
    left_out: list[dict] = []
    for card in cards:
        section = card.section
        if section not in decks:
            full = f"{deck_name}::{section}"
            decks[section] = genanki.Deck(_stable_id("deck:" + full), full)
        renderer.images, renderer.left_out = [], []
        question_html = renderer.render_inline(card.question)
        answer_html = renderer.render(card.answer)
        if card.open_question:
            answer_html = ('<p class="open-question">Open question: not answered yet.</p>'
                           + answer_html)
        left_out += [{"card": card.question, "src": src, "reason": why}
                     for src, why in renderer.left_out]
        for path in renderer.images:
            if path not in media:
                name = path.name
                if name in media.values():
                    name = f"{hashlib.sha1(str(path).encode()).hexdigest()[:8]}-{name}"
                media[path] = name
            uri, local = html.escape(path.as_uri(), quote=True), html.escape(media[path], quote=True)
            question_html = question_html.replace(uri, local)
            answer_html = answer_html.replace(uri, local)
        note = genanki.Note(model=model, fields=[
            question_html, answer_html, html.escape(section), card.key],
            tags=[_tag(section)], guid=genanki.guid_for("studyapp", card.key))
        decks[section].add_note(note)  # type: ignore[attr-defined]
    package = genanki.Package(list(decks.values()), media_files=[str(p) for p in media])
    # Anki imports media by file name: copy under the chosen names if they were renamed.
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for path, name in media.items():
            if name != path.name:
                target = Path(tmp) / name
                target.write_bytes(path.read_bytes())
                files.append(str(target))
            else:
                files.append(str(path))
        package.media_files = files
        fd, tmp_out = tempfile.mkstemp(suffix=".apkg", dir=out_path.parent or None)
        os.close(fd)
        try:
            package.write_to_file(tmp_out)
            os.replace(tmp_out, out_path)
        except BaseException:
            Path(tmp_out).unlink(missing_ok=True)
            raise
    return {"notes": len(cards), "decks": len(decks), "media": len(media), "left_out": left_out}
