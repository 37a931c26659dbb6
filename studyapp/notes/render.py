"""Card markdown to safe rich-text HTML (no Qt).

The output is the HTML subset Qt's rich text (QTextDocument) and Anki both show: headings,
nested lists, bold, italics, inline code, code blocks, links, tables, emoji. Lines carrying the
legend's markers (⭐ 🔥 💡 ⚠️ ...) get a class so they stand out (`card_css` colours them).

Safety: rendering never loads anything from the network and never runs anything. Raw HTML in a
notes file is passed through a whitelist (unknown tags dropped, their text kept and escaped;
`<script>`, `<style>`, `<iframe>`... dropped with their content; no attributes except the few
listed; only http/https/mailto/file links). Images are resolved relative to the notes file:
a local file that exists is shown, anything else (missing, remote, data: URLs) becomes a visible
placeholder naming it.
"""

from __future__ import annotations

import html
import re
import struct
from html.parser import HTMLParser
from pathlib import Path
from typing import Mapping
from urllib.parse import unquote, urlparse

from markdown_it import MarkdownIt

# Marker -> (css class, meaning); earlier entries win when a line carries several.
HIGHLIGHTS: tuple[tuple[str, str, str], ...] = (
    ("🔥", "hl-fire", "super important"),
    ("⚠", "hl-warn", "warning"),
    ("🚫", "hl-no", "cannot be used"),
    ("⭐", "hl-star", "important"),
    ("💡", "hl-idea", "key concept"),
    ("🚀", "hl-adv", "advanced"),
)

#: Style for rendered cards; Qt's rich-text CSS subset (tag and class selectors) and Anki alike.
#: No colours here: `card_css` adds them from the palette in use.
CARD_CSS = """
body { font-size: 15px; }
h1, h2, h3, h4, h5, h6 { margin-top: 10px; margin-bottom: 4px; }
p { margin-top: 4px; margin-bottom: 4px; }
li { margin-top: 2px; margin-bottom: 2px; }
code { font-family: monospace; }
pre { font-family: monospace; padding: 6px; }
table { border-collapse: collapse; }
th { padding: 3px 6px; }
td { padding: 3px 6px; }
.open-question { font-weight: bold; }
"""

#: (selector, property, colour role) for each coloured element of a card; the roles are the
#: app's palette roles (its style module gives role -> colour for light and dark).
CARD_COLOUR_RULES: tuple[tuple[str, str, str], ...] = (
    ("code", "background-color", "code_background"), ("code", "color", "code_text"),
    ("pre", "background-color", "pre_background"), ("th", "background-color", "code_background"),
    *((f".{cls}", "background-color", cls.replace("-", "_")) for _, cls, _ in HIGHLIGHTS),
    (".missing-image", "color", "missing_image_text"),
    (".missing-image", "background-color", "missing_image_background"),
    (".open-question", "color", "open_question"), (".section", "color", "section_text"),
)


def card_css(colours: Mapping[str, str] | None = None) -> str:
    """CARD_CSS plus each element's colour from `colours` (role -> colour). Without colours a
    card keeps its reader's own (an exported deck follows Anki's day and night modes)."""
    if not colours:
        return CARD_CSS
    rules: dict[str, list[str]] = {}
    for selector, prop, role in CARD_COLOUR_RULES:
        rules.setdefault(selector, []).append(f"{prop}: {colours[role]};")
    return CARD_CSS + "".join(f"{sel} {{ {' '.join(decls)} }}\n" for sel, decls in rules.items())


