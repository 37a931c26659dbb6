"""`studyapp notes FILE [--json] [--since OLD_FILE] [--apkg OUT]` and `studyapp stats [--json]`
(no Qt).

`notes` prints what the parser made of a notes file (cards per section, open questions, warnings
with line numbers); exit 0 when it parsed (warnings allowed), 2 when it (or OLD_FILE) is not a
notes file. With `--since`, it also says which cards are kept, moved, renamed, added or removed
compared with an older version of the file, by the same matcher the app uses on a reload.
`stats` prints every deck's counts from the review database in the data dir, read-only.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def register(subparsers) -> None:
    p = subparsers.add_parser("notes", help="parse a notes file and report its cards and warnings",
                              description="Parse a notes file (markdown with <details> "
                                          "questions) and report what became cards.")
    p.add_argument("file", type=Path, help="the notes file")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--since", type=Path, metavar="OLD_FILE",
                   help="an older version of the notes: also report which cards were kept, "
                        "moved, renamed, added and removed since then")
    p.add_argument("--apkg", type=Path, metavar="OUT",
                   help="also export the cards to an Anki package at OUT")
    p.set_defaults(func=run_notes)
    s = subparsers.add_parser("stats", help="print review statistics of every deck",
                              description="Counts per deck from the review database.")
    s.add_argument("--json", action="store_true", help="print the statistics as JSON")
    s.set_defaults(func=run_stats)


def run_notes(args) -> int:
    from studyapp.notes.parser import NotesError, parse_file

    try:
        result = parse_file(args.file)
    except NotesError as exc:
        print(f"studyapp notes: {exc}", file=sys.stderr)
        return 2
    summary = result.to_summary()
    since = getattr(args, "since", None)
    if since is not None:
        from studyapp.review.matching import match_cards

        try:
            old = parse_file(since)
        except NotesError as exc:
            print(f"studyapp notes: --since: {exc}", file=sys.stderr)
            return 2
        summary["changes"] = match_cards(old.cards, result.cards).to_dict()
    if getattr(args, "apkg", None):
        from studyapp.review.export import export_apkg

        info = export_apkg(result.cards, args.apkg, Path(args.file).stem,
                           base_dir=Path(args.file).resolve().parent)
        summary["apkg"] = {"path": str(args.apkg), **info}
    if args.json:
        print(json.dumps(summary, ensure_ascii=False, indent=2))
        return 0
    print(f"{args.file}: {summary['cards']} cards, {summary['open_questions']} open questions")
    for section in summary["sections"]:
        print(f"  {section['cards']:4d}  {section['name']}")
    for w in summary["warnings"]:
        print(f"  line {w['line']}: {w['message']}")
    if "changes" in summary:
        ch = summary["changes"]
        print(f"Since {since}: {ch['kept']} kept, {ch['moved']} moved, {ch['renamed']} renamed, "
              f"{ch['added']} added, {ch['removed']} removed")
        for m in ch["matches"]:
            print(f"  {m['how']}: {m['old']!r} -> {m['new']!r}")
    if "apkg" in summary:
        print(f"Anki package written to {args.apkg}")
        for item in summary["apkg"]["left_out"]:
            print(f"  image left out: {item['src']} ({item['reason']})")
    return 0


def run_stats(args) -> int:
    from studyapp.review.stats import stats_report
    from studyapp.review.store import DB_NAME, ReviewStore, StoreError

    data_dir = getattr(args, "data_dir", None)
    if data_dir is None:
        from studyapp.paths import resolve_data_dir

        data_dir = resolve_data_dir(None)
    db = Path(data_dir).expanduser() / DB_NAME
    if not db.exists():
        report: dict = {"decks": []}
    else:
        try:
            store = ReviewStore.open_readonly(db)
        except StoreError as exc:
            print(f"studyapp stats: {exc}", file=sys.stderr)
            return 1
        try:
            report = stats_report(store)
        finally:
            store.close()
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
        return 0
    if not report["decks"]:
        print(f"No reviews yet ({db} does not exist).")
    for d in report["decks"]:
        states = ", ".join(f"{n} {k}" for k, n in d["states"].items())
        print(f"{d['notes']}\n  {d['cards']} cards ({states}); due today {d['due_today']}, "
              f"tomorrow {d['due_tomorrow']}; {d['reviews']} reviews "
              f"({d['reviews_today']} today)")
    return 0
