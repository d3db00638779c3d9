"""Machine-checkable conditions: a snippet's ``when`` against the facts detected in a question.

A snippet's ``conditions`` are prose for the reader; its ``when`` is the part a program can check:
``when: {cpu_vendor: mixed}`` on the Intel-to-AMD answer means an Intel-only question never gets it.
Each key is one fact the drafter detects; a value the question contradicts rules the snippet out,
and a fact the question does not give is what a clarifying question asks for.
"""
from __future__ import annotations

import re

from kb.facts import Facts

# key -> the values a snippet may require, and the content `needs` value that asks for the fact.
WHEN_KEYS: dict[str, tuple[tuple[str, ...], str]] = {
    "cpu_vendor": (("same", "mixed"), "cpu_vendor"),
    "cluster": (("yes", "no"), "cluster"),
    "guest": (("windows", "linux"), "guest_os"),
    # Which Windows a Windows guest is: AVMA and Windows Server licences cover server guests, never a
    # Windows 10 or 11 VM, which has licensing of its own.
    "guest_edition": (("server", "client"), "guest_os"),
    "generation": (("1", "2"), "vm_generation"),
    "boot_media": (("iso", "disk"), "boot_media"),
    "host": (("physical", "vm"), "host_kind"),
    # The hypervisor under the VM that Hyper-V, WSL 2 or Docker runs in: Hyper-V's nested steps need Hyper-V
    # (or Azure) underneath, not VirtualBox or VMware.
    "outer": (("hyper-v", "other"), "host_kind"),
}


# A prose condition in one of these plain forms states a `when` fact: the content must carry it as `when`
# too (tests/test_content_quality.py), and a draft need not repeat it to an asker who says as much.
CONDITION_FORMS: list[tuple[re.Pattern, str, str]] = [
    (re.compile(r"^the guests? (?:is|are|runs?) (?:a )?windows\b", re.I), "guest", "windows"),
    (re.compile(r"^the guests? (?:is|are|runs?) (?:a )?linux\b", re.I), "guest", "linux"),
    (re.compile(r"^the guests? (?:is|are|runs?) windows server\b", re.I), "guest_edition", "server"),
    (re.compile(r"^the guests? (?:is|are|runs?) (?:a )?windows (?:desktop|client) edition\b", re.I),
     "guest_edition", "client"),
    (re.compile(r"^the vm is generation 1\b", re.I), "generation", "1"),
    (re.compile(r"^the vm is generation 2\b", re.I), "generation", "2"),
    (re.compile(r"^the (?:host is a|hosts are)(?: \w+)? (?:failover )?cluster nodes?\b", re.I), "cluster", "yes"),
    (re.compile(r"^the vms? (?:is|are) (?:a )?clustered\b", re.I), "cluster", "yes"),
    (re.compile(r"^the (?:host is|hosts are|server is) (?:not (?:clustered|a failover cluster node)|"
                r"(?:a )?stand-?alone)\b", re.I), "cluster", "no"),
    (re.compile(r"\bruns? directly on a physical (?:pc|server), not inside a vm\b", re.I), "host", "physical"),
]
# What may follow a form and add nothing to it: a role noun, a gloss in brackets ("(UEFI firmware)"),
# and the other value ruled out (", not Windows Server", ", not a cluster node"), which says the same fact
# again. A draft repeated "It holds when the guest runs a Windows desktop edition, not Windows Server" to
# an asker with a Windows 10 VM (rq-310).
_ROLE = r"(?: (?:hyper-v )?(?:role|node|guest|host)s?)?"
_NOTHING_MORE = re.compile(r"^" + _ROLE + r"(?: \([^)]*\))?" + _ROLE +
                           r"(?:, not (?:an? )?(?:windows server|windows|linux|(?:failover )?cluster node|clustered|"
                           r"generation [12]|inside a vm))?\.?$", re.I)


def condition_fact(condition: str) -> tuple[str, str] | None:
    """The `when` fact a prose condition states and nothing more, or None.

    >>> condition_fact("the VM is generation 2 (UEFI firmware)"), condition_fact("the guest runs Linux")
    (('generation', '2'), ('guest', 'linux'))
    >>> condition_fact("the guest is a Linux desktop distribution") is None
    True
    >>> condition_fact("the guests run Windows Server (client Windows has no NIC Teaming)")
    ('guest_edition', 'server')
    >>> condition_fact("the guest runs a Windows desktop edition, not Windows Server")
    ('guest_edition', 'client')
    >>> condition_fact("the host is a stand-alone Hyper-V host, not a cluster node")
    ('cluster', 'no')
    >>> condition_fact("the guest runs Windows, not in S mode") is None
    True
    """
    for rx, key, value in CONDITION_FORMS:
        m = rx.search(condition)
        if m and m.start() == 0 and _NOTHING_MORE.match(condition[m.end():]):
            return key, value
    return None