def legend_html(colours: Mapping[str, str], legend=None) -> str:
    """One line explaining the highlight colours (`colours`: role -> colour, as for
    `card_css`), as rich text. `legend`: the notes file's own (marker, meaning) pairs, whose
    wording is used where it has the marker."""
    own = {}
    for marker, meaning in legend or ():
        text = re.sub(r"^(for|indicates?)\s+", "", meaning.strip(" .-"), flags=re.IGNORECASE)
        if len(text) <= 28:  # long explanations stay in the file; the line must stay short
            own[marker.replace("\ufe0f", "")] = html.escape(text)
    order = ("hl-star", "hl-fire", "hl-idea", "hl-warn", "hl-adv", "hl-no")
    by_cls = {cls: (marker, meaning) for marker, cls, meaning in HIGHLIGHTS}
    parts = []
    for cls in order:
        marker, meaning = by_cls[cls]
        parts.append(f'<span style="background-color:{colours[cls.replace("-", "_")]}">&nbsp;'
                     f'{marker.replace("⚠", "⚠️")} {own.get(marker, meaning)}&nbsp;</span>')
    return " ".join(parts)


_DANGEROUS = {"script", "style", "iframe", "object", "embed", "noscript", "template",
              "textarea", "select", "applet", "frame", "frameset", "svg", "math", "head",
              "title", "link", "meta", "base", "form", "button", "input"}
_ALLOWED = {
    "p": (), "br": (), "hr": (), "b": (), "strong": (), "i": (), "em": (), "u": (), "s": (),
    "del": (), "strike": (), "sub": (), "sup": (), "code": (), "kbd": (), "pre": (),
    "blockquote": (), "ul": (), "ol": ("start",), "li": (), "span": (), "div": (),
    "h1": (), "h2": (), "h3": (), "h4": (), "h5": (), "h6": (), "small": (), "big": (),
    "table": (), "thead": (), "tbody": (), "tr": (), "th": ("colspan", "rowspan", "align"),
    "td": ("colspan", "rowspan", "align"), "a": ("href", "title"), "img": ("src", "alt"),
    "dl": (), "dt": (), "dd": (), "mark": (), "center": (),
}
_RENAME = {"mark": "span", "center": "div"}
_VOID = {"br", "hr", "img"}
_SAFE_SCHEMES = {"http", "https", "mailto", "file", ""}
_BR_LINE_RE = re.compile(r"^\s*(?:<br\s*/?>\s*)+$", re.IGNORECASE)
_TABLE_ATTRS = ' border="1" cellspacing="0" cellpadding="4"'
MAX_IMAGE_WIDTH = 640


def _safe_href(url: str) -> str | None:
    url = url.strip()
    scheme = urlparse(url).scheme.lower()
    return url if scheme in _SAFE_SCHEMES else None


#: Raw-HTML elements nested deeper than this are passed on flattened (their text kept): Qt's
#: rich-text layout takes seconds per thousand levels, which a hand-written answer never needs.
MAX_HTML_NESTING = 20
#: Start tags of raw HTML handled per card; the rest of a card past this is left out, so one
#: hostile line cannot keep the parser busy for long.
MAX_HTML_TAGS = 20_000
# Elements authors often leave unclosed and that cannot nest in practice: not counted as depth.
_FLAT = {"p", "li", "dt", "dd", "tr", "td", "th", "thead", "tbody"}
_CHUNK = 4096


class _HtmlBudget:
    """Nesting and tag counts shared by every raw-HTML fragment of one card."""

    def __init__(self):
        self.depth = 0
        self.open: list[str] = []  # closing tags of the nesting elements passed on, innermost last
        self.tags = 0
        self.flattened = 0
        self.noted = False
        self.cut = False


