"""Product versions: the names content may use in ``applies_to``, their order, and parsing.

>>> expand_applies_to(["Windows Server 2019+"])
['Windows Server 2019', 'Windows Server 2022', 'Windows Server 2025']
>>> find_versions("we run 2k8r2 hosts and one W2K12 R2 box")
['Windows Server 2008 R2', 'Windows Server 2012 R2']
"""
from __future__ import annotations

import re

# Release order matters: "2012+" means every Windows Server release from 2012 on.
WINDOWS_SERVER = [
    "Windows Server 2008",
    "Windows Server 2008 R2",
    "Windows Server 2012",
    "Windows Server 2012 R2",
    "Windows Server 2016",
    "Windows Server 2019",
    "Windows Server 2022",
    "Windows Server 2025",
]
# Microsoft shipped no free Hyper-V Server after 2019.
HYPERV_SERVER = [
    "Hyper-V Server 2008",
    "Hyper-V Server 2008 R2",
    "Hyper-V Server 2012",
    "Hyper-V Server 2012 R2",
    "Hyper-V Server 2016",
    "Hyper-V Server 2019",
]
CLIENT = ["Windows 8", "Windows 10", "Windows 11"]
OTHER = ["Azure"]
ALL_VERSIONS = WINDOWS_SERVER + HYPERV_SERVER + CLIENT + OTHER

_FAMILIES = (WINDOWS_SERVER, HYPERV_SERVER, CLIENT)


def release_of(version: str) -> str:
    """Return the release part of a version name ("2012 R2" for either family)."""
    return re.sub(r"^(Windows Server|Hyper-V Server|Windows)\s+", "", version)


def expand_applies_to(entries: list[str]) -> list[str]:
    """Expand ``X+`` entries to X and every later release of its family; keep order, no repeats.

    :raises ValueError: an entry that is not a known version name.
    """
    out: list[str] = []
    for raw in entries:
        entry = raw.strip()
        plus = entry.endswith("+")
        name = entry[:-1].strip() if plus else entry
        if name not in ALL_VERSIONS:
            raise ValueError(f"unknown version {raw!r}")
        names = [name]
        if plus:
            family = next((f for f in _FAMILIES if name in f), [name])
            names = family[family.index(name):]
        for n in names:
            if n not in out:
                out.append(n)
    return out


def server_equivalent(version: str) -> str | None:
    """Map Hyper-V Server N to Windows Server N (same hypervisor); ``None`` for others."""
    if version in WINDOWS_SERVER:
        return version
    if version in HYPERV_SERVER:
        return "Windows Server " + release_of(version)
    return None


def version_rank(version: str) -> int | None:
    """Position of the version's release in the Windows Server order, for comparisons."""
    eq = server_equivalent(version)
    return WINDOWS_SERVER.index(eq) if eq else None


def covers(applies_to: list[str], version: str) -> bool:
    """Whether a (expanded) ``applies_to`` list covers ``version`` (Hyper-V Server = Windows Server)."""
    if not applies_to or version in applies_to:
        return True
    eq = server_equivalent(version)
    return eq is not None and any(server_equivalent(v) == eq for v in applies_to)


