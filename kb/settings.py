"""Settings: the one home for defaults. Built once at the edge (CLI, web app) and passed down."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent

# Caps on user input. A forum question is a few KB; 20,000 characters leaves room for a pasted
# log excerpt while keeping a single request cheap.
MAX_QUESTION_CHARS = 20_000
MAX_QUERY_CHARS = 2_000

# `hvkb serve`: open connections at once (waitress's default; each is a file descriptor), and the
# seconds one may sit idle, a half-sent request included. A real client sends its request in
# milliseconds; waitress's own 120 s let 100 half-sent requests lock every client out for two minutes.
SERVE_CONNECTION_LIMIT = 100
SERVE_CHANNEL_TIMEOUT = 10

# Feedback one client may post (enforced by the web app): a person rates a draft in seconds, not
# several a second. A bucket of FEEDBACK_BURST refilled at FEEDBACK_PER_MINUTE lets one person go
# through a few drafts quickly. `hvkb serve --feedback-rate` changes the rate. (Here, not in
# kb.history, so the CLI's option default does not import the store at every start.)
FEEDBACK_PER_MINUTE = 12
FEEDBACK_BURST = 6


def default_content_dir() -> Path:
    """Return the content shipped with the package (wheel) or the repository's ``content/``."""
    shipped = PACKAGE_DIR / "_content"
    if shipped.is_dir():
        return shipped
    return PACKAGE_DIR.parent / "content"


def default_home_dir() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("hvkb", appauthor=False))


@dataclass(frozen=True)
class Settings:
    content_dir: Path = field(default_factory=default_content_dir)
    home_dir: Path = field(default_factory=default_home_dir)
    index_dir_override: Path | None = None
    search_limit: int = 10
    max_question_chars: int = MAX_QUESTION_CHARS
    max_query_chars: int = MAX_QUERY_CHARS

    @property
    def index_dir(self) -> Path:
        return self.index_dir_override or (self.home_dir / "index")

    def with_(self, **changes) -> "Settings":
        return replace(self, **changes)

    @classmethod
    def from_options(cls, content: str | Path | None = None, index: str | Path | None = None,
                     home: str | Path | None = None) -> "Settings":
        """Build settings from optional CLI/env values; ``None`` keeps the default."""
        kwargs: dict = {}
        if content:
            kwargs["content_dir"] = Path(content).expanduser().resolve()
        if home:
            kwargs["home_dir"] = Path(home).expanduser().resolve()
        if index:
            kwargs["index_dir_override"] = Path(index).expanduser().resolve()
        return cls(**kwargs)
