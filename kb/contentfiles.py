"""Reading content files safely and parsing their YAML.

Only regular files are read (never a FIFO or a device behind a symlink), each under a size cap, and
YAML is parsed without aliases or absurd nesting: a broken or hostile file is one ``file:line``
problem, never a hang, a traceback or a memory blow-up. :mod:`kb.content` builds the models on top.
"""
from __future__ import annotations

import hashlib
import os
import stat
from functools import cache
from pathlib import Path

from kb.errors import ContentError

# 1 MB per article or snippet: 50x the longest real article. Past it a file is a mistake (a pasted
# log, a binary): a 50 MB article built for 120 s and was served as 55 MB of HTML.
MAX_DOCUMENT_BYTES = 1_000_000
# glossary.yaml and topics.yaml: 30x today's glossary, still parsed in well under a second.
MAX_LIST_BYTES = 2_000_000
LIST_FILES = ("topics.yaml", "glossary.yaml")
# Real content nests 4 levels; libyaml stops at 1000 and the pure-Python parser overflows the
# stack near 300, so a limit far below both gives a file:line error instead of a traceback.
MAX_YAML_DEPTH = 50


def content_files(content_dir: Path) -> list[Path]:
    """Every file that makes up the content, in a stable order (for loading and hashing).

    Includes entries that are not regular files (a FIFO, a device link): the loader reports them.
    """
    files = [content_dir / "topics.yaml", content_dir / "glossary.yaml"]
    files += sorted((content_dir / "articles").glob("*.md"))
    files += sorted((content_dir / "snippets").glob("*.md"))
    return [f for f in files if os.path.lexists(f)]


def content_hash(content_dir: Path) -> str:
    """A hash of every content file's name and bytes: the index is stale when it changes.

    A file the loader refuses (not a regular file, over its size cap) is not read: its kind, size
    and modification time stand in for its bytes, which is enough to notice it changed.
    """
    h = hashlib.sha256()
    for f in content_files(content_dir):
        h.update(f.relative_to(content_dir).as_posix().encode() + b"\0")
        try:
            h.update(read_regular_file(f, size_limit(f)) + b"\0")
        except Unreadable as exc:
            h.update(b"\1" + exc.fingerprint + b"\0")  # reported by the loader; the hash only needs to be stable
    return h.hexdigest()


def size_limit(path: Path) -> int:
    return MAX_LIST_BYTES if path.name in LIST_FILES else MAX_DOCUMENT_BYTES


class Unreadable(Exception):
    """A content file that is not read: ``message`` for the user, ``fingerprint`` for the hash."""

    def __init__(self, message: str, fingerprint: bytes):
        super().__init__(message)
        self.message, self.fingerprint = message, fingerprint


_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "an unknown kind of file")


