"""What a pasted question asks: its question sentences, the error text, and what was already tried.

A forum paste mixes the ask ("Can I live migrate between these hosts?") with context (setup, logs)
and with steps the asker has done ("I already enabled processor compatibility"). The drafter ranks
against the ask and the errors first, and never offers a step the asker says they have done.
Pure functions on cleaned text: no index, no I/O.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(`])|\n+")
_ASK_START = re.compile(
    r"^\s*(?:how|can|could|is|are|was|were|does|do|did|should|would|will|why|what|which|who|"
    r"any(?:one|body)? (?:know|have|seen|idea)|has anyone|have you|is there|are there|"
    r"i (?:want|need|would like|am trying|'m trying) to|we (?:want|need|would like|are trying|'re trying) to|"
    r"looking for|wondering|need help|please (?:help|advise)|help)\b", re.I)
_TRIED = re.compile(
    r"\b(?:i|we)(?:'ve| have| had)? (?:already |also |even )?(?:tried|checked|verified|confirmed|enabled|disabled|"
    r"installed|reinstalled|re-installed|restarted|rebooted|updated|upgraded|ran|removed|deleted|"
    r"changed|added|followed|made sure|double-checked|tested|turned (?:on|off)|switched (?:on|off)|ticked|"
    r"unticked)\b|\b(?:i|we)(?:'ve| have| had)? (?:already )?(?:turn(?:ed)?|switch(?:ed)?) (?:it|them|that|this) "
    r"(?:on|off)\b|\b(?:i|we)(?:'ve| have) (?:already )?set\b|\balready (?:tried|checked|enabled|done|set)\b|"
    r"\b(?:tried|checked) (?:everything|all)\b|\bno luck\b|\bdid(?:n't| not) (?:help|work|fix)\b", re.I)
_ERROR_LINE = re.compile(
    r"0x[0-9a-f]{6,8}|\berror\b|\bfailed\b|\bfailure\b|\bfails\b|\bcannot\b|\bcan't\b|\bunable\b|\bdenied\b|"
    r"\bnot (?:supported|compatible|found|available|responding)\b|\bevent\s*(?:id)?\s*\d{3,5}|\bcrash|"
    r"\bstuck\b|\bhangs?\b|\bbsod\b|\bblue ?screen", re.I)
# A paste that reports something going wrong, in the words people use for it (the drafter then asks for
# the exact error when none is quoted); a question about design or support reports nothing.
_FAILURE = re.compile(
    r"\b(?:won'?t|will not|wont|doesn'?t|does not|didn'?t|did not|isn'?t|is not|not) (?:work|start|boot|connect|run|"
    r"show|load|appear|respond|migrate|import|export)|\b(?:not working|stopped working|broken|greyed out|grayed out|"
    r"grey out|gray out|disappeared)\b", re.I)
# What a report of something going wrong says of an operation; "unable", "cannot" and "not supported"
# more often describe a limit ("unable to read SMART data", "cannot set 0") than a failure with a message.
_OPERATION_FAILS = re.compile(r"\b(?:fails?|failed|failing|errors?|crash\w*|bsod|blue ?screen|stuck|hangs?|"
                              r"freez\w*|froze)\b", re.I)
# A sentence that supposes a failure ("if the host fails, restoring is tricky") weighs a design; it
# reports nothing that went wrong. "If I start it, it fails" does report one: the asker did it.
_HYPOTHETICAL = re.compile(r"\W*(?:\w+\W+){0,2}?(?:if|in case|suppose|assuming|what if)\s+(?!(?:i|we)\b|i'|we')", re.I)
# "Error" that names no failure: none happened ("moves, and no error"), one is wished for ("it should
# throw an error"), or it is a mistake in a text ("Possible error in the instructions").
_NO_FAILURE = re.compile(
    r"\b(?:no|without(?: an?| any)?|not any) (?:errors?|warnings?)\b|"
    r"\b(?:should|would|could|must) (?:throw|show|give|raise|return|display) (?:an? |some )?(?:errors?|warnings?)\b|"
    r"\b(?:errors?|mistakes?|typos?) in (?:the |this |your |these )?(?:instructions?|docs?|documentation|"
    r"articles?|pages?|guides?|examples?|tables?|text|steps?|samples?|tutorials?)\b", re.I)
# A paste longer than this usually carries its output and logs: asking for "the exact error" is noise.
TERSE_PASTE = 800
# (An apostrophe inside a word, as in "can't allocate initrd", neither opens nor ends a quote.)
_QUOTED = re.compile(r"(?<!\w)[\"“']((?:[^\"”'\n]|(?<=\w)'(?=\w)){12,300})[\"”'](?!\w)")
# ...or set off as Markdown does it: in backticks or emphasis ("_launch failed: Could not find the default
# switch_"), on a quoted line ("> The host cannot attest ..."), or in a fenced block of program output;
# or printed by a tool as "launch failed: <message>".
_MARKED = re.compile(r"(?<!\w)[`_*]{1,2}([^`_*\n]{12,300})[`_*]{1,2}(?!\w)")
_QUOTE_LINE = re.compile(r"(?m)^[ \t]*>+[ \t]?([^\n]{12,300})$")
_TOOL_FAILED = re.compile(r"(?im)^[ \t]*[\w .-]{2,40}\b(?:failed|error)[ \t]*:[ \t]*\S.{8,}|"
                          r"\b(?:status|result)[ \t]*:[ \t]*(?:fail(?:ed|ure)?|error)\b")
# PowerShell's approved verbs (Get-Verb): "Follow-Up: ..." is no cmdlet, "ConvertTo-Json: ..." is one.
_PS_VERBS = ("Add|Approve|Assert|Backup|Block|Build|Checkpoint|Clear|Close|Compare|Complete|Compress|Confirm|"
             "Connect|ConvertFrom|ConvertTo|Convert|Copy|Debug|Deny|Deploy|Disable|Disconnect|Dismount|Edit|Enable|"
             "Enter|Exit|Expand|Export|Find|Format|Get|Grant|Group|Hide|Import|Initialize|Install|Invoke|Join|Limit|"
             "Lock|Measure|Merge|Mount|Move|New|Open|Optimize|Out|Ping|Pop|Protect|Publish|Push|Read|Receive|Redo|"
             "Register|Remove|Rename|Repair|Request|Reset|Resize|Resolve|Restart|Restore|Resume|Revoke|Save|Search|"
             "Select|Send|Set|Show|Skip|Split|Start|Step|Stop|Submit|Suspend|Switch|Sync|Test|Trace|Unblock|Undo|"
             "Uninstall|Unlock|Unprotect|Unpublish|Unregister|Update|Use|Wait|Watch|Write")
# A cmdlet's name and PowerShell's colon after it: " : " (Windows PowerShell) or ": " (PowerShell 7).
_CMDLET_COLON = rf"(?-i:((?:{_PS_VERBS})-[A-Z][A-Za-z]+)) ?: "
# A message pasted as the tool printed it: PowerShell's "Cmdlet : message" (PowerShell 7 prints
# "Cmdlet: message"; also inside backticks or quotes) or "... is not recognized as the name of a
# cmdlet", a log line's "[ERROR]" or "Error:", an exception name, or a quoted sentence with an error
# word in it.
_VERBATIM_ERROR = re.compile(
    r"(?m)^\s*[`'\"]?[A-Z][\w-]+(?: [\w-]+){0,3} : \S.{8,}|^\s*[`'\"]?" + _CMDLET_COLON + r"\S.{8,}|"
    r"\bis not recognized as the name of a\b|"
    r"\[(?:error|err|fatal|critical)\]|"
    r"^\s*(?:error|fatal|critical)\b[\s:-]+\S.{8,}|\b\w{1,100}(?:Exception|Error)\b", re.I)
# A question answered by yes or no opens with an auxiliary ("Is it possible ...", "Does this work on 2019?").
_YES_NO_START = re.compile(
    r"^\s*(?:(?:so|also|and|but|hi|hello|ok|okay|then|now|question)[,:]?\s+)?"
    r"(?:is|are|was|were|can|could|does|do|did|should|would|will|has|have|had|must|may|might|shall|"
    r"am i|any ?(?:way|chance)|is there|are there)\b", re.I)

# A command the asker ran, shown failing as PowerShell prints it: "Enable-WindowsOptionalFeature : Feature
# name Microsoft-Hyper-V is unknown." (the message after the cmdlet's name, at the start of a line), or
# as PowerShell 7 does, without the space before the colon.
_FAILED_COMMAND = re.compile(r"(?m)^\s*[`'\"]?" + _CMDLET_COLON + r"(\S.{8,})")

MAX_ASKS = 4
MAX_FOCUS_CHARS = 600
# A fenced block holds what a program printed: its lines are errors or output, never the asker's
# questions ("Do you want to continue (yes/no)? yes", a wrapped "This error\nis shown below.").
_FENCED = re.compile(r"```(.*?)(?:```|$)", re.S)


@dataclass
class Focus:
    """The parts of a question that decide the answer."""
    title: str = ""                                   # the first line, when it reads like a subject
    asks: list[str] = field(default_factory=list)     # question sentences, in order
    errors: list[str] = field(default_factory=list)   # error text and symptoms
    tried: list[str] = field(default_factory=list)    # what the asker says they have done
    failed: dict[str, str] = field(default_factory=dict)  # cmdlets shown failing, each with its message
    sentences: list[str] = field(default_factory=list)

    @property
    def asks_yes_no(self) -> bool:
        """Whether the paste asks something a yes or no answers (its title included)."""
        return any(is_yes_no(s) for s in [self.title, *self.asks] if s)

    @property
    def reports_failure(self) -> bool:
        """Whether the paste says, outside its questions, that something goes wrong ("Live migration fails
        between our hosts"). A failure named inside a question ("Does it survive a node failure?") is a
        question about design, not a report."""
        return any(reports_failure(s) for s in self.sentences if s not in self.asks)

    def wants_error_text(self, text: str) -> bool:
        """A failure is reported in a short paste without its message: the one case to ask for the
        exact error."""
        return self.reports_failure and len(text) <= TERSE_PASTE and not quotes_error(text)

    @property
    def text(self) -> str:
        """The ask to rank against: title, question sentences and errors (or the first sentences)."""
        parts = [self.title, *self.asks[:MAX_ASKS], *self.errors[:2]]
        if not self.asks:
            parts += self.sentences[:3]
        out = " ".join(dict.fromkeys(p for p in parts if p))
        return out[:MAX_FOCUS_CHARS]

    def to_dict(self) -> dict:
        return {"title": self.title, "asks": self.asks, "errors": self.errors, "tried": self.tried,
                "failed": self.failed}


def reports_failure(text: str) -> bool:
    """Whether a paste says something fails ("will not start", an error, "greyed out"), as opposed to
    asking how something works or whether it is supported.

    >>> reports_failure("my vm will not start on the host"), reports_failure("Can I extend replication to Azure?")
    (True, False)
    >>> reports_failure("if hyper-v server fails - restoring will be kinda tricky")
    False
    >>> reports_failure("Possible error in instructions"), reports_failure("the switch is blank and no error")
    (False, False)
    """
    if _HYPOTHETICAL.match(text):
        return False
    text = _NO_FAILURE.sub(" ", text)
    return bool(_FAILURE.search(text) or _OPERATION_FAILS.search(text))


def quotes_error(text: str) -> bool:
    """Whether a paste already gives an error message as the tool printed it.

    >>> quotes_error("Set-VMProcessor : Failed to modify device 'Processor'."), quotes_error("it fails")
    (True, False)
    >>> quotes_error("Export-VM: Failed to copy file during export."), quotes_error("Follow-Up: it fails after a while")
    (True, False)
    >>> quotes_error("3. Get error _launch failed: Could not find the default switch_"), quotes_error("> The host cannot attest because VSM is off")
    (True, True)
    >>> quotes_error("launch failed: Remote \\"\\" is unknown or unreachable."), quotes_error("I use `hv_utils` and it fails")
    (True, False)
    >>> quotes_error("Ubuntu stops with \\"can't allocate initrd\\" at boot"), quotes_error("It's the host's NIC, can't say 'why'")
    (True, False)
    """
    if _VERBATIM_ERROR.search(text) or _TOOL_FAILED.search(text):
        return True
    return any(_ERROR_LINE.search(m.group(1)) for r in (_QUOTED, _MARKED, _QUOTE_LINE, _FENCED)
               for m in r.finditer(text))


def failed_commands(text: str) -> dict[str, str]:
    """The cmdlets a paste shows failing, as PowerShell prints the error, each with its first message.

    >>> failed_commands("Enable-WindowsOptionalFeature : Feature name Microsoft-Hyper-V is unknown. At line:1 char:1")
    {'Enable-WindowsOptionalFeature': 'Feature name Microsoft-Hyper-V is unknown.'}
    >>> failed_commands("Export-VM: Failed to copy file during export.")
    {'Export-VM': 'Failed to copy file during export.'}
    >>> failed_commands("I ran Enable-WindowsOptionalFeature and it worked")
    {}
    """
    out: dict[str, str] = {}
    for m in _FAILED_COMMAND.finditer(text):
        out.setdefault(m.group(1), re.split(r"(?<=[.!?])\s", m.group(2).strip(), maxsplit=1)[0])
    return out


def is_yes_no(sentence: str) -> bool:
    """A question that a plain yes or no answers ("Can I ...?"), not "how" or "what".

    >>> is_yes_no("Is it possible to use MBR2GPT?"), is_yes_no("How can I give a user console access?")
    (True, False)
    """
    return bool(_YES_NO_START.match(sentence))


def split_sentences(text: str) -> list[str]:
    """Sentences and lines of a paste, stripped (of list and blockquote markers too), without empty ones."""
    return [s.strip(" -*>\t") for s in _SENTENCE_END.split(text) if s and s.strip(" -*>\t")]


def is_ask(sentence: str) -> bool:
    """A sentence that asks something: ends with "?" or opens like a question or a request."""
    s = sentence.strip()
    return s.endswith("?") or bool(_ASK_START.match(s))


def find_focus(text: str) -> Focus:
    """Split a cleaned question into its ask, its errors and what was already tried.

    >>> f = find_focus("Live migration fails between our hosts\\nWe already enabled processor compatibility. "
    ...                "Error: 'The virtual machine is using processor-specific features'. What else can I check?")
    >>> f.title, f.asks, len(f.tried)
    ('Live migration fails between our hosts', ['What else can I check?'], 1)
    """
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    focus = Focus()
    if len(lines) > 1 and len(lines[0]) <= 160 and not lines[0].endswith((".", ":")):
        focus.title = lines[0]
    focus.sentences = split_sentences(text)
    prose = _FENCED.sub("\n", text) if "```" in text else text
    for s in focus.sentences:
        if s == focus.title:
            continue
        if _TRIED.search(s):
            focus.tried.append(s)
        elif is_ask(s) and s in prose:
            focus.asks.append(s)
        elif _ERROR_LINE.search(s) and len(s) <= 400:
            focus.errors.append(s)
    for m in _QUOTED.finditer(text):
        quoted = m.group(1).strip()
        if _ERROR_LINE.search(quoted) and quoted not in focus.errors:
            focus.errors.append(quoted)
    focus.failed = failed_commands(text)
    return focus
