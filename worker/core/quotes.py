"""Separate what a person just wrote from what they quoted or signed.

A reply to a newsletter usually carries the newsletter below it, footer and all, and
that footer says "unsubscribe". Reading intent on the whole body would turn every
question into an opt-out (DESIGN rule 5), so intent is read only on the text above the
first quote header, with ``>`` lines, signatures and mobile sign-offs removed.

Written here rather than taken from a reply-parsing library so that the languages we
must support (en, es, fr, de, pt, it, nl and more) are all covered in one reviewed list,
and so the core stays free of dependencies that do I/O or regex backtracking surprises.
"""

from __future__ import annotations

import re
from typing import Final

from worker.core.message import caseless, caseless_once

# "On <date>, <name> wrote:" and its translations; the date part may wrap onto a 2nd line.
#: the first alternative of _ATTRIBUTION alone: an attribution that opens with its
#: preposition ("On", "Am", "Le", ...), the only kind that is looked for across two lines
_PREFIXED_ATTRIBUTION: Final = re.compile(
    r"""^\s*(?:on|am|le|el|em|il|op|den|dne|w\s+dniu|el\s+d[ií]a|kl\.|pe|dana)\b.{0,200}?
          (?:(?:wrote|schrieb|a\s+[ée]crit|escribi[óo]|escreveu|ha\s+scritto|scrisse|schreef|
             het\s+volgende\s+geschreven|skrev|napsal|napisa[łl](?:\(a\))?|a\s+scris|kirjoitti|
             yazd[ıi]|написал|написав)
          \s*:?
          | (?:wrote|schrieb|schreef|skrev)\s+.{0,200}?
            [<(\[]\s*[^\s<>()\[\]]+@[^\s<>()\[\]]+\s*[>)\]]\)?\s*:)\s*$""",
    re.IGNORECASE | re.VERBOSE,
)
_ATTRIBUTION: Final = re.compile(
    r"""^\s*(?:
        (?:on|am|le|el|em|il|op|den|dne|w\s+dniu|el\s+d[ií]a|kl\.|pe|dana)\b.{0,200}?
          (?:wrote|schrieb|a\s+[ée]crit|escribi[óo]|escreveu|ha\s+scritto|scrisse|schreef|
             het\s+volgende\s+geschreven|skrev|napsal|napisa[łl](?:\(a\))?|a\s+scris|kirjoitti|
             yazd[ıi]|написал|написав)
          \s*:?
      | .{0,200}?(?:wrote|schrieb|a\s+[ée]crit|escribi[óo]|escreveu|ha\s+scritto|schreef|skrev|
             napisa[łl](?:\(a\))?|napsal|kirjoitti|yazd[ıi]|написал|написав)\s*:
        # the verb before the name, as Gmail writes German, Dutch and the Nordic ones:
        # "Am Mo., 23. Nov. 2026 um 09:00 Uhr schrieb Example News <news@example.com>:"
      | .{0,200}?(?:wrote|schrieb|schreef|skrev)\s+.{0,200}?
          [<(\[][^\s<>()\[\]]+@[^\s<>()\[\]]+[>)\]]\)?\s*:
      )\s*$""",
    re.IGNORECASE | re.VERBOSE,
)

#: Japanese Gmail writes no verb: "2026年11月23日(月) 9:00 Example News <news@example.com>:"
_DATED_ATTRIBUTION: Final = re.compile(
    r"^\s*\d{4}年\d{1,2}月\d{1,2}日.{0,200}?[<(（][^\s<>()（）]+@[^\s<>()（）]+[>)）]\s*[:：]\s*$"
)

_SEPARATOR: Final = re.compile(
    r"""^\s*(?:
        -{2,}\s*(?:original\s+message|ursprüngliche\s+nachricht|message\s+d'origine|
            mensaje\s+original|mensagem\s+original|messaggio\s+originale|
            oorspronkelijk\s+bericht|originalmeddelande|forwarded\s+message|
            weitergeleitete\s+nachricht|message\s+transféré|mensaje\s+reenviado)\s*-{2,}
      | begin\s+forwarded\s+message\s*:
      )\s*$""",
    re.IGNORECASE | re.VERBOSE,
)
#: a ruler line: Outlook's line of underscores above the quoted header block, but also a
#: writer's own table rule, so it starts a quote only with a From line right below it
_RULER: Final = re.compile(r"^\s*(?:_{10,}|-{10,})\s*$")