class _Sanitizer(HTMLParser):
    """Whitelist filter for raw HTML found in notes."""

    def __init__(self, image_html, budget: _HtmlBudget | None = None):
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skip_depth = 0
        self.skip_tag: str | None = None
        self.image_html = image_html
        self.budget = budget or _HtmlBudget()

    def _nests(self, tag: str) -> bool:
        return tag == "details" or tag == "summary" or (
            tag in _ALLOWED and tag not in _VOID and tag not in _FLAT)

    def _admit(self, tag: str) -> bool:
        """Count an opening tag; False when it lies beyond the nesting cap (drop the tag)."""
        if not self._nests(tag):
            return True
        b = self.budget
        b.depth += 1
        if b.depth <= MAX_HTML_NESTING:
            return True
        b.flattened += 1
        if not b.noted:
            b.noted = True
            self.out.append(f'<span class="missing-image">[HTML nested more than '
                            f'{MAX_HTML_NESTING} levels deep: deeper levels shown '
                            'flattened]</span>')
        return False

    def _release(self, tag: str) -> bool:
        """Count a closing tag; False when its opening tag was flattened (drop it too)."""
        if not self._nests(tag):
            return True
        b = self.budget
        if b.depth == 0:
            return True
        b.depth -= 1
        if b.depth < MAX_HTML_NESTING:
            if b.open:
                b.open.pop()
            return True
        return False

    def handle_starttag(self, tag, attrs):
        self.budget.tags += 1
        if self.skip_depth:
            if tag == self.skip_tag:
                self.skip_depth += 1
            return
        if tag in _DANGEROUS:
            if tag not in _VOID and tag not in {"link", "meta", "base", "input"}:
                self.skip_tag, self.skip_depth = tag, 1
            return
        if not self._admit(tag):
            return
        if tag == "details":
            self.out.append("<div>")
            self.budget.open.append("</div>")
            return
        if tag == "summary":
            self.out.append("<p><b>")
            self.budget.open.append("</b></p>")
            return
        if tag not in _ALLOWED:
            return
        if self._nests(tag):
            self.budget.open.append(f"</{_RENAME.get(tag, tag)}>")
        if tag == "img":
            attrs_d = dict(attrs)
            self.out.append(self.image_html(attrs_d.get("src") or "", attrs_d.get("alt") or ""))
            return
        kept = []
        for name, value in attrs:
            if name in _ALLOWED[tag] and value is not None:
                if name == "href":
                    value = _safe_href(value)
                    if value is None:
                        continue
                kept.append(f' {name}="{html.escape(value, quote=True)}"')
        name = _RENAME.get(tag, tag)
        extra = _TABLE_ATTRS if tag == "table" else ""
        self.out.append(f"<{name}{''.join(kept)}{extra}>")

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if self._nests(tag) and not self.skip_depth and tag not in _DANGEROUS:
            self.handle_endtag(tag)  # <div/> opens and closes at once

    def handle_endtag(self, tag):
        if self.skip_depth:
            if tag == self.skip_tag:
                self.skip_depth -= 1
            return
        if not self._release(tag):
            return
        if tag == "details":
            self.out.append("</div>")
        elif tag == "summary":
            self.out.append("</b></p>")
        elif tag in _ALLOWED and tag not in _VOID:
            self.out.append(f"</{_RENAME.get(tag, tag)}>")

    def handle_data(self, data):
        if not self.skip_depth:
            self.out.append(html.escape(data, quote=False))

    def handle_comment(self, data):
        pass

    def result(self) -> str:
        self.close()
        return "".join(self.out)


def _image_size(path: Path) -> tuple[int, int] | None:
    """Width and height of a PNG, GIF or JPEG from its header (no image library needed)."""
    try:
        with path.open("rb") as fh:
            head = fh.read(32)
            if head.startswith(b"\x89PNG\r\n\x1a\n") and head[12:16] == b"IHDR":
                return struct.unpack(">II", head[16:24])
            if head[:6] in (b"GIF87a", b"GIF89a"):
                return struct.unpack("<HH", head[6:10])
            if head.startswith(b"\xff\xd8"):
                fh.seek(2)
                while True:
                    marker = fh.read(2)
                    if len(marker) < 2 or marker[0] != 0xFF:
                        return None
                    if marker[1] in (0xC0, 0xC1, 0xC2):
                        fh.read(3)
                        h, w = struct.unpack(">HH", fh.read(4))
                        return w, h
                    (length,) = struct.unpack(">H", fh.read(2))
                    fh.seek(length - 2, 1)
    except (OSError, struct.error):
        return None
    return None