def read_regular_file(path: Path, limit: int) -> bytes:
    """Return the bytes of a regular file (or of a symlink to one) of at most ``limit`` bytes.

    Checks with ``os.stat`` before opening, so a FIFO is never opened and a device never read
    (``/dev/zero`` would be read until memory runs out); opens non-blocking and checks the opened
    file again, in case it was swapped in between; reads at most ``limit + 1`` bytes.

    :raises Unreadable: missing, not a regular file, too large, or an OS error.
    """
    try:
        st = os.stat(path)
    except OSError as exc:
        raise Unreadable(f"cannot read the file: {exc.strerror or exc}", b"unreadable") from None
    if not stat.S_ISREG(st.st_mode):
        kind = _kind(st.st_mode)
        what = f"a symlink to {kind}" if path.is_symlink() else kind
        raise Unreadable(f"not a regular file ({what})", f"special {stat.S_IFMT(st.st_mode)}".encode())
    fingerprint = f"large {st.st_size} {st.st_mtime_ns}".encode()
    if st.st_size > limit:
        raise Unreadable(f"too large ({st.st_size} bytes; the limit is {limit})", fingerprint)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        raise Unreadable(f"cannot read the file: {exc.strerror or exc}", b"unreadable") from None
    with open(fd, "rb") as fh:
        st = os.fstat(fh.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise Unreadable(f"not a regular file ({_kind(st.st_mode)})", f"special {stat.S_IFMT(st.st_mode)}".encode())
        try:
            data = fh.read(limit + 1)
        except OSError as exc:
            raise Unreadable(f"cannot read the file: {exc.strerror or exc}", b"unreadable") from None
    if len(data) > limit:  # it grew after the stat
        raise Unreadable(f"too large (over {limit} bytes; the limit is {limit})", fingerprint)
    return data


def read_text(path: Path, errors: list[ContentError]) -> str | None:
    try:
        data = read_regular_file(path, size_limit(path))
    except Unreadable as exc:
        errors.append(ContentError(path, 1, exc.message))
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        errors.append(ContentError(path, line, f"not valid UTF-8 (byte 0x{data[exc.start]:02x}); save the file as UTF-8"))
        return None
    if "\0" in text:
        errors.append(ContentError(path, text[:text.index("\0")].count("\n") + 1, "contains a NUL byte (binary file?)"))
        return None
    return text.lstrip("\ufeff")


def parse_front_matter(text: str, path: Path) -> tuple[dict, dict[str, int], str, int]:
    """Split a Markdown file into front matter, key lines, body, and the body's first line number.

    :returns: ``(data, lines, body, body_line)``; ``lines`` maps each top-level key (and
        ``key[i]`` for list items) to its 1-based line in the file.
    :raises ContentError: no opening ``---``, an unterminated block, or invalid YAML, with file:line.
    """
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        raise ContentError(path, 1, "front matter: the file must start with a '---' line")
    end = next((i for i in range(1, len(lines)) if lines[i].strip() in ("---", "...")), None)
    if end is None:
        raise ContentError(path, 1, "front matter: the '---' block is not closed by a second '---' line")
    front = "\n".join(lines[1:end])
    data, key_lines = _load_yaml_mapping(front, path, offset=1)
    body = "\n".join(lines[end + 1:])
    return data, key_lines, body, end + 2


def _compose_and_load(text: str):
    """Parse YAML once: the node tree (for key lines) and the data built from that same tree.

    Uses libyaml's ``CSafeLoader`` when PyYAML has it (about 25x faster than the pure-Python
    loader, which parsing every file twice made a quarter of a 10k-document build). A file
    libyaml rejects, or whose tree :func:`_tree_is_plain` refuses, is parsed again by the
    pure-Python :func:`_strict_loader`, whose messages the errors show.

    :raises yaml.YAMLError: invalid YAML, an alias, or nesting deeper than :data:`MAX_YAML_DEPTH`.
    """
    import yaml

    fast = getattr(yaml, "CSafeLoader", None)
    if fast is not None:
        loader = fast(text)
        try:
            node = loader.get_single_node()
            if _tree_is_plain(node):
                return node, (loader.construct_document(node) if node is not None else None)
        except yaml.YAMLError:
            pass
        finally:
            loader.dispose()
    loader = _strict_loader()(text)
    try:
        node = loader.get_single_node()
        return node, (loader.construct_document(node) if node is not None else None)
    finally:
        loader.dispose()


def _tree_is_plain(node) -> bool:
    """True when a composed tree has no alias (no node reached twice) and no deep nesting.

    Walks without recursion and visits each node once, so a 'billion laughs' tree costs its
    size in the file, not its expanded size.
    """
    import yaml

    seen: set[int] = set()
    stack = [(node, 1)] if node is not None else []
    while stack:
        n, depth = stack.pop()
        if id(n) in seen or depth > MAX_YAML_DEPTH:
            return False
        seen.add(id(n))
        if isinstance(n, yaml.SequenceNode):
            stack.extend((child, depth + 1) for child in n.value)
        elif isinstance(n, yaml.MappingNode):
            stack.extend((child, depth + 1) for pair in n.value for child in pair)
    return True


@cache
def _strict_loader():
    """The pure-Python ``SafeLoader``, refusing aliases and deep nesting where they occur (file:line).

    An alias is how a small file expands into gigabytes (``a: &a [x, x]``, ``b: [*a, *a]``, ...);
    content never needs one, so any alias is refused rather than budgeted.
    """
    import yaml
    from yaml.composer import ComposerError

    class Refused(ComposerError):
        """Valid YAML that content may not use: shown without the 'invalid YAML' prefix."""

    class StrictSafeLoader(yaml.SafeLoader):
        refused = Refused
        _depth = 0

        def compose_node(self, parent, index):
            event = self.peek_event()
            if isinstance(event, yaml.AliasEvent):
                raise Refused(None, None, "YAML aliases (*name) are not allowed in content files; write the value out",
                              event.start_mark)
            if self._depth >= MAX_YAML_DEPTH:
                raise Refused(None, None, f"YAML nested more than {MAX_YAML_DEPTH} levels deep", event.start_mark)
            self._depth += 1
            try:
                return super().compose_node(parent, index)
            finally:
                self._depth -= 1

    return StrictSafeLoader


def parse_yaml(text: str, path: Path, offset: int = 0):
    """Parse one YAML document of a content file: ``(node, data)``, the one way every file is read.

    :param offset: lines before ``text`` in the file (1 for front matter, after the ``---``).
    :raises ContentError: invalid YAML, an alias, or too deep, at the file line of the problem.
    """
    import yaml

    try:
        return _compose_and_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = (mark.line + 1 + offset) if mark else offset + 1
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        refused = isinstance(exc, _strict_loader().refused)
        raise ContentError(path, line, problem if refused else f"invalid YAML: {problem}") from None
    except RecursionError:  # a guard of last resort: the strict loader stops far earlier
        raise ContentError(path, offset + 1, f"YAML nested more than {MAX_YAML_DEPTH} levels deep") from None


def _load_yaml_mapping(text: str, path: Path, offset: int) -> tuple[dict, dict[str, int]]:
    node, data = parse_yaml(text, path, offset)
    if data is None:
        data, node = {}, None
    if not isinstance(data, dict):
        raise ContentError(path, offset + 1, "front matter must be a mapping of 'key: value' lines")
    return data, _key_lines(node, offset)


def _key_lines(node, offset: int) -> dict[str, int]:
    import yaml

    out: dict[str, int] = {}
    if not isinstance(node, yaml.MappingNode):
        return out
    for k, v in node.value:
        key = str(k.value)
        if key in out:
            out.setdefault(f"__dup__{key}", k.start_mark.line + 1 + offset)
        out[key] = k.start_mark.line + 1 + offset
        if isinstance(v, yaml.SequenceNode):
            for i, item in enumerate(v.value):
                out[f"{key}[{i}]"] = item.start_mark.line + 1 + offset
    return out