# "2008 R2", "2k8r2", "W2K12 R2", "2012r2", "server 2019", "WS2016", "2k16", "hyper-v server 2019".
_YEAR = r"(?:20)?(?:08|12|16|19|22|25)|2k(?:8|12|16|19|22|25)|2008|2012|2016|2019|2022|2025"
_VERSION_RE = re.compile(
    r"(?<![\w.])(?P<prefix>(?:windows\s*server|win\s*server|server|ws|w|win|hyper-?v\s*server|hyper-?v)\s*)?"
    r"(?P<year>2k(?:8|12|16|19|22|25)|20(?:08|12|16|19|22|25)|(?<=[wW])(?:2k)?(?:8|12|16|19|22|25))"
    r"(?P<r2>\s*-?\s*r2)?(?!\w|\.\w)",
    re.IGNORECASE,
)
_CONTEXT = r"(server|hyper-?v|ws|hosts?|clusters?|nodes?|windows|datacenter|standard|core|boxe?s?)\b"
# A bare year right after a version, joined by "to", "and", "or", "/" ("from 2012r2 to 2022").
_LIST_JOIN = re.compile(r"\s*(?:,|/|->|to|and|or|vs\.?|then)\s*$", re.I)
# Windows Server builds; a client shares them, so they count only where the text says server.
SERVER_BUILDS = {"7601": "Windows Server 2008 R2", "9200": "Windows Server 2012", "9600": "Windows Server 2012 R2",
                 "14393": "Windows Server 2016", "17763": "Windows Server 2019", "20348": "Windows Server 2022",
                 "26100": "Windows Server 2025"}
# Builds as winver or systeminfo print them ("10.0.17763"), as "Build 20348", or as bug-report templates
# write them ("Host OS: 19041"; not a guest's, "Guest OS: 19041").
_BUILD_RE = re.compile(r"(?:\b(?:6\.[123]|10\.0)\.|\bbuild\s*|(?<!guest )\bOS(?: build| version)?\s*:\s*)(\d{4,5})\b",
                       re.I)
_YEARS = {"8": "2008", "08": "2008", "12": "2012", "16": "2016", "19": "2019", "22": "2022", "25": "2025"}


def _client_of_build(build: str) -> str | None:
    """The client a build names where the text names no server: Windows 10 for builds 10240 (1507) to
    19045 (22H2), Windows 11 from 22000 (21H2); ``None`` for a build a Windows Server release shares
    (14393, 17763, 26100: "10.0.17763" may be either)."""
    if build in SERVER_BUILDS:
        return None
    n = int(build)
    if 10240 <= n <= 19045:
        return "Windows 10"
    if 22000 <= n <= 26200:
        return "Windows 11"
    return None


def _year(token: str) -> str | None:
    t = token.lower()
    if t.startswith("2k"):
        t = t[2:]
    if len(t) == 4:
        return t
    return _YEARS.get(t)


def find_versions(text: str) -> list[str]:
    """Find Windows Server / Hyper-V Server versions written any common way, in order of appearance.

    A bare year counts only with a server-ish prefix or an R2 suffix or when written as a
    server shorthand (``2k8r2``, ``W2K12``); "Windows 10" style client names are matched too, and so
    are build numbers: a server's where the text says server, a client's where it does not.
    """
    found: list[str] = []
    last_end = -1

    def add(v: str) -> None:
        if v not in found:
            found.append(v)

    for m in _VERSION_RE.finditer(text):
        year = _year(m.group("year"))
        if not year:
            continue
        prefix = (m.group("prefix") or "").lower().replace(" ", "")
        r2 = bool(m.group("r2"))
        raw_year = m.group("year").lower()
        listed = last_end >= 0 and m.start() - last_end <= 8 and bool(_LIST_JOIN.match(text[last_end:m.start()]))
        if not prefix and not r2 and not raw_year.startswith("2k") and not listed:
            # A bare 4-digit year: only trust it next to a server word nearby, or listed after a version.
            before = text[max(0, m.start() - 40):m.start()].lower()
            after = text[m.end():m.end() + 30].lower()
            if not (re.search(_CONTEXT + r"\W*(\w+\W+){0,3}$", before)
                    or re.match(r"\W*(\w+\W+){0,1}" + _CONTEXT, after)):
                continue
        if r2 and year not in ("2008", "2012"):
            r2 = False
        family = "Hyper-V Server" if prefix.startswith("hyper") and "server" in prefix else "Windows Server"
        name = f"{family} {year}{' R2' if r2 else ''}"
        if name in ALL_VERSIONS:
            add(name)
            last_end = m.end()
    server = re.search(r"\bserver\b", text, re.I)
    for m in _BUILD_RE.finditer(text):
        name = SERVER_BUILDS.get(m.group(1)) if server else _client_of_build(m.group(1))
        if name:
            add(name)
    for m in re.finditer(r"\b(?:w|win\s*|windows\s*)(8|10|11)\b(?!\s*(?:server|r2))", text, re.IGNORECASE):
        add(f"Windows {m.group(1)}")
    return found