#: What an exported card may carry as an image (by suffix): never a text or data file.
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".gif", ".webp", ".svg", ".bmp"})


class Renderer:
    """Renders card markdown; `base_dir` is the notes file's folder (for relative images).

    With `confine_images` (used for export, where images travel to other people) a local image
    is kept only when it is an image file inside `base_dir` or below it after following
    symlinks; any other (absolute paths, file: URLs, `../`, links that lead out) becomes a
    placeholder and is listed in `left_out` as (source, reason).
    """

    def __init__(self, base_dir: str | Path | None = None, bundled: bool = False,
                 confine_images: bool = False):
        self.base_dir = Path(base_dir) if base_dir is not None else None
        # The bundled deck ships without the book's figures: say so quietly, ask nothing.
        self.bundled = bundled
        self.confine_images = confine_images
        # Wider images are scaled down to this (the app sets the card's width before a render).
        self.max_image_width = MAX_IMAGE_WIDTH
        self.left_out: list[tuple[str, str]] = []
        self.md = MarkdownIt("commonmark", {"html": True}).enable("table").enable(
            "strikethrough")
        rules = self.md.add_render_rule
        rules("html_block", lambda _r, tokens, idx, options, env: self.sanitize(tokens[idx].content))
        rules("html_inline", lambda _r, tokens, idx, options, env: self.sanitize(tokens[idx].content))
        rules("image", lambda _r, tokens, idx, options, env: self._render_image(tokens, idx))
        rules("table_open", lambda _r, tokens, idx, options, env: f"<table{_TABLE_ATTRS}>\n")
        self.images: list[Path] = []  # local images referenced by the last render (for export)
        self._budget = _HtmlBudget()

    # -- images --
    def resolve_image(self, src: str) -> Path | None:
        """The local file an image source points to, or None (remote, missing, no base)."""
        src = src.strip()
        parsed = urlparse(src)
        if parsed.scheme.lower() in ("http", "https", "ftp", "data") or src.startswith("//"):
            return None
        if parsed.scheme.lower() == "file":
            path = Path(unquote(parsed.path))
        elif len(parsed.scheme) > 1:
            return None
        else:
            path = Path(unquote(src))
            if not path.is_absolute():
                if self.base_dir is None:
                    return None
                path = self.base_dir / path
        try:
            return path.resolve() if path.is_file() else None
        except OSError:
            return None

    def image_html(self, src: str, alt: str) -> str:
        label = html.escape(alt or "", quote=False)
        scheme = urlparse(src.strip()).scheme.lower()
        if scheme in ("http", "https", "ftp") or src.strip().startswith("//"):
            return (f'<span class="missing-image">[remote image not loaded: '
                    f'{html.escape(src, quote=False)}]</span>')
        path = self.resolve_image(src)
        name = html.escape(Path(unquote(urlparse(src).path or src)).name or src, quote=False)
        if path is None and self.bundled:
            what = f": {label}" if label and label != "alt text" else ""
            return f'<span class="missing-image">[figure from the book, not included{what}]</span>'
        if path is None:
            extra = f" ({label})" if label and label != "alt text" else ""
            return f'<span class="missing-image">[image not found: {name}{extra}]</span>'
        refused = self._confinement(path)
        if refused:
            self.left_out.append((src, refused))
            return (f'<span class="missing-image">[image not exported: {name} '
                    f'({html.escape(refused, quote=False)})]</span>')
        self.images.append(path)
        size = _image_size(path)
        width = ""
        limit = max(1, int(self.max_image_width))
        if size and size[0] > limit:
            width = f' width="{limit}" height="{round(size[1] * limit / size[0])}"'
        return (f'<img src="{html.escape(path.as_uri(), quote=True)}" '
                f'alt="{html.escape(alt, quote=True)}"{width} />')

    def _confinement(self, path: Path) -> str | None:
        """Why `path` (resolved) may not leave with an export, or None when it may."""
        if not self.confine_images:
            return None
        try:
            inside = self.base_dir is not None and path.is_relative_to(self.base_dir.resolve())
        except OSError:
            inside = False
        if not inside:
            return "outside the notes file's folder"
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            return "not an image file"
        return None

    def _render_image(self, tokens, idx):
        token = tokens[idx]
        alt = "".join(child.content for child in (token.children or []))
        return self.image_html(token.attrGet("src") or "", alt)

    def sanitize(self, fragment: str) -> str:
        budget = self._budget
        if budget.cut:
            return ""
        s = _Sanitizer(self.image_html, budget)
        for start in range(0, len(fragment), _CHUNK):
            s.feed(fragment[start:start + _CHUNK])
            if budget.tags > MAX_HTML_TAGS:
                budget.cut = True
                left = len(s.rawdata) + max(0, len(fragment) - start - _CHUNK)
                s.rawdata = ""
                s.out.append(f'<span class="missing-image">[the rest of this card has more '
                             f'than {MAX_HTML_TAGS:,} HTML tags; {left:,} characters are '
                             'not shown]</span>')
                s.out.extend(reversed(budget.open))  # close what was passed on
                budget.open.clear()
                break
        return s.result()

    # -- rendering --
    def _prepare(self, tokens) -> None:
        """Drop dangerous inline elements with their content; mark legend lines."""
        for i, tok in enumerate(tokens):
            if tok.type != "inline":
                continue
            if tok.children:
                tok.children = _drop_dangerous_inline(tok.children)
            cls = _highlight_class(tok.content)
            if cls is None or i == 0:
                continue
            opener = tokens[i - 1]
            if opener.type in ("paragraph_open", "heading_open"):
                if opener.hidden:  # tight list: show the <p> so the line can carry the class
                    opener.hidden = False
                    tokens[i + 1].hidden = False
                    opener.attrSet("style", "margin-top:0px; margin-bottom:0px;")
                opener.attrSet("class", cls)

    def render(self, markdown: str) -> str:
        """Block markdown (an answer) to HTML."""
        text = "\n".join("" if _BR_LINE_RE.match(ln) else ln for ln in markdown.split("\n"))
        self._budget = _HtmlBudget()
        tokens = self.md.parse(text)
        self._prepare(tokens)
        return self.md.renderer.render(tokens, self.md.options, {})

    def render_inline(self, markdown: str) -> str:
        """One line of markdown (a question) to inline HTML."""
        self._budget = _HtmlBudget()
        tokens = self.md.parseInline(markdown.strip())
        for tok in tokens:
            if tok.children:
                tok.children = _drop_dangerous_inline(tok.children)
        return self.md.renderer.render(tokens, self.md.options, {}).strip()


def _highlight_class(text: str) -> str | None:
    for marker, cls, _meaning in HIGHLIGHTS:
        if marker in text:
            return cls
    return None


def _drop_dangerous_inline(children):
    out, skipping = [], None
    for child in children:
        if child.type == "html_inline":
            m = re.match(r"<\s*(/?)\s*([a-zA-Z0-9]+)", child.content)
            if m:
                closing, tag = m.group(1) == "/", m.group(2).lower()
                if skipping:
                    if closing and tag == skipping:
                        skipping = None
                    continue
                if tag in _DANGEROUS and not closing and not child.content.rstrip().endswith("/>"):
                    skipping = tag
                    continue
        elif skipping:
            continue
        out.append(child)
    return out


def render_markdown(markdown: str, base_dir: str | Path | None = None) -> str:
    return Renderer(base_dir).render(markdown)


def render_inline(markdown: str) -> str:
    return Renderer(None).render_inline(markdown)
