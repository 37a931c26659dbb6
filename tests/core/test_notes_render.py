"""Rendering card markdown to safe rich text: the markdown we need, legend lines, no network."""

from __future__ import annotations

import struct
import zlib

import pytest

from studyapp.notes.parser import parse_text
from studyapp.notes.render import Renderer, render_inline, render_markdown


def _png(path, w=800, h=400):
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    raw = b"".join(b"\x00" + b"\x00\x00\x00" * w for _ in range(h))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0,
                                                                        0, 0))
                     + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def test_markdown_features():
    html = render_markdown(
        "## Heading\n\n- **bold** and *it* and `code`\n  - nested\n    1. deep\n\n"
        "```python\nx = 1 < 2\n```\n\n[link](https://example.org)\n\n| a | b |\n|---|---|\n"
        "| 1 | 2 |\n\n~~gone~~")
    for fragment in ["<h2>Heading</h2>", "<strong>bold</strong>", "<em>it</em>",
                     "<code>code</code>", "<ul>", "<ol>", "deep", "x = 1 &lt; 2",
                     '<a href="https://example.org">link</a>', "<table", "<td>2</td>", "<s>gone</s>"]:
        assert fragment in html, fragment
    assert html.count("<ul>") == 2


def test_legend_lines_stand_out():
    html = render_markdown("- plain\n- ⭐important⭐\n- 🔥 hot\n\n💡 idea paragraph\n\n⚠️ careful")
    assert 'class="hl-star"' in html and 'class="hl-fire"' in html
    assert 'class="hl-idea"' in html and 'class="hl-warn"' in html
    assert "<li>plain</li>" in html


def test_script_style_iframe_are_dropped_with_their_content():
    html = render_markdown("text <script>alert('x')</script> after\n\n<script>\nsteal()\n"
                           "</script>\n\n<style>p{}</style>\n\n<iframe src='https://x'>in</iframe>")
    assert "script" not in html.lower() and "alert" not in html and "steal" not in html
    assert "iframe" not in html and "<style" not in html
    assert "text" in html and "after" in html


def test_attributes_and_links_are_whitelisted():
    html = render_markdown('<a href="javascript:alert(1)" onclick="x()">j</a> '
                           '<b style="color:red" onmouseover="x()">b</b>\n\n[l](javascript:alert(1))')
    assert "javascript:" not in html.replace("[l](javascript:alert(1))", "")
    assert "onclick" not in html and "onmouseover" not in html and "style=" not in html
    assert "<b>b</b>" in html


def test_remote_images_are_never_fetched(monkeypatch):
    import socket

    def boom(*a, **k):
        raise AssertionError("network access")
    monkeypatch.setattr(socket.socket, "connect", boom)
    html = render_markdown('![fig](https://example.org/x.png)\n\n<img src="http://e/y.png">')
    assert "<img" not in html
    assert "remote image not loaded: https://example.org/x.png" in html
    assert "http://e/y.png" in html


def test_missing_image_shows_a_placeholder_with_its_name(tmp_path):
    html = render_markdown("![alt text](image-6.png)\n\n![Figure 3](figs/f3.png)", tmp_path)
    assert "[image not found: image-6.png]" in html
    assert "[image not found: f3.png (Figure 3)]" in html
    assert "<img" not in html


def test_local_image_resolves_relative_to_the_notes_file(tmp_path):
    (tmp_path / "figs").mkdir()
    _png(tmp_path / "figs" / "wide.png", 1280, 300)
    r = Renderer(tmp_path)
    html = r.render("![wide](figs/wide.png)")
    uri = (tmp_path / "figs" / "wide.png").resolve().as_uri()
    assert f'src="{uri}"' in html
    assert 'width="640" height="150"' in html  # capped so it fits the card
    assert r.images == [(tmp_path / "figs" / "wide.png").resolve()]
    # The same relative path without a base folder is a placeholder, not a guess.
    assert "image not found" in render_markdown("![wide](figs/wide.png)")


def test_br_runs_become_paragraph_breaks():
    html = render_markdown("- item\n<br>\n<br><br>\nnext para")
    assert "<br>" not in html.split("</ul>")[0]
    assert "<p>next para</p>" in html


def test_inline_question_rendering():
    assert render_inline("What is **self** `attention` ?") == \
        "What is <strong>self</strong> <code>attention</code> ?"
    assert "script" not in render_inline("q <script>x()</script> end")


def test_every_bundled_answer_renders(bundled_text):
    r = parse_text(bundled_text)
    renderer = Renderer(None)
    for card in r.cards:
        html = renderer.render(card.answer)
        assert html.strip()
        assert "<details" not in html and "</summary>" not in html
    html = renderer.render(r.cards[1].answer)
    assert "[image not found: image.png]" in html


def _max_depth(html_text: str) -> int:
    """Deepest <div>/<b>/<blockquote> nesting in the output (the elements raw HTML becomes)."""
    import re

    depth = deepest = 0
    for closing, _tag in re.findall(r"<(/?)(div|blockquote)\b", html_text):
        depth += -1 if closing else 1
        deepest = max(deepest, depth)
    return deepest


@pytest.mark.timeout(60)
def test_thousands_of_nested_details_are_passed_on_flattened():
    from studyapp.notes.render import MAX_HTML_NESTING

    answer = ("<details><summary>rung</summary>\n" * 5000 + "CORE\n" + "</details>\n" * 5000
              + "\nafter")
    out = Renderer().render(answer)
    assert _max_depth(out) == MAX_HTML_NESTING
    assert out.count("<div>") == out.count("</div>") == MAX_HTML_NESTING
    assert out.count("nested more than 20 levels deep: deeper levels shown flattened") == 1
    assert "CORE" in out and out.count("rung") == 5000 and "<p>after</p>" in out  # text kept


@pytest.mark.timeout(60)
def test_100000_nested_details_on_one_line_are_capped_and_cut():
    from studyapp.notes.render import MAX_HTML_NESTING, MAX_HTML_TAGS

    out = Renderer().render("<details>" * 100_000 + "CORE" + "</details>" * 100_000)
    assert _max_depth(out) == MAX_HTML_NESTING
    assert out.count("<div>") == out.count("</div>")  # what was passed on is closed
    assert f"more than {MAX_HTML_TAGS:,} HTML tags" in out and "not shown" in out
    assert len(out) < 2_000  # the 1.9 MB line is not passed on


def test_moderate_nesting_is_untouched():
    answer = "<details><summary>a</summary>\n<details><summary>b</summary>\n<div>x</div>\n" \
             "</details>\n</details>"
    out = Renderer().render(answer)
    assert _max_depth(out) == 3 and "flattened" not in out