def normalize_version(text: str) -> str | None:
    """Turn a user-typed version ("2012 R2", "ws2016", "Windows Server 2019") into its name."""
    t = text.strip()
    if t in ALL_VERSIONS:
        return t
    for v in ALL_VERSIONS:
        if v.lower() == t.lower():
            return v
    found = find_versions(t if re.search(r"[a-zA-Z]", t) else f"server {t}")
    return found[0] if found else None


# A sentence that opens by naming the releases it is about: "On Windows Server 2012 R2 hosts ...",
# "In 2008 R2 ...", "On Windows Server 2016 to 2022 ...", "On 2016 and later ...".
_SCOPE_OPENING = re.compile(r"^(?:On|In|For|With)\s+(?:a\s+)?(?P<scope>(?:Windows Server |Hyper-V Server )?"
                            r"20(?:08|12|16|19|22|25)\b[^,:;.]{0,60})")
_SCOPE_RELEASE = re.compile(r"\b20(08|12|16|19|22|25)\b(\s*R2)?")
_SCOPE_END = re.compile(r"\b(?:hosts?|clusters?|guests?|nodes?|VMs?|SP1)\b")


def scope_of(sentence: str) -> list[str] | None:
    """The Windows Server releases a sentence's opening scopes it to, or ``None`` when it opens
    without one, names a client Windows (whose scope this does not judge), or also speaks of a release
    outside it ("On 2008 R2 that means separate NICs; from 2012 it can also be VLANs" is about both).

    >>> scope_of("On Windows Server 2012 R2 hosts that template does not exist.")
    ['Windows Server 2012 R2']
    >>> scope_of("On 2008 and 2008 R2 hosts WSB works per volume instead.")
    ['Windows Server 2008', 'Windows Server 2008 R2']
    >>> scope_of("On Windows Server 2016 to 2022 it also cannot be a highly available cluster role.")
    ['Windows Server 2016', 'Windows Server 2019', 'Windows Server 2022']
    >>> scope_of("On 2016 and later select it.")[-1], scope_of("Run it on the host.")
    ('Windows Server 2025', None)
    >>> scope_of("On 2008 R2 that means separate NICs; from 2012 it can also be VLANs.") is None
    True
    """
    m = _SCOPE_OPENING.match(sentence)
    if not m:
        return None
    scope = m.group("scope")
    end = _SCOPE_END.search(scope)
    if end:
        scope = scope[:end.start()]
    if re.search(r"\bWindows (?:8|10|11)\b", scope):
        return None
    named = [f"Windows Server 20{y}{' R2' if r2 else ''}" for y, r2 in _SCOPE_RELEASE.findall(scope)]
    named = [n for n in named if n in WINDOWS_SERVER]
    if not named:
        return None
    ranks = sorted(WINDOWS_SERVER.index(n) for n in named)
    if re.search(r"\b(?:and|or) (?:later|newer|up)\b|\+", scope) or re.search(r"\blater releases?\b", sentence):
        out = WINDOWS_SERVER[ranks[0]:]
    elif len(ranks) == 2 and re.search(r"\d\s*(?:to|-|through)\s*(?:Windows Server )?20", scope):
        out = WINDOWS_SERVER[ranks[0]:ranks[1] + 1]
    else:
        out = list(dict.fromkeys(named))
    elsewhere = {f"Windows Server 20{y}{' R2' if r2 else ''}" for y, r2 in _SCOPE_RELEASE.findall(sentence)}
    if elsewhere & set(WINDOWS_SERVER) - set(out):
        return None
    return out
