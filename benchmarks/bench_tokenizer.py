"""Tokenizer lab speed, each figure beside a naive baseline in the same run.

1. Retokenize and redraw 2,000 words (The Verdict's first 2,000 words, about 3,000 tokens): the
   lab's path (tiktoken, per-token pieces, painted chips, ID list) through `TokenizerLab`, with
   the chips, ID list and counts repainted synchronously, against a naive view that decodes
   every token on its own and shows the chips as one rich-text HTML document in a
   QTextBrowser. Target: under 30 ms.
2. Tokenize a 1 MB paste: `tokenizer_core.tokenize` with the lab's chip cap (IDs for the whole
   text, pieces for the drawn chips) against describing every token (no cap). Target: < 0.5 s.
3. The BPE merge trace (pure Python over the vocabulary's ranks) on The Verdict, beside
   tiktoken's own encode, for scale.

    .venv/bin/python benchmarks/bench_tokenizer.py [--repeats 7]

Prints one JSON object; times are medians in milliseconds.
"""

from __future__ import annotations

import argparse
import html
import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._common import print_report_and_exit, time_calls  # noqa: E402


def bench_redraw(repeats: int) -> dict:
    import tempfile

    from PySide6.QtWidgets import QTextBrowser

    from model.resources import read_the_verdict
    from model.tokenizer import get_tokenizer
    from studyapp.shell.app import build_context, ensure_qapplication
    from studyapp.areas.tokenizer.area import TokenizerLab
    from studyapp.shell.style import colours

    app = ensure_qapplication()
    words = read_the_verdict().split(" ")
    text = " ".join(words[:2000])
    ctx = build_context(Path(tempfile.mkdtemp()))
    lab = TokenizerLab(ctx)
    lab.resize(1100, 760)
    lab.show()
    app.processEvents()
    lab.editor.blockSignals(True)
    lab.editor.setPlainText(text)  # the typing itself is Qt's; the lab's work starts here
    lab.editor.blockSignals(False)

    def ours():
        # Retokenize (on the lab's job, as typing does, without the typing pause), then paint
        # what a retokenization changes: the chips, the ID list and the counts (the tabs below
        # only redraw when their own input changes).
        lab.ask(0)
        lab.job.wait_idle()
        lab.chips.viewport().repaint()
        lab.id_list.viewport().repaint()
        lab.counts.repaint()

    ours()  # warm caches (token labels, font metrics) as a running app has them
    ours_t = time_calls(ours, repeats)

    tokenizer = get_tokenizer()
    browser = QTextBrowser()
    browser.resize(800, 400)
    browser.show()

    fills = colours().chip_fills

    def naive():
        ids = tokenizer.encode(text)
        spans = []
        for i, token_id in enumerate(ids):
            piece = tokenizer.decode([token_id])
            spans.append(f'<span style="background:{fills[i % len(fills)]}">'
                         f"{html.escape(piece)}</span>")
        browser.setHtml("".join(spans))
        browser.repaint()

    naive()
    naive_t = time_calls(naive, repeats)
    result = {
        "words": 2000, "tokens": lab.result.n_tokens, "chips_drawn": lab.chips.chip_count(),
        "lab_ms_median": round(ours_t.ms, 2), "lab_cpu_ms_median": round(ours_t.cpu, 2),
        "lab_ms_all": ours_t.wall_all(),
        "naive_html_ms_median": round(naive_t.ms, 2),
        "naive_html_cpu_ms_median": round(naive_t.cpu, 2),
        "naive_html_ms_all": naive_t.wall_all(),
        "speedup_vs_naive": round(naive_t.ms / ours_t.ms, 2) if ours_t.ms else None,
        "target_ms": 30, "meets_target_wall": ours_t.ms < 30,
        "meets_target_cpu": ours_t.cpu < 30,
    }
    lab.shutdown()
    browser.close()
    lab.close()
    from studyapp.shell.app import teardown

    teardown()
    return result


def bench_megabyte(repeats: int) -> dict:
    from model.resources import read_the_verdict
    from model.tokenizer import get_tokenizer
    from studyapp.areas.tokenizer import core
    from studyapp.areas.tokenizer.area import CHIP_LIMIT

    verdict = read_the_verdict()
    big = (verdict * (1_000_000 // len(verdict) + 1))[:1_000_000]
    core.tokenize("warm up")

    def capped():
        core.tokenize(big, CHIP_LIMIT)

    def uncapped():
        core.tokenize(big, None)

    capped_t = time_calls(capped, repeats)
    full_t = time_calls(uncapped, max(3, repeats // 2))
    encode_t = time_calls(lambda: get_tokenizer().encode(big), repeats)
    return {
        "characters": len(big), "tokens": len(get_tokenizer().encode(big)),
        "lab_capped_ms_median": round(capped_t.ms, 1),
        "lab_capped_cpu_ms_median": round(capped_t.cpu, 1),
        "lab_capped_ms_all": capped_t.wall_all(),
        "describe_every_token_ms_median": round(full_t.ms, 1),
        "describe_every_token_ms_all": full_t.wall_all(),
        "tiktoken_encode_only_ms_median": round(encode_t.ms, 1),
        "speedup_vs_uncapped": round(full_t.ms / capped_t.ms, 2) if capped_t.ms else None,
        "target_ms": 500, "meets_target_wall": capped_t.ms < 500,
    }


def bench_bpe_trace(repeats: int) -> dict:
    from model.bpe import trace_ids, trace_text
    from model.resources import read_the_verdict
    from model.tokenizer import get_tokenizer

    verdict = read_the_verdict()
    trace_ms = time_calls(lambda: trace_text(verdict), max(3, repeats // 2)).ms
    encode_ms = time_calls(lambda: get_tokenizer().encode(verdict), repeats).ms
    same = trace_ids(trace_text(verdict)) == get_tokenizer().encode(verdict)
    word_ms = time_calls(lambda: trace_text("someunknownPlace"), repeats).ms
    return {"text": "The Verdict", "python_trace_ms_median": round(trace_ms, 1),
            "tiktoken_encode_ms_median": round(encode_ms, 2),
            "one_word_trace_ms_median": round(word_ms, 3), "same_ids_as_tiktoken": same}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    out = {
        "benchmark": "tokenizer lab",
        "redraw_2000_words": bench_redraw(args.repeats),
        "tokenize_1mb": bench_megabyte(args.repeats),
        "bpe_trace": bench_bpe_trace(args.repeats),
        "cpu_count": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    print_report_and_exit(out)


if __name__ == "__main__":
    main()