#: the verbs, exactly as in _ATTRIBUTION: a line without one cannot be an attribution,
#: and this linear search is much cheaper than the attribution pattern's lazy scan
_VERB: Final = re.compile(
    r"""wrote|schrieb|a\s+[ée]crit|escribi[óo]|escreveu|ha\s+scritto|scrisse|schreef|
        het\s+volgende\s+geschreven|skrev|napsal|napisa[łl]|a\s+scris|kirjoitti|yazd[ıi]|
        написал|написав""",
    re.IGNORECASE | re.VERBOSE,
)
#: the same, for lower-cased ASCII text: no pattern character other than ASCII can match
#: an ASCII character, and without IGNORECASE the search is several times faster
_VERB_ASCII: Final = re.compile(_VERB.pattern, re.VERBOSE)
#: _ATTRIBUTION and _PREFIXED_ATTRIBUTION for lower-cased ASCII text, as _VERB_ASCII is
#: for _VERB: their only non-ASCII characters ("é", "ó", "ł", "ı", Cyrillic) stand beside
#: an ASCII alternative ("[ée]", "[ıi]") or in a verb no ASCII text holds. Matched so, an
#: attribution line costs a sixth of the case-insensitive match (the lazy ``.{0,200}?``
#: tries every verb at every offset, and only case-sensitive branches are skipped on
#: their first character): 22 M of 1,174 M instructions on the benchmark backlog
_ATTRIBUTION_ASCII: Final = re.compile(_ATTRIBUTION.pattern, re.VERBOSE)
_PREFIXED_ATTRIBUTION_ASCII: Final = re.compile(_PREFIXED_ATTRIBUTION.pattern, re.VERBOSE)

# Outlook's header block: "From:" followed within a few lines by "Sent:"/"Date:"/"To:".
_OUTLOOK_FROM: Final = re.compile(
    r"^\s*\*?(?:from|von|de|da|van|från|od|от|差出人|发件人|寄件者)\s*[:：]\*?\s*", re.IGNORECASE
)
_OUTLOOK_NEXT: Final = re.compile(
    r"^\s*\*?(?:sent|date|to|subject|gesendet|datum|an|betreff|envoy[ée]|[àa]|objet|"
    r"enviado|fecha|para|asunto|inviato|data|oggetto|verzonden|aan|onderwerp|skickat|"
    r"till|ämne|wysłano|temat|отправлено|дата|кому|тема|送信日時|宛先|件名|日付|"
    r"发送时间|收件人|主题|寄件日期|收件者|主旨)\s*[:：]",
    re.IGNORECASE,
)

_SIGNATURE: Final = re.compile(
    r"""^\s*(?:
        --\s*
      | sent\s+from\s+my\s+\w+.*
      | sent\s+from\s+(?:outlook|mail|yahoo|gmail).*
      | get\s+outlook\s+for\s+.*
      | enviado\s+desde\s+mi\s+.*
      | enviado\s+do\s+meu\s+.*
      | envoy[ée]\s+de\s+mon\s+.*
      | von\s+meinem\s+.*\s+gesendet.*
      | gesendet\s+von\s+meinem\s+.*
      | inviato\s+da\s+.*
      | verzonden\s+(?:met|vanaf|van\s+mijn)\s+.*
      | skickat\s+från\s+min\s+.*
      | diese\s+nachricht\s+wurde\s+von\s+meinem\s+.*
      )$""",
    re.IGNORECASE | re.VERBOSE,
)


