"""Markdown with raw HTML off: sections, plain text, and HTML rendering (markdown-it-py)."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from markdown_it import MarkdownIt

from kb.text import slugify


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    # "commonmark" with html=False: any HTML in content or user text is shown as text, never run.
    return MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")


@dataclass(frozen=True)
class RawSection:
    heading: str
    anchor: str
    markdown: str
    line: int  # 0-based line of the heading within the body


def split_sections(body: str) -> tuple[str, list[RawSection]]:
    """Split a Markdown body at its ``##`` headings.

    :returns: the intro before the first ``##`` heading, and the sections in order.
    """
    lines = body.splitlines()
    heads: list[tuple[int, str]] = []
    toks = _parser().parse(body)
    for tok, nxt in zip(toks, toks[1:]):
        if tok.type == "heading_open" and tok.tag == "h2" and tok.map:
            heads.append((tok.map[0], nxt.content.strip()))
    if not heads:
        return body.strip(), []
    intro = "\n".join(lines[:heads[0][0]]).strip()
    sections = []
    seen: dict[str, int] = {}
    for i, (line, heading) in enumerate(heads):
        end = heads[i + 1][0] if i + 1 < len(heads) else len(lines)
        anchor = slugify(heading) or "section"
        if anchor in seen:  # two headings with one name still get distinct anchors
            seen[anchor] += 1
            anchor = f"{anchor}-{seen[anchor]}"
        else:
            seen[anchor] = 1
        sections.append(RawSection(heading, anchor, "\n".join(lines[line + 1:end]).strip(), line))
    return intro, sections


@lru_cache(maxsize=4096)
def plain_text(markdown: str) -> str:
    """Markdown to plain text (inline markup dropped, blocks on their own lines).

    Cached: drafting reads the same article sections' text for many questions (a pure function
    of an immutable string; content texts are a bounded set, a build streams past the cache).
    """
    out: list[str] = []
    for tok in _parser().parse(markdown):
        if tok.type == "inline":
            out.append("".join(c.content if c.type in ("text", "code_inline") else " "
                               for c in (tok.children or []) if c.type in ("text", "code_inline", "softbreak", "hardbreak"))
                       or tok.content)
        elif tok.type in ("code_block", "fence"):
            out.append(tok.content.strip())
    return "\n".join(s for s in out if s)


def render_html(markdown: str) -> str:
    """Render Markdown to HTML; raw HTML in the source is escaped, headings get anchors."""
    md = _parser()
    tokens = md.parse(markdown)
    seen: dict[str, int] = {}
    for i, tok in enumerate(tokens):
        if tok.type == "heading_open" and i + 1 < len(tokens):
            anchor = slugify(tokens[i + 1].content) or "section"
            if anchor in seen:
                seen[anchor] += 1
                anchor = f"{anchor}-{seen[anchor]}"
            else:
                seen[anchor] = 1
            tok.attrSet("id", anchor)
    return md.renderer.render(tokens, md.options, {})
