"""`studyapp screenshot DIR [--appearance light|dark] [--quick]`: render every area offscreen
to DIR/<area>.png.

The smoke test of the whole app, and the source of the README's pictures. Needs no display.
`--appearance` renders in that mode without changing the learner's saved choice. `--quick`
leaves out the short fine-tuning runs the Classify and Instruct pictures show (about half the
time); those labs are pictured with their data and no run.
"""

from __future__ import annotations

import os
from pathlib import Path


def take_screenshots(out_dir: Path, data_dir: Path, notes_path: Path | None = None,
                     size=(1280, 820), model_timeout_s: float = 120.0,
                     appearance: str | None = None, runs: bool = True) -> list[Path]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from studyapp.shell.app import build_context, build_window, ensure_qapplication, teardown
    from studyapp.shell.waiting import spin, wait_until

    app = ensure_qapplication()
    from studyapp.areas import AREAS

    out_dir.mkdir(parents=True, exist_ok=True)
    ctx = build_context(data_dir, notes_path)
    window = build_window(ctx)
    if appearance is not None:  # for these pictures only; the saved setting stays as it is
        from studyapp.shell.theme import DEFAULT_FONT_PT, apply_theme

        apply_theme(app, appearance, ctx.settings.get("appearance/font_pt", DEFAULT_FONT_PT))
    window.resize(*size)
    window.show()
    ctx.models.start_loading()
    wait_until(lambda: ctx.models.current is not None, int(model_timeout_s * 1000))
    written = []
    try:
        for area in AREAS:
            window.open_area(area.key, {})
            widget = window.areas[area.key]
            widget.prepare_screenshot(runs=runs)
            spin(700)  # debounced views redraw on timers
            path = out_dir / f"{area.key}.png"
            if not window.grab().save(str(path)):
                raise OSError(f"could not write {path}")
            written.append(path)
    finally:
        window.save_settings()
        teardown(window)
        app.processEvents()
    return written


def register(subparsers) -> None:
    parser = subparsers.add_parser("screenshot", help="render every area to PNG files in DIR")
    parser.add_argument("dir", type=Path)
    parser.add_argument("--appearance", choices=("light", "dark"), default=None,
                        help="render in this mode (default: the saved appearance)")
    parser.add_argument("--quick", action="store_true",
                        help="leave out the labs' short fine-tuning runs")
    parser.set_defaults(func=_run)


def _run(args) -> int:
    from studyapp.paths import resolve_data_dir

    paths = take_screenshots(args.dir, resolve_data_dir(args.data_dir), args.notes,
                             appearance=args.appearance, runs=not args.quick)
    for path in paths:
        print(path)
    return 0