def strip_quotes(text: str) -> str:
    """The newly written part of a reply: text before the first quote or signature marker.

    ``>`` lines are dropped wherever they are (interleaved replies keep their own
    words). A message that *starts* with a quote header (top-posting clients that put
    the reply below) keeps whatever unquoted text follows the quoted block instead.
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    cut = _first_marker(lines, text)
    head = lines[:cut]
    kept = [line for line in head if not line.lstrip().startswith(">")]
    if not any(line.strip() for line in kept) and cut < len(lines):
        if _SIGNATURE.match(lines[cut]):
            # a signature with nothing above it: the writer wrote nothing ("BAJA" in the
            # subject over "--" and a business card); its name, firm and address are
            # not words to read a request (or its absence) in
            return ""
        kept = [line for line in lines[cut + 1 :] if not line.lstrip().startswith(">")]
        kept = kept[: _first_marker(kept)]
    return "\n".join(kept).strip()


def _first_marker(lines: list[str], text: str | None = None) -> int:
    """Index of the first line that starts quoted or signature material; len(lines) if none.

    ``lines`` hold no line breaks; ``text``, when given, is the text they were split
    from at its line breaks ("\\r\\n", "\\r" or "\\n").
    """
    first_verb = _first_verb_line(lines, text)
    for index, line in enumerate(lines):
        if line.startswith(">"):
            # a quoted line: none of the marker patterns below can match it (each wants a
            # letter, "-", "_" or "*" after the leading whitespace), an attribution can
            # ("> On Mon, … wrote:" of a nested quote). Replies quote whole newsletters:
            # four pattern calls a line were 5-9 % of a reply's classification
            if index + 1 >= first_verb and _is_attribution(
                line, lines[index + 1] if index + 1 < len(lines) else ""
            ):
                return index
            continue
        kinds = _marker_kinds(line)
        if kinds:
            if kinds & _SEPARATOR_START and _SEPARATOR.match(line):
                return index
            if kinds & _SIGNATURE_START and _SIGNATURE.match(line):
                return index
            if kinds & _RULER_START and _RULER.match(line) and _from_line_follows(lines, index):
                return index
            if kinds & _FROM_START and _OUTLOOK_FROM.match(line) and _outlook_block(lines, index):
                return index
        if index + 1 >= first_verb and _is_attribution(
            line, lines[index + 1] if index + 1 < len(lines) else ""
        ):
            return index
    return len(lines)


#: which of the four marker patterns can match a line, by the case-folded first character
#: after its leading whitespace (the starts of their alternatives): a line of an
#: auto-reply "For urgent matters …" is tried against _OUTLOOK_FROM alone, not all four
#: (test_marker_kinds_by_first_character holds the table to the patterns)
_SEPARATOR_START: Final = 1
_SIGNATURE_START: Final = 2
_RULER_START: Final = 4
_FROM_START: Final = 8
_MARKER_KINDS: dict[str, int] = {
    "-": _SEPARATOR_START | _SIGNATURE_START | _RULER_START,
    "_": _RULER_START,
    "*": _FROM_START,
    "b": _SEPARATOR_START,
    "d": _SIGNATURE_START | _FROM_START,
    "e": _SIGNATURE_START,
    "f": _FROM_START,
    "g": _SIGNATURE_START,
    "i": _SIGNATURE_START,
    "o": _FROM_START,
    "s": _SIGNATURE_START,
    "v": _SIGNATURE_START | _FROM_START,
    "\u043e": _FROM_START,
    "\u1c82": _FROM_START,
    "差": _FROM_START,
    "发": _FROM_START,
    "寄": _FROM_START,
}


#: every character that, case-folded (message.caseless), can follow the leading
#: whitespace of a line _SEPARATOR, _SIGNATURE, _RULER or _OUTLOOK_FROM matches
#: (test_headers_text.py tries every other character against the four)
_MARKER_STARTS: Final = frozenset(_MARKER_KINDS)


def _may_open_marker(line: str) -> bool:
    """False when none of the four marker patterns can match ``line``: a test of its
    first character, against four pattern calls on every line of a reply's own text."""
    return _marker_kinds(line) != 0


def _marker_kinds(line: str) -> int:
    """The marker patterns (bits of _MARKER_KINDS) that can match ``line``; 0 for none."""
    first = line.lstrip()[:1]
    return _MARKER_KINDS.get(caseless_once(first)[:1], 0) if first else 0