def parse_when(value) -> tuple[dict[str, str], list[str]]:
    """Validate a ``when`` mapping from front matter: (the normalised mapping, problems in words)."""
    if value is None:
        return {}, []
    if not isinstance(value, dict):
        return {}, [f"'when' must be a mapping such as {{cpu_vendor: mixed}}, not {type(value).__name__}"]
    out: dict[str, str] = {}
    problems = []
    for key, raw in value.items():
        if key not in WHEN_KEYS:
            problems.append(f"when: unknown key {key!r} (known: {', '.join(WHEN_KEYS)})")
            continue
        allowed = WHEN_KEYS[key][0]
        # YAML reads "yes"/"no" as booleans and "1"/"2" as numbers; 1 == True in Python, so test the type.
        if isinstance(raw, bool):
            text = "yes" if raw else "no"
        else:
            text = str(raw).strip().lower() if raw is not None else ""
        if text not in allowed:
            problems.append(f"when: {key} must be one of {', '.join(allowed)}, not {raw!r}")
            continue
        out[key] = text
    return out, problems


def known_facts(facts: Facts) -> dict[str, str]:
    """The ``when`` keys a question settles, with their values; keys it leaves open are absent."""
    out: dict[str, str] = {}
    if len(facts.cpu_vendors) >= 2:
        out["cpu_vendor"] = "mixed"
    elif len(facts.cpu_vendors) == 1 and (len(facts.cpu_models) >= 2 or (facts.host_count or 0) >= 2):
        # One vendor named for two or more processors or hosts: they are all that vendor's.
        out["cpu_vendor"] = "same"
    if facts.cluster is not None:
        out["cluster"] = "yes" if facts.cluster else "no"
    guests = [g.lower() for g in facts.guest_os]
    # kb.facts.GUEST_OS names Windows versions and Linux or BSD systems: whatever is not a Windows is one of those.
    linux = any(not g.startswith("windows") for g in guests)
    windows = any(g.startswith("windows") for g in guests)
    if linux != windows:
        out["guest"] = "linux" if linux else "windows"
    if facts.guest_edition:
        out["guest_edition"] = facts.guest_edition
    if facts.vm_generation in (1, 2):
        out["generation"] = str(facts.vm_generation)
    if facts.boot_media:
        out["boot_media"] = facts.boot_media
    if facts.host_kind:
        out["host"] = facts.host_kind
    if facts.outer_hypervisor:
        out["outer"] = "other"
    return out


def presumed_facts(facts: Facts) -> dict[str, str]:
    """The ``when`` keys presumed from what the paste is about (:attr:`Facts.presumed_guest_edition`):
    they settle what to ask, not which answer fits, so :func:`known_facts` leaves them out."""
    if facts.presumed_guest_edition:
        return {"guest": "windows", "guest_edition": facts.presumed_guest_edition}
    return {}


def contradicts(when: dict[str, str], known: dict[str, str]) -> bool:
    """Whether the question settles a ``when`` key the other way."""
    return any(k in known and known[k] != v for k, v in when.items())


def agreement(when: dict[str, str], known: dict[str, str]) -> int:
    """How many of the snippet's ``when`` keys the question settles the same way."""
    return sum(1 for k, v in when.items() if known.get(k) == v)


def deciding_needs(whens: list[dict[str, str]], known: dict[str, str]) -> list[str]:
    """The ``needs`` to ask about: keys on which the candidate answers differ and the question is silent.

    >>> deciding_needs([{"cpu_vendor": "mixed"}, {"cpu_vendor": "same"}], {})
    ['cpu_vendor']
    >>> deciding_needs([{"cpu_vendor": "mixed"}, {"cpu_vendor": "same"}], {"cpu_vendor": "same"})
    []
    """
    out = []
    for key, (_allowed, need) in WHEN_KEYS.items():
        if key in known:
            continue
        values = {w[key] for w in whens if key in w}
        if len(values) > 1 and need not in out:
            out.append(need)
    return out