def _first_verb_line(lines: list[str], text: str | None = None) -> int:
    r"""The index of the line where the first attribution verb of ``lines`` starts (one
    search of the whole text); ``len(lines) + 1`` when there is none, 0 when not known.

    A verb found in a line joined to the next (see _is_attribution) is found in the
    whole text too, at the same characters: the lines are the text's own, and a verb's
    ``\s+`` matches the line break and the whitespace the join strips as well as the
    join's space. So no line ending before the first verb's line can be an attribution.

    ``text``: as for _first_marker. A "\r\n" or "\r" in it, where ``lines`` broke, is
    whitespace to a verb's ``\s+`` as the "\n" of the lines joined is: the verbs are
    found at the same characters.
    """
    if text is None:
        text = "\n".join(lines)
    # remembered (caseless, not caseless_once): strip_quotes is given the message's own
    # text as it is, which classify._forwarded_people folds too (8 M of the backlog's
    # 1,080 M instructions)
    low = caseless(text)
    if not text.isascii():
        # the case-insensitive search of such text costs more than it saves; but a text
        # without any verb's core (nor a Japanese dated line, which needs none) has no
        # attribution at all: "Je suis absent … décembre", a dozen lines of it, had each
        # line joined, folded and scanned for one (see _is_attribution)
        if "年" in text or _may_hold_verb(text, low):
            return 0
        return len(lines) + 1
    # every verb holds its core (see _may_hold_verb): a few substring scans answer "none"
    # in half the time of the alternation's search, which reads the whole text to say so
    first = -1
    for core in _VERB_CORES:
        # once one is found, only the text before it is scanned for the others
        at = low.find(core, 0, len(low) if first < 0 else first - 1 + len(core))
        if at >= 0:
            first = at
    if first < 0:
        return len(lines) + 1
    # and the search starts a little before the first core: a verb that began before
    # that would cover the characters between with what precedes its core ("a", "ha",
    # "het volgende", whitespace). Tried at every character from the start of the text,
    # the alternation cost 16,000 instructions a reply
    start = max(0, first - 16)
    if not low[start:first].strip(_VERB_PREFIXES):
        start = 0
    match = _VERB_ASCII.search(low, start)
    if match is None:
        return len(lines) + 1
    start = match.start()
    # the line breaks before it: "\r\n" is one, "\r" and "\n" alone are one each
    return text.count("\n", 0, start) + text.count("\r", 0, start) - text.count("\r\n", 0, start)


def _is_attribution(line: str, following: str) -> bool:
    if len(line) > 300 or not line.strip():
        # a blank line is none (every pattern below wants words of its own), and one
        # stands above most attributions: its verb search of the joined pair is spared
        return False
    # Gmail wraps long attributions: "On Thu, ... <\ninfo@example.org> wrote:"
    joined = f"{line.rstrip()} {following.strip()}"
    # joined holds every verb in line too (only trailing spaces are cut)
    ascii_joined = joined.isascii()
    low = joined.lower() if ascii_joined else ""
    if ascii_joined:
        if not _VERB_ASCII.search(low):
            return False
    elif "年" in line and _DATED_ATTRIBUTION.match(line):
        return True
    elif not _may_hold_verb(joined) or not _VERB.search(joined):
        return False
    # line is ASCII but for trailing whitespace when joined is
    if _ATTRIBUTION_ASCII.match(line.lower()) if line.isascii() else _ATTRIBUTION.match(line):
        return True
    # Across two lines only an attribution that opens like one ("On Thu, ... <" and
    # "info@example.org> wrote:"): with any line, "Which plan includes the API?" joined
    # to the attribution below it read as one, and the question was cut away with it
    if len(joined) > 300:
        return False
    if ascii_joined:
        return _PREFIXED_ATTRIBUTION_ASCII.match(low) is not None
    return _PREFIXED_ATTRIBUTION.match(joined) is not None


#: a plain ASCII part of every verb of _VERB but the Russian and Ukrainian ones, lower-case
_VERB_CORES: Final = (
    "wrote", "schrieb", "crit", "escribi", "escreveu", "scritto", "scrisse", "schreef",
    "geschreven", "skrev", "napsal", "napisa", "scris", "kirjoitti", "yazd",
)  # fmt: skip
#: the characters a verb of _VERB holds before its core in ASCII text (the whitespace of
#: ``\s`` there included)
_VERB_PREFIXES: Final = "ahetvolgnd \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f"
#: every letter case-insensitively equal to one of "написал"/"написав" is in these blocks
_CYRILLIC: Final = re.compile("[\u0400-\u04ff\u1c80-\u1c8f]")


def _may_hold_verb(text: str, low: str | None = None) -> bool:
    """False only when the case-insensitive _VERB cannot match ``text``: searched over
    non-ASCII text, that pattern is slow, and this test is a few substring scans.

    A match of a verb holds its core, matched case-insensitively, which caseless() turns
    into the plain lower-case core (see message.caseless); a Russian or Ukrainian one
    holds a Cyrillic letter.
    """
    if low is None:
        low = caseless_once(text)
    return any(core in low for core in _VERB_CORES) or _CYRILLIC.search(text) is not None


def _from_line_follows(lines: list[str], index: int) -> bool:
    """A From line (any of the clients' languages) among the three lines after ``index``."""
    return any(_OUTLOOK_FROM.match(line) for line in lines[index + 1 : index + 4])


def _outlook_block(lines: list[str], index: int) -> bool:
    window = lines[index + 1 : index + 5]
    return sum(1 for line in window if _OUTLOOK_NEXT.match(line)) >= 1
