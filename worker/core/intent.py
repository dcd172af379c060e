"""What a person asks for in the words they wrote: opt out, or a privacy request.

Matching is on folded text (accents removed, case-folded) so ``Désabonner``,
``desabonner`` and ``DESABONNER`` are one phrase. Wording is weighed, not just found:
a short reply "unsubscribe" is a request, while a long message that mentions the word
inside a conditional ("to unsubscribe, click…"), a negation or a question is not
(DESIGN rule 5) — those go to review, where a person decides.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass, replace
from typing import Final

from worker.core.phrases import (
    FOOTER_CUES,
    GENERIC_KEYWORDS,
    GERMAN_TYPED,
    JA_DONE,
    JA_FOOTER_CUES,
    JA_HOW,
    JA_NEGATED_AFTER,
    JA_POLITE,
    JA_REQUEST_PATTERNS,
    JA_REQUESTS,
    JA_STILL,
    KEYWORDS,
    LAW_REFERENCES,
    NEGATIONS,
    PERSONAL_DATA,
    PRIVACY_PHRASES,
    STRONG_PHRASES,
)

#: intent is read on the first part of the unquoted text only, and its last lines:
#: requests are short, and a long one puts its request at the start or at the end
#: ("… and that is why I am writing. Please remove me."); the middle of a 1 MB paste is
#: not read, so no body costs more than these 20,000 characters
_INTENT_LIMIT: Final = 20_000
_INTENT_TAIL: Final = 4_000
#: a body of at most this many words that contains a keyword is a command
_SHORT_WORDS: Final = 12
#: a subject of at most this many words that contains a keyword is a command
_SHORT_SUBJECT: Final = 6
_SUBJECT_PREFIX: Final = re.compile(
    r"^\s*(?:(?:re|aw|sv|vs|wg|fw|fwd|tr|rv|r|antw|odp|ynt|res|enc|rif|doorst|vl|vb|pd|απ|σχετ"
    r"|答复|回复|回覆|转发|轉寄|返信|転送|회신|전달)\s*(?:\[\d+\])?\s*[:：]\s*)+",
    re.IGNORECASE,
)
_BRACKETED: Final = re.compile(r"\[[^\]]*\]")
_WORD: Final = re.compile(r"\w+")


@dataclass(init=False, unsafe_hash=True)
class Hit:
    """One phrase found: what, in which language, where, and how strongly it commits.

    A value: nothing assigns to its fields after construction. It is no frozen dataclass
    because of its ``__init__``, as verdict.Classification is not: written out, compiled,
    it stores each field directly, where the generated one is interpreted Python calling
    object.__setattr__ a field (6,000 instructions a Hit, 4.8 M of the backlog's 1,174 M).
    """

    phrase: str
    lang: str
    where: str
    strong: bool

    def __init__(self, phrase: str, lang: str, where: str, strong: bool) -> None:
        self.phrase = phrase
        self.lang = lang
        self.where = where
        self.strong = strong

    def evidence(self) -> str:
        return f'phrase "{self.phrase}" ({self.lang}) in {self.where}'


@dataclass(init=False, unsafe_hash=True)
class PrivacyIntent:
    """The privacy kinds asked for, with the phrases that showed them (a value, with a
    written-out ``__init__`` as Hit has)."""

    kinds: tuple[str, ...]
    hits: tuple[Hit, ...]

    def __init__(self, kinds: tuple[str, ...], hits: tuple[Hit, ...]) -> None:
        self.kinds = kinds
        self.hits = hits


#: letters that NFKD leaves whole, spelt as people write them on a keyboard without
#: them: "wypisać" and "wypisac", "ønsker" and "onsker", "fraværende" and "fravaerende"
#: are one word
_SPELT: Final = str.maketrans(
    {"ł": "l", "ø": "o", "æ": "ae", "œ": "oe", "ı": "i", "đ": "d", "ð": "d"}
)


_combining = unicodedata.combining


def fold(text: str) -> str:
    """Accent- and case-insensitive form used for all matching."""
    if text.isascii():  # NFKD and combining marks change nothing; casefold is lower
        low = text.lower()
        # ASCII whitespace but the space is unprintable: a printable text with no space
        # at its ends nor two together is its own split words joined (most lines are)
        if (
            low.isprintable()
            and "  " not in low
            and not low.startswith(" ")  # compiled in place, where a slice made a string
            and not low.endswith(" ")
        ):
            return low
        return " ".join(low.split())
    decomposed = unicodedata.normalize("NFKD", text.replace("\u2019", "'"))
    # no character below U+0300 combines (test_intent_shortcuts): most of a line's are
    # spared the call (12,000 calls, 6 M of the backlog's instructions)
    stripped = "".join(ch for ch in decomposed if ord(ch) < 0x300 or not _combining(ch))
    return " ".join(stripped.casefold().translate(_SPELT).split())


def clean_subject(subject: str) -> str:
    """Subject without reply/forward prefixes and bracketed tags (list names, tokens)."""
    return _BRACKETED.sub(" ", _SUBJECT_PREFIX.sub("", subject)).strip()


@functools.lru_cache(maxsize=64)
def _is_reply_subject(subject: str) -> bool:
    """``subject`` opens with a reply or forward prefix (tags left out): remembered as
    folded_subject is, each message's subject is asked for it by every opt-out reading."""
    return _SUBJECT_PREFIX.match(_BRACKETED.sub(" ", subject)) is not None


@functools.lru_cache(maxsize=64)
def folded_subject(subject: str) -> str:
    """``fold(clean_subject(subject))``: the form every reader of a subject matches on,
    made once per subject (four readers ask for it, each message's subject several
    times; two substitutions and a fold each time were 1.5 % of a classification)."""
    return fold(clean_subject(subject))


def _compile(phrase: str) -> re.Pattern[str]:
    r"""``(?<!\w)words(?!\w)``, written with the look-behind after the first character.

    Same matches, but a pattern that starts with a literal lets ``re`` jump from one
    occurrence of it to the next instead of testing the look-behind at every offset.
    """
    body = r"\s+".join(re.escape(part) for part in phrase.split())
    return re.compile(rf"{_behind(phrase)}{body[len(re.escape(phrase[0])) :]}(?!\w)")


def _behind(word: str) -> str:
    """The first character of ``word`` followed by "no word character before it"."""
    first = re.escape(word[0])
    return f"{first}(?<!\\w{first})"


def _alternation(words: tuple[str, ...]) -> str:
    r"""``(?<!\w)(?:w1|w2|…)`` with each look-behind after the first character (see above)."""
    return "(?:" + "|".join(_behind(w) + re.escape(w[1:]) for w in words) + ")"


def _spellings(phrases: tuple[str, ...], lang: str) -> list[str]:
    """``phrases``, and for German each again with its umlauts typed as ae, oe, ue
    ("loeschen sie meine", "ich moechte mich abmelden") where that changes a word."""
    out = list(phrases)
    if lang == "de":
        for phrase in phrases:
            typed = " ".join(GERMAN_TYPED.get(word, word) for word in phrase.split(" "))
            if typed != phrase and typed not in out:
                out.append(typed)
    return out


_KEYWORD_RES: Final = [
    (_compile(p), p, lang) for lang, ps in KEYWORDS.items() for p in _spellings(ps, lang)
]
_STRONG_RES: Final = [
    (_compile(p), p, lang) for lang, ps in STRONG_PHRASES.items() for p in _spellings(ps, lang)
]
_PRIVACY_RES: Final = [
    (_compile(p), p, lang, kind)
    for kind, by_lang in PRIVACY_PHRASES.items()
    for lang, ps in by_lang.items()
    for p in _spellings(ps, lang)
]


class _PhraseIndex:
    """Positions of phrases by their longest word, with all their words (_phrase_index)."""

    def __init__(self, entries: dict[str, tuple[tuple[int, frozenset[str]], ...]]) -> None:
        self.entries = entries
        #: the longest words, as a set: a text's words meet them by a set intersection,
        #: which walks the smaller set without an iterator (a dict's keys view walked
        #: the text's words one by one: 7 M of the backlog's 1,016 M instructions)
        self.keys = frozenset(entries)
        #: the phrases without any word (found in every text)
        self.wordless = entries.get("", ())


def _phrase_index(phrases: list[str]) -> _PhraseIndex:
    """Positions of ``phrases`` by their longest word, with all their words.

    Every word (``\\w+`` run) of a phrase is a whole word of any text the phrase matches:
    inside the phrase it is bounded by the phrase's own non-word characters or the
    ``\\s+`` between its parts, and at its ends by the ``(?<!\\w)``/``(?!\\w)`` guards. So
    only phrases whose words all occur in the text need their pattern run.
    """
    index: dict[str, list[tuple[int, frozenset[str]]]] = {}
    for position, phrase in enumerate(phrases):
        words = _WORD.findall(phrase)
        key = max(words, key=len) if words else ""
        index.setdefault(key, []).append((position, frozenset(words)))
    return _PhraseIndex({key: tuple(entries) for key, entries in index.items()})


_KEYWORD_INDEX: Final = _phrase_index([p for _rx, p, _l in _KEYWORD_RES])
_STRONG_INDEX: Final = _phrase_index([p for _rx, p, _l in _STRONG_RES])
_PRIVACY_INDEX: Final = _phrase_index([p for _rx, p, _l, _k in _PRIVACY_RES])


def _find_words(text: str) -> list[str]:
    """``_WORD.findall(text)``: of ASCII text, its whitespace-split tokens, a token of
    letters and digits only being one word (every ASCII word character but "_" is one,
    every whitespace character is none). Three times cheaper than the pattern's search
    on a line of prose, where most tokens are words."""
    if not text.isascii():
        return _WORD.findall(text)
    words: list[str] = []
    for token in text.split():
        if token.isalnum():
            words.append(token)
        else:  # "me,", "list.": its word without the non-word characters around it
            inner = token.strip(_ASCII_NON_WORD)
            if inner.isalnum():
                words.append(inner)
            elif inner:
                words.extend(_WORD.findall(inner))
    return words


#: every ASCII character but the word characters [A-Za-z0-9_]
_ASCII_NON_WORD: Final = "".join(chr(c) for c in range(128) if not _WORD.fullmatch(chr(c)))


#: the word lists of the last texts asked for (see _word_list), oldest first
_WORD_LISTS: dict[str, tuple[str, ...]] = {}
_WORD_LISTS_KEPT: Final = 16


def _word_list(text: str) -> tuple[str, ...]:
    """The words of ``text``; the same texts are counted and indexed by several readers."""
    found = _WORD_LISTS.get(text)
    if found is None:
        found = tuple(_find_words(text))
        _remember_words(text, found)
    return found


def _remember_words(text: str, words: tuple[str, ...]) -> None:
    """Keep ``words`` as the word list of ``text`` (which they must be), for _word_list."""
    if len(_WORD_LISTS) >= _WORD_LISTS_KEPT:
        # the older half goes; a copy of the keys and pop's default leave nothing to
        # fail should another thread classify at the same time
        for old in list(_WORD_LISTS)[: _WORD_LISTS_KEPT // 2]:
            _WORD_LISTS.pop(old, None)
    _WORD_LISTS[text] = words


@functools.lru_cache(maxsize=16)
def _words(text: str) -> frozenset[str]:
    return frozenset(_word_list(text))


def _candidates(index: _PhraseIndex, words: frozenset[str]) -> list[int]:
    """Positions, in order, of the phrases all of whose ``words`` occur in the text."""
    # the keys the text has, by a set intersection (over the smaller side) rather than a
    # walk over every key; "" (a phrase without words) is never a word of the text
    entries = index.entries
    found = [
        position
        for key in words & index.keys
        for position, needed in entries[key]
        if needed <= words
    ]
    found.extend(position for position, needed in index.wordless if needed <= words)
    found.sort()
    return found


_LAW_RE: Final = re.compile(_alternation(LAW_REFERENCES) + r"(?!\w)")
_LAW_INDEX: Final = _phrase_index(list(LAW_REFERENCES))
_DATA_RE: Final = re.compile(_alternation(PERSONAL_DATA))
_ARTICLE_RE: Final = re.compile(
    r"(?:art(?:icle|ikel|iculo|igo|icolo|icolul|ikla|\.)?|clan[a-z]*|cl\.|arthro)\s*(\d{1,2})\b"
)
_ARTICLE_KIND: Final = {"15": "access", "16": "rectification", "17": "erasure", "21": "objection"}
#: "AVG" is the Dutch GDPR, and an antivirus ("my AVG antivirus flags your mail")
_NOT_A_LAW_RE: Final = re.compile(
    r"\s*(?:-\s*)?(?:anti-?virus|virus|internet security|secure|free|technologies|tuneup"
    r"|ultimate|pc|scan|mail ?shield|web ?shield|email ?shield)(?!\w)"
)
#: a subject that names a law and a request ("GDPR request", "Antrag nach DSGVO",
#: "demande RGPD") is one, whatever the body says ("see attached", a letter in a file)
_REQUEST_NOUN_RE: Final = re.compile(
    r"(?<!\w)(?:request|requete|demande|anfrage|antrag|ersuchen|solicitud|peticion|pedido"
    r"|solicitacao|requerimento|richiesta|istanza|verzoek|aanvraag)"
    r"|(?:anfrage|antrag|ersuchen)"  # also ending a German compound: Datenschutzanfrage
)
#: a piece of every match of _PRIVACY_TOPIC_RE: most subjects hold none, and are spared
#: the two patterns' search (every reply and opt-out subject was searched for both)
_PRIVACY_TOPIC_CORES: Final = (
    "privacy", "data", "datenschutz", "donnees", "datos", "dados", "dati", "gegevensbescherming",
)  # fmt: skip


def _may_name_topic(subject: str) -> bool:
    """False when _PRIVACY_TOPIC_RE cannot match ``subject``."""
    return any(core in subject for core in _PRIVACY_TOPIC_CORES)


#: the topic of a privacy request named in a subject, with a request noun beside it
_PRIVACY_TOPIC_RE: Final = re.compile(
    r"(?<!\w)(?:data protection|privacy|personal data|datenschutz|protection des donnees"
    r"|proteccion de datos|protecao de dados|protezione dei dati|gegevensbescherming"
    r"|privacyverzoek)"
)
_FOOTER_RE: Final = re.compile(_alternation(FOOTER_CUES) + r"(?!\w)")
#: the cues one by one, found through their words (see _footer_cue)
_FOOTER_RES: Final = [re.compile(_alternation((cue,)) + r"(?!\w)") for cue in FOOTER_CUES]
_FOOTER_INDEX: Final = _phrase_index(list(FOOTER_CUES))
_FOOTER_KEYS: Final = _FOOTER_INDEX.keys
_NEGATION_RE: Final = re.compile(_alternation(NEGATIONS) + r"(?!\w)")
#: the longest word of each negation (see _negated)
_NEGATION_KEYS: Final = _phrase_index(list(NEGATIONS)).keys
#: any keyword at all: one pass instead of one per keyword (only "is there one" is asked)
_ANY_KEYWORD_RE: Final = re.compile("|".join(f"(?:{rx.pattern})" for rx, _p, _l in _KEYWORD_RES))


def names_unsubscribing(text: str) -> bool:
    """``text`` (folded) holds a word or phrase that names unsubscribing, in any language
    read and whatever its place or shape ("Abmeldung", "dadme de baja"), but not a
    generic verb ("stop", "leave", "cancel"): enough to want a person to look, not to
    apply anything."""
    words = _words(text)
    for table, index in ((_STRONG_RES, _STRONG_INDEX), (_KEYWORD_RES, _KEYWORD_INDEX)):
        for position in _candidates(index, words):
            rx, phrase, _lang = table[position]
            if phrase not in GENERIC_KEYWORDS and rx.search(text):
                return True
    return False


def intent_text(body: str) -> str:
    """Folded unquoted body with unsubscribe-footer sentences removed."""
    # fold() of the kept lines joined is their folds joined: no line break survives
    # folding, and neither accents nor case cross a line
    if len(body) > _INTENT_LIMIT:
        # whole lines: the head up to its last line break, the tail from its first
        head, tail = body[: _INTENT_LIMIT - _INTENT_TAIL], body[-_INTENT_TAIL:]
        body = f"{head.rpartition(chr(10))[0] or head}\n{tail.partition(chr(10))[2] or tail}"
    kept: list[str] = []
    words: list[str] = []
    for line in map(fold, body.splitlines()):
        if kept and line.startswith(_NOTICE_STARTS) and _LEGAL_NOTICE.match(line):
            break  # the writer's signature ends in its legal notice: no more of theirs
        if line:
            line_words = _find_words(line)
            if not _is_footer(line, line_words):
                kept.append(line)
                words += line_words
    text = " ".join(kept)
    # the readers count and index the words of this text: they are its lines' words, in
    # order (a line holds no leading or trailing space, so none joins two words)
    _remember_words(text, tuple(words))
    return text


def before_legal_notice(body: str) -> str:
    """``body`` up to the line that starts its signature's legal notice (see below), or
    all of it: the addresses of the notice ("exercise your rights at lopd@…") are not
    people the writer asks about."""
    lines = body.splitlines(keepends=True)
    written = False
    for i, line in enumerate(lines):
        # the openings are ASCII words: a line's lower-cased head tells which lines to
        # fold and match at all (a privacy letter has many lines, few of them begin so)
        head = line.lstrip()[:40]
        opens = written and head.lower().startswith(_NOTICE_STARTS)
        if opens and _LEGAL_NOTICE.match(fold(line)):
            return "".join(lines[:i])
        written = written or bool(head)
    return body


#: the first words of a line that starts a signature's legal notice (folded): "Aviso
#: legal: este mensaje…", "This e-mail and any attachments…", "Le informamos…". Its
#: "you may exercise your rights of access, rectification, erasure…" informs; it asks
#: for nothing, and read as the writer's it made an opt-out a privacy request
_LEGAL_NOTICE: Final = re.compile(
    r"(?:aviso legal|legal notice|disclaimer|confidentiality notice|avis de confidentialite"
    r"|avis juridique|rechtlicher hinweis|haftungsausschluss|vertraulichkeitshinweis"
    r"|avviso legale|aviso de confidencialidade|this e-?mail and any (?:attachments|files)"
    r"|this message and any (?:attachments|files)|este mensaje y sus (?:archivos )?adjuntos"
    r"|ce message et (?:toutes )?(?:les|ses) pieces jointes|diese e-?mail (?:und|enthalt)"
    r"|questo messaggio e (?:i suoi|gli) allegati|deze e-?mail (?:is|en)"
    r"|esta mensagem e (?:os )?(?:seus )?anexos|le informazioni contenute"
    r"|informativa (?:sulla )?privacy|datenschutz\s*:|datenschutzhinweis|hinweis zum datenschutz"
    r"|privacy notice|data protection notice|protection des donnees\s*:"
    r"|proteccion de datos\s*:|informacion (?:basica )?sobre proteccion de datos"
    r"|the information (?:contained )?in this (?:e-?mail|message)"
    r"|la informacion contenida en este|les informations contenues dans ce"
    r"|die informationen in dieser|as informacoes contidas nesta|de informatie in dit)(?!\w)"
)
#: how every _LEGAL_NOTICE line begins: one C call on each line, the pattern only on
#: the few that begin so (test_classify_probe6_left holds the two together)
_NOTICE_STARTS: Final = (
    "aviso ", "legal ", "disclaimer", "confidentiality ", "avis ", "rechtlicher ",
    "haftungsausschluss", "vertraulichkeitshinweis", "avviso ", "this ", "este ", "ce ",
    "diese ", "questo ", "deze ", "esta ", "le ", "informativa ", "datenschutz", "hinweis ",
    "privacy ", "data ", "protection ", "proteccion ", "informacion ", "the ", "la ", "les ",
    "die ", "as ", "de ",
)  # fmt: skip


def _is_footer(line: str, words: list[str] | None = None) -> bool:
    """A line that tells how to unsubscribe is boilerplate, not a request. Footers speak
    to the reader ("to unsubscribe click here", "if you no longer wish…"), never in
    the first person: "I would like to unsubscribe", "I clicked the link three times,
    remove me" and "Ich möchte mich hier abmelden" are the writer's own words."""
    return (
        _footer_cue(line, words)
        and bool(_ANY_KEYWORD_RE.search(line))
        and not _FIRST_PERSON_RE.search(line)
    )


def _footer_cue(line: str, words: list[str] | None = None) -> bool:
    """``_FOOTER_RE.search(line)``, through the word index: a cue can only match where
    all its words are words of the line, and most lines hold none. One alternation of
    some sixty cues, tried at every offset of every line, cost 8 µs a line.
    ``words``: the line's words (_find_words), when known."""
    if words is None:
        words = _find_words(line)
    if _FOOTER_KEYS.isdisjoint(words):  # most lines: no set of their words is built
        return False
    found = _candidates(_FOOTER_INDEX, frozenset(words))
    return any(_FOOTER_RES[i].search(line) for i in found)


#: the writer speaking of themselves (folded text), in the languages read for intent
#: ("min", "mit" and "mine" of the Nordic ones are left out: "2 min", "mit" in German)
_FIRST_PERSON_RE: Final = re.compile(
    r"(?<!\w)(?:i|i'm|i'd|i've|im|me|my|ich|mich|mir|mein|meine|je|j'|moi|mon|yo|quiero"
    r"|eu|quero|meu|minha|io|voglio|ik|mij|mijn|mi|mnie|moj|moja|moje|chce|jag|mig|jeg|meg"
    r"|mne|muj|chci|mina|minut|minun|haluan|prosze|prosim|chcialbym|chcialabym)(?!\w)"
)


def unsubscribe_hits(subject: str, body_text: str) -> list[Hit]:
    """Opt-out phrases that, by their place and the message's shape, make a request."""
    hits: list[Hit] = []
    subj = folded_subject(subject)
    words = len(_word_list(body_text))
    replied = bool(subj) and _is_reply_subject(subject)
    if replied:
        # a reply's subject is mostly ours, echoed: "Re: Stop scrolling: 50% off" over a
        # question about the offer is no request. It speaks for the writer only when
        # the writer said nothing else (an empty or short reply, no question) and in
        # an explicit phrase ("Re: Unsubscribe me"), not a bare word ("stop", "cancel")
        if words <= _SHORT_WORDS and "?" not in body_text:
            hits.extend(h for h in _find(subj, "subject", strong_only=True) if h.strong)
    elif subj and "?" not in subj and len(_word_list(subj)) <= _SHORT_SUBJECT:
        found = _find(subj, "subject", strong_only=False)
        said = _before_signoff(body_text) if found else ""
        asks = "?" in said
        if asks or len(_word_list(said)) > _SHORT_WORDS:
            # a keyword of a short subject speaks for a writer who said little else.
            # Over a question it may be the question's topic ("Abmeldung" over "it
            # worked; will my husband still get it?"): only an explicit phrase decides.
            # Over a longer text a word that names unsubscribing still does ("Subject:
            # Unsubscribe" over "I've had enough of your mailing list"), a generic verb
            # no longer ("STOP the price increase!", "Cancel" over an order number)
            found = [h for h in found if h.strong or not (asks or h.phrase in GENERIC_KEYWORDS)]
        hits.extend(found)
    elif subj:
        hits.extend(h for h in _find(subj, "subject", strong_only=True) if h.strong)
    if 0 < words <= _SHORT_WORDS:
        if asked := _without_how_or_if(body_text):
            hits.extend(_find(asked, "body", strong_only=False))
    elif words:
        hits.extend(_find(body_text, "body", strong_only=True))
        if not hits:
            hits.extend(_command_sentences(body_text))
    if not any(h.strong for h in hits) and words and _SPLIT_WORDS & _words(body_text):
        hits.extend(_split_requests(body_text))
    if not hits and subj and not replied and _SPLIT_WORDS & _words(subj):
        # the writer's own subject ("Bitte tragen Sie mich ab sofort aus Ihrem Verteiler
        # aus" over a greeting), never ours echoed in a reply's
        hits.extend(replace(h, where="subject") for h in _split_requests(subj))
    if not hits and words:
        hits.extend(_still_receiving(body_text))
    if hits and not any(h.strong for h in hits) and _NO_REQUEST.search(body_text):
        # a bare word beside a report that it worked ("Grazie, la disiscrizione ha
        # funzionato", "Unsubscribe: it worked, thanks") or a wish to stay ("Subject:
        # Your unsubscribe link is broken" over "I don't want to unsubscribe, I want to
        # STAY subscribed, just fix it"): no request; a person reads it
        return []
    return hits


#: a question that opens with "how" or "if" in one of the seven languages (folded)
_HOW_OR_IF: Final = re.compile(
    r"[¿¡]?(?:how|if|what if|what happens if|wie|wenn|falls|was passiert,? wenn|hoe|als"
    r"|wat als|wat gebeurt er als|como|si|que pasa si|comment|que se passe-t-il si|se|come"
    r"|cosa succede se|o que acontece se)(?!\w)[^.!?;]*\?"
)
_SENTENCES: Final = re.compile(r"(?<=[.!?;])\s+")


def _without_how_or_if(text: str) -> str:
    """``text`` without its sentences that ask how to opt out or what it would do: "How
    do I unsubscribe?", "Wie kann ich mich abmelden?", "If I unsubscribe, do I lose my
    coupon?", "Als ik me afmeld, krijg ik dan nog facturen?". Their words name the
    opt-out, but the writer has not asked for it (yet): in a short mail a person answers
    (review), and a request beside one ("Bitte austragen. Wie lange dauert das?") is
    read all the same."""
    if "?" not in text:
        return text
    return " ".join(s for s in _SENTENCES.split(text) if not _HOW_OR_IF.fullmatch(s))


# -- German and Dutch requests with words inside the verb phrase ------------------------
# Both languages put the infinitive, or the particle of a separable verb, at the end of
# the clause, and writers fill the middle with whatever they like: "Ich möchte mich
# hiermit von Ihrem Newsletter abmelden", "Könnten Sie mich nächste Woche bitte
# austragen?", "Zouden jullie mij per januari willen uitschrijven?", "Schrijf mij
# alstublieft per direct uit". No phrase list holds all of these, so the frame is read:
# a first-person object (or "meine E-Mail-Adresse", "den Newsletter"), up to ten words,
# then an opt-out verb (also "zu …"/"te …") that ends the clause
# (or is followed by "von …"/"van …" only), in a sentence that asks for it. It is not
# a request when its clause holds a negation, a question word ("Wie kann ich mich
# abmelden?" is a how-to question, by design a person's to read) or a subordinating
# conjunction ("wenn Sie mich austragen, …"), or when it is a question nobody is asked
# ("Kann ich mich abmelden?": a request needs "Sie", "u", "jullie", … in it). Past
# participles ("abgemeldet", "uitgeschreven") are not infinitives: a report of an
# opt-out is no request.
_SPLIT_LANGS: Final = {
    "de": {
        "pronoun": (
            "mich", "uns", "meine e-mail-adresse", "meine e-mail adresse", "meine emailadresse",
            "meine mailadresse", "meine adresse", "ihren newsletter", "den newsletter",
            "euren newsletter", "deinen newsletter",
        ),
        "verbs": (
            "austragen", "abmelden", "entfernen", "herausnehmen", "rausnehmen", "streichen",
            "herausstreichen", "loschen", "loeschen", "abbestellen", "kundigen", "kuendigen",
            "auszutragen", "abzumelden", "zu entfernen", "herauszunehmen", "rauszunehmen",
            "zu streichen", "zu loschen", "zu loeschen", "abzubestellen", "zu kundigen",
            "zu kuendigen",
        ),
        "imperatives": (
            "tragen sie", "nehmen sie", "streichen sie", "melden sie", "tragt", "trag",
            "nehmt", "nimm", "meldet", "meld", "melde",
        ),
        "particles": ("aus", "heraus", "raus", "ab"),
        "asks": (
            "bitte", "mochte", "moechte", "mochten", "moechten", "will", "wollen", "wurde",
            "wuerde", "wurden", "wuerden", "konnten", "koennten", "konnen", "koennen",
            "konntest", "koenntest", "kannst", "wunsche", "wuensche", "ersuche", "bitten",
            "ware", "waere", "moglich", "moeglich",
        ),
        "addressees": ("sie", "ihr", "du"),
        "possible": ("moglich", "moeglich"),
        "negations": ("nicht", "kein", "keine", "keinen", "nie", "niemals", "nimmer"),
        "questions": ("wie", "wo", "warum", "wieso", "weshalb", "wann", "was", "welche"),
        "clauses": (
            "wenn", "falls", "ob", "sobald", "bevor", "nachdem", "dass", "weil", "damit",
            "obwohl",
        ),
        "after": ("von", "vom", "aus", "bei", "fur", "fuer"),
        # "nehmen Sie mich bitte aus Ihrem E-Mail-Verteiler": the particle left out,
        # the list named instead
        "list_imperatives": ("nehmen sie", "nehmt", "nimm"),
        "list_infinitives": ("nehmen",),
        "lists": ("verteiler", "liste", "listen", "newsletter", "datenbank", "kartei"),
        "from": ("aus",),
    },
    "nl": {
        "pronoun": (
            "mij", "me", "ons", "mijn e-mailadres", "mijn emailadres", "mijn mailadres",
            "mijn adres", "de nieuwsbrief", "uw nieuwsbrief", "jullie nieuwsbrief",
        ),
        "verbs": (
            "uitschrijven", "afmelden", "verwijderen", "schrappen", "afhalen", "opzeggen",
            "uit te schrijven", "af te melden", "te verwijderen", "te schrappen",
            "af te halen", "op te zeggen",
        ),
        "imperatives": ("schrijf", "schrijft u", "meld", "meldt u", "haal", "haalt u"),
        "particles": ("uit", "af"),
        "asks": (
            "graag", "alsjeblieft", "alstublieft", "aub", "svp", "wil", "wilt", "willen",
            "kunt", "kunnen", "zou", "zoudt", "zouden", "verzoek", "verzoeke", "verzoeken",
            "gelieve", "mogelijk",
        ),
        "addressees": ("u", "jullie", "je", "jij"),
        "possible": ("mogelijk",),
        "negations": ("niet", "geen", "nooit", "nimmer"),
        "questions": ("hoe", "waar", "waarom", "wanneer", "wat", "welke"),
        "clauses": ("als", "indien", "zodra", "voordat", "nadat", "omdat", "dat", "zodat"),
        "after": ("van", "voor", "uit", "bij"),
        # "kunnen jullie mij even van de verzendlijst halen?": a verb as common as
        # "fetch" (halen) counts only with a list named before it
        "list_imperatives": ("haal", "haalt u"),
        "list_infinitives": ("halen", "te halen"),
        "lists": ("lijst", "bestand", "mailing", "nieuwsbrief"),
        "from": ("van", "uit"),
    },
}  # fmt: skip


def _split_pattern(lang: str) -> re.Pattern[str]:
    words = _SPLIT_LANGS[lang]
    gap = r"(?:\s+[^\s.!?;:,]+){0,10}?"
    tail = rf"(?:\s+{_alternation(words['after'])}(?!\w)(?:\s+[^\s.!?;:,]+){{0,5}})?"
    end = r"\s*(?:[.!?;:,–—]|\s-\s|$)"
    pronoun = _alternation(words["pronoun"])
    infinitive = rf"{pronoun}(?!\w){gap}\s+{_alternation(words['verbs'])}(?!\w){tail}{end}"
    imperative = (
        rf"{_alternation(words['imperatives'])}\s+{pronoun}(?!\w){gap}\s+"
        rf"{_alternation(words['particles'])}(?!\w){tail}{end}"
    )
    listed = (
        rf"\s+{_alternation(words['from'])}(?:\s+[^\s.!?;:,]+){{0,3}}?"
        rf"\s+[^\s.!?;:,]*(?:{'|'.join(words['lists'])})[^\s.!?;:,]*"
    )
    list_imperative = (
        rf"{_alternation(words['list_imperatives'])}\s+{pronoun}(?!\w){gap}{listed}{end}"
    )
    list_infinitive = (
        rf"{pronoun}(?!\w){gap}{listed}\s+{_alternation(words['list_infinitives'])}(?!\w){end}"
    )
    return re.compile(
        f"(?P<imperative>{imperative}|{list_imperative})|(?:{infinitive}|{list_infinitive})"
    )


_SPLIT_RES: Final = {lang: _split_pattern(lang) for lang in _SPLIT_LANGS}
_SPLIT_SETS: Final = {
    lang: {key: frozenset(v) for key, v in words.items()} for lang, words in _SPLIT_LANGS.items()
}
#: a word of every frame: without one of these the text need not be searched
_SPLIT_WORDS: Final = frozenset(
    w
    for words in _SPLIT_LANGS.values()
    for key in ("verbs", "particles", "list_infinitives", "from")
    for phrase in words[key]
    for w in phrase.split()
)
_SPLIT_SENTENCE_END: Final = re.compile(r"[.!?;]")


#: dots that end no sentence: "zum 1. Januar", "a.u.b.", "s.v.p.", "z.s.m."
_INNER_DOTS: Final = re.compile(r"(?<=\d)\.(?=\s)|(?<!\w)(?:a\.u\.b|s\.v\.p|z\.s\.m)\.?")


def _split_requests(text: str) -> list[Hit]:
    """German and Dutch requests whose verb phrase has words inside it (see above)."""
    if "." in text:
        text = _INNER_DOTS.sub(lambda m: m.group(0).replace(".", ""), text)
    for lang, rx in _SPLIT_RES.items():
        sets = _SPLIT_SETS[lang]
        for match in rx.finditer(text):
            start, end = match.span()
            clause_start = max((text.rfind(c, 0, start) for c in ",.!?;:"), default=-1) + 1
            clause = _WORD.findall(text[clause_start:end])
            if sets["negations"].intersection(clause) or sets["questions"].intersection(clause):
                continue
            if sets["clauses"].intersection(clause) or _threatened(text, start):
                continue
            s_start = max((text.rfind(c, 0, start) for c in ".!?;"), default=-1) + 1
            found = _SPLIT_SENTENCE_END.search(text, end - 1)
            s_end = found.end() if found else len(text)
            sentence = text[s_start:s_end]
            said = set(_WORD.findall(sentence))
            asked = bool(said & sets["asks"])
            if match.group("imperative") is None and not asked:
                continue
            asks_whom = sets["addressees"] | sets["possible"]
            if sentence.rstrip().endswith("?") and not said & asks_whom:
                continue
            phrase = " ".join(match.group(0).strip(" .!?;:,").split())
            return [Hit(phrase, lang, "body", True)]
    return []


#: "it worked" of an opt-out, in the seven languages (folded); not its negations
#: ("it didn't work", "no ha funcionado", "hat nicht funktioniert", "non ha funzionato")
_WORKED: Final = re.compile(
    r"(?<!\w)(?:(?:it|that|this) (?:has |have )?worked|worked (?:fine|perfectly|well)"
    r"|successfully unsubscribed|(?<!no )(?:ha|han) funcionado|a (?:bien )?(?:fonctionne|marche)"
    r"|hat (?:(?!nicht|nie)\w+ )?(?:funktioniert|geklappt)|(?<!nao )funcionou"
    r"|(?<!non )(?:ha|hanno) funzionato|(?:heeft|hebben) (?:(?!niet|nooit)\w+ )?gewerkt"
    r"|is gelukt)(?!\w)"
)
#: "I want to stay subscribed", "I don't want to unsubscribe", in the seven languages
_STAY: Final = (
    r"(?<!\w)(?:(?:want|wish|like|prefer) to (?:stay|remain) (?:subscribed|on (?:the|your) list)"
    r"|(?:don't|do not|never) (?:want to |wish to |mean to )?unsubscribe|keep me subscribed"
    r"|no quiero darme de baja|quiero seguir suscrit|je ne veux pas me desabonner"
    r"|(?:je veux|je souhaite) rester (?:abonne|inscrit)|(?:abonniert|angemeldet) bleiben"
    r"|(?:will|mochte) mich nicht abmelden|nao quero (?:me )?descadastrar"
    r"|quero continuar inscrit|non voglio disiscrivermi|voglio restare iscritt"
    r"|(?:ingeschreven|aangemeld) blijven|wil me niet afmelden)(?!\w)"
)
_NO_REQUEST: Final = re.compile(f"{_WORKED.pattern}|{_STAY}")


#: "I (already) unsubscribed" and "I still get these", in one language (folded): an
#: opt-out that did not work, asked for again in so many words or not ("I already
#: unsubscribed. Why am I still getting these?")
_OPTED_OUT: Final = {
    # not "I've unsubscribed from them twice" (another sender, "a partner of yours")
    "en": r"(?:(?:i|we)(?:'ve| have| had)?(?: already| previously)? (?:unsubscribed|opted out"
    r"|clicked (?:the|your) unsubscribe)|(?:already|previously) unsubscribed)"
    r"(?! from (?:them|those|these|that|their|it|its|the other|another|other))",
    "es": r"me (?:di|he dado|habia dado) de baja",
    "fr": r"je me suis (?:deja )?desinscrit|(?:deja|pourtant) desinscrit",
    "de": r"(?:habe|hatte) mich (?:\w+ ){0,4}?(?:abgemeldet|ausgetragen)",
    "pt": r"me descadastrei|ja cancelei a (?:minha )?(?:inscricao|subscricao)",
    "it": r"mi sono (?:gia )?(?:disiscritt|cancellat)",
    "nl": r"(?:heb|had) me (?:\w+ ){0,4}?afgemeld",
}
_STILL_GETTING: Final = {
    "en": r"still (?:get|getting|receiving|receive)|keep (?:getting|receiving)",
    "es": r"sigo recibiendo|todavia recibo|aun recibo",
    "fr": r"(?:recois|continue a recevoir) (?:toujours|encore)|recois toujours",
    "de": r"(?:bekomme|erhalte|kriege) (?:ich )?(?:immer noch|trotzdem|weiterhin)",
    "pt": r"continuo (?:a )?receb|ainda recebo",
    "it": r"continuo a ricever|ricevo ancora",
    "nl": r"(?:krijg|ontvang) (?:ik )?(?:nog steeds|nog altijd)",
}
_STILL_RES: Final = [
    (lang, re.compile(rf"(?<!\w)(?:{_OPTED_OUT[lang]})"), re.compile(rf"(?<!\w)(?:{still})"))
    for lang, still in _STILL_GETTING.items()
]
#: an opt-out regretted or undone: no request to repeat
_UNDONE: Final = re.compile(
    r"mistake|accident|resubscrib|subscribe again|back on|por error|par erreur"
    r"|versehentlich|per errore|per ongeluk"
)


#: a word every one of the _STILL_GETTING patterns holds: the patterns run only on a
#: text that has one (the word set is counted already; the patterns would scan it all)
_STILL_WORDS: Final = frozenset(
    {"still", "keep", "sigo", "todavia", "aun", "recois", "continue", "immer", "trotzdem",
     "weiterhin", "continuo", "ainda", "ancora", "steeds", "altijd"}
)  # fmt: skip


def _still_receiving(text: str) -> list[Hit]:
    """A writer who says they opted out and still get our mail, in one of the seven
    languages; not one who says it was a mistake or wants back in."""
    if not (_STILL_WORDS & _words(text)) or _UNDONE.search(text):
        return []
    for lang, opted, still in _STILL_RES:
        if opted.search(text) and still.search(text):
            return [Hit("opted out before, still receiving", lang, "body", True)]
    return []


#: channels that are not our e-mail, in the languages read (folded): SMS, messengers,
#: paper (catalogues, brochures, letters), calls
_CHANNEL: Final = re.compile(
    r"(?<!\w)(?:sms(?:-\w+)?|whatsapp|text messages|catalog\w*|katalog\w*|cartace\w*|papier\w*"
    r"|papel|paper|printed|gedruckt\w*|imprime\w*|impres\w*|brochure\w*|prospekt\w*"
    r"|flyer\w*|folder\w*|anrufe\w*|llamadas|chiamate|telefonate|phone calls|kagit\w*"
    r"|brosur\w*)(?!\w)"
    # Japanese, where words run on (folded: カタログ is カタロク): catalogue, paper, post,
    # postcard, SMS, telephone
    r"|カタロク|紙の|郵送|ハカキ|はかき|ショートメッセーシ|電話"
)
#: words for our e-mail and its list: a sentence holding one is about the mail. A list
#: word ends a compound of another channel's ("sms-lijst", "SMS-Liste"): not ours then
_MAIL_WORD: Final = re.compile(
    r"(?<!\w)(?:e-?mails?\w*|mails?|newsletter\w*|nieuwsbrie\w*|boletin\w*|correos?"
    r"|nyhetsbrev\w*|nyhedsbrev\w*|uutiskirje\w*|zpravodaj\w*|seznam\w*|spam|e-posta\w*"
    r"|bulten\w*)(?!\w)"
    r"|(?<![\w-])(?:list|lists|liste|lista|listy|lijst)(?!\w)"
    r"|メール|メルマカ|マカシン|ニュースレター"
)


#: a piece of every match of _CHANNEL: a text without any names no channel, and is
#: spared the pattern's try at every offset (a reply's text, 8 M of the backlog's 1,049 M)
_CHANNEL_CORES: Final = (
    "sms", "whatsapp", "text messages", "atalog", "cartace", "pap", "printed", "gedruckt",
    "impr", "brochure", "prospekt", "flyer", "folder", "anrufe", "llamadas", "chiamate",
    "telefonate", "phone calls", "kagit", "brosur", "カタロク", "紙の", "郵送", "ハカキ",
    "はかき", "ショートメッセーシ", "電話",
)  # fmt: skip
#: those an ASCII text can hold
_CHANNEL_LATIN_CORES: Final = tuple(core for core in _CHANNEL_CORES if core.isascii())


def _may_name_channel(folded: str) -> bool:
    """False when _CHANNEL cannot match ``folded``."""
    cores = _CHANNEL_LATIN_CORES if folded.isascii() else _CHANNEL_CORES
    return any(core in folded for core in cores)


def channel_subject(subject: str) -> bool:
    """The subject names another channel than e-mail and no mail ("STOPP SMS")."""
    folded = fold(subject)
    if not _may_name_channel(folded):
        return False
    return bool(_CHANNEL.search(folded)) and not _MAIL_WORD.search(folded)


def other_channel(subject: str, text: str) -> tuple[str, str] | None:
    """The first channel other than e-mail that a sentence of ``text`` (folded) names
    without naming mail, and ``text`` without those sentences; None when there is none
    (and the subject names none either). In every language read: "proszę nie wysyłać
    SMS-ów", "non mandatemi più il catalogo cartaceo", "slutt å sende SMS"."""
    found: str | None = None
    kept: list[str] = []
    named = _may_name_channel(text)  # if not, no sentence of it does either
    for sentence in _SENTENCE_END.split(text):
        match = _CHANNEL.search(sentence) if named else None
        if match and not _MAIL_WORD.search(sentence):
            found = found or match.group(0)
            continue
        kept.append(sentence)
    if found is None and channel_subject(subject):
        match = _CHANNEL.search(fold(subject))
        found = match.group(0) if match else None
    return (found, " ".join(kept)) if found is not None else None


#: the greeting a signature block starts with (folded): what follows is the writer's
#: name, title and company, not what they say
_SIGNOFF: Final = re.compile(
    r"(?<!\w)(?:mit freundlichen grussen|freundliche grusse|viele grusse|beste grusse"
    r"|best regards|kind regards|warm regards|regards|best wishes|sincerely|yours truly"
    r"|met vriendelijke groet(?:en)?|vriendelijke groet|cordialement|bien cordialement"
    r"|salutations|saludos cordiales|atentamente|un saludo|cumprimentos|atenciosamente"
    r"|cordiali saluti|distinti saluti|pozdrawiam|z powazaniem|med vanlig halsning"
    r"|vanliga halsningar|med venlig hilsen|venlig hilsen|med vennlig hilsen|vennlig hilsen"
    r"|s pozdravem|ystavallisin terveisin|terveisin)(?!\w)"
)


def _before_signoff(text: str) -> str:
    """``text`` up to its sign-off ("Mit freundlichen Grüßen", "Kind regards"…)."""
    found = _SIGNOFF.search(text)
    return text[: found.start()] if found else text


#: a sentence of a longer mail that is one of these, alone (politeness aside), is a
#: command: "I clicked the link three times, still getting these. Remove me." Only the
#: explicit ones: "Stop." or "Cancel." alone could answer anything
_COMMANDS: Final = frozenset(
    {
        "unsubscribe", "unsubscribe me", "remove me", "opt out", "opt me out", "delete me",
        "take me off", "abmelden", "bitte abmelden", "melden sie mich ab", "afmelden",
        "meld mij af", "meld me af", "uitschrijven", "desabonnez-moi", "desinscrivez-moi",
        "darme de baja", "denme de baja", "me descadastrem", "me descadastre",
        "cancellatemi", "disiscrivetemi", "rimuovetemi", "wypisz mnie", "wypiszcie mnie",
        "usun mnie", "usuncie mnie", "avregistrera mig", "ta bort mig", "avanmal mig",
        "afmeld mig", "frameld mig", "fjern mig", "meld meg av", "fjern meg", "avmeld meg",
        "odhlaste me", "odhlaste mne", "poista minut", "poistakaa minut",
    }
)  # fmt: skip
_POLITE: Final = re.compile(
    r"(?<!\w)(?:please|pls|now|thanks|thank you|bitte|danke|merci|por favor|gracias"
    r"|obrigad[oa]|grazie|per favore|alstublieft|a\.u\.b\.|prosze|dziekuje|dzieki|tack"
    r"|vanligen|tak|venligst|vennligst|takk|prosim|dekuji|kiitos|ole hyva)(?!\w)"
)


#: a word of every command: without one, no clause need be looked at
_COMMAND_WORDS: Final = frozenset(
    w
    for c in _COMMANDS
    for w in _WORD.findall(c)
    if w not in {"me", "mij", "mnie", "mig", "meg", "mne", "minut"}
)


def _command_sentences(text: str) -> list[Hit]:
    if not (_COMMAND_WORDS & _words(text)):
        return []
    for sentence in _CLAUSE_END.split(text):
        if len(sentence) > 60:  # a command with its politeness is short
            continue
        bare = " ".join(_POLITE.sub(" ", sentence).strip(" ,.!").split())
        if bare in _COMMANDS:
            return [Hit(bare, "any", "body", True)]
    return []


def _find(text: str, where: str, *, strong_only: bool) -> list[Hit]:
    japanese = not text.isascii() and _KANA_KANJI.search(text)
    found: list[Hit] = _japanese(text, where) if japanese else []
    tables = [(_STRONG_RES, _STRONG_INDEX, True)]
    if not strong_only:
        tables.append((_KEYWORD_RES, _KEYWORD_INDEX, False))
    for table, index, strong in tables:
        for position in _candidates(index, _words(text)):
            rx, phrase, lang = table[position]
            for match in rx.finditer(text):
                if (
                    _negated(text, match.start())
                    or _threatened(text, match.start())
                    or _NEGATED_AFTER.match(text, match.end())
                    or (phrase in _STATES and _reported(text, match.start()))
                    or (strong_only and _in_question(text, match))
                ):
                    continue
                found.append(Hit(phrase, lang, where, strong))
                break
    return found


#: hiragana, katakana and the common CJK ideographs: text that may hold Japanese
_KANA_KANJI: Final = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
_JA_REQUEST_RE: Final = re.compile("|".join([*map(re.escape, JA_REQUESTS), *JA_REQUEST_PATTERNS]))
_JA_SENTENCE_END: Final = re.compile(r"[。.!?\n]")


def _japanese(text: str, where: str) -> list[Hit]:
    """The first Japanese request of ``text`` (folded), as an explicit phrase.

    Japanese has no spaces, so the phrases are found where they run in the text, and
    what undoes them is read around them: a negation right after ("配信停止はしないで
    ください": do not unsubscribe me), a report of something done ("配信停止しました"),
    a question about how ("配信停止の方法を教えてください") or any other question but a
    polite request ("停止していただけますか"), a footer's sentence ("配信停止はこちら").
    The phrases are literal (JA_REQUESTS) or patterns (JA_REQUEST_PATTERNS).
    """
    for match in _JA_REQUEST_RE.finditer(text):
        after = text[match.end() : match.end() + 8]
        start = max((text.rfind(c, 0, match.start()) for c in "。.!?\n"), default=-1) + 1
        end_match = _JA_SENTENCE_END.search(text, match.end())
        end = end_match.end() if end_match else len(text)
        sentence = text[start:end].strip()
        asks = sentence.endswith("?") or sentence.rstrip("。.! ").endswith("か")
        if (
            after.startswith(JA_NEGATED_AFTER)
            or _ja_denied(match.group(0), text[match.end() : end])
            or (
                any(done in text[match.end() : end] for done in JA_DONE)
                and not any(still in sentence for still in JA_STILL)
            )
            or any(cue in sentence for cue in JA_HOW)
            or any(cue in sentence for cue in JA_FOOTER_CUES)
            or (asks and not any(cue in sentence for cue in JA_POLITE))
        ):
            continue
        return [Hit(match.group(0), "ja", where, True)]
    return []


_JA_CLAUSE_END: Final = re.compile(r"[、,。.!?]")


def _ja_denied(phrase: str, rest: str) -> bool:
    """The verb that governs a Japanese request is negated in its clause: "配信停止は
    希望しておりませんので、" (I do not wish to unsubscribe). Not a negative request
    itself ("送らないで", "受け取りたくない"), nor a polite question ("…できませんか")."""
    if "ない" in phrase:
        return False
    clause = _JA_CLAUSE_END.split(rest, maxsplit=1)[0]
    return ("ません" in clause or "ない" in clause) and not clause.endswith(("ませんか", "ないか"))


#: "one more mail like that and I unsubscribe": a threat, no request (yet). The sentence
#: opens with "one more"/"another" and the phrase follows "and I" (seven languages)
_THREAT_OPEN: Final = re.compile(
    r"(?<!\w)(?:one more|another|nog (?:een|een keer)|noch (?:eine?|so eine?|einmal)"
    r"|encore (?:une?|une fois)|otro|otra|una? (?:\w+ )?mas|un altro|un'altra|ancora una?"
    r"|mais (?:um|uma))(?!\w)"
)
#: a piece of every match of _THREAT_OPEN (see _threatened)
_THREAT_CORES: Final = (
    "one more", "another", "nog een", "noch ", "encore un", "otro", "otra", "mas",
    "un altro", "un'altra", "ancora un", "mais um",
)  # fmt: skip
_THREAT_THEN: Final = re.compile(
    r"(?<!\w)(?:and i|en ik|und ich|et je|et j'|y me|y yo|e io|e mi|e eu|e me)(?!\w)"
)


def _threatened(text: str, start: int) -> bool:
    """The phrase is what the writer will do if we go on, in a sentence that opens with
    "one more …" and reaches it by "and I …" ("Nog een zo'n mail en ik schrijf me uit")."""
    sentence = text[max(0, start - 160) : start]
    if not any(core in sentence for core in _THREAT_CORES):
        return False  # no opening in reach: the sentence need not be found nor searched
    ends = [m.end() for m in _SENTENCE_END.finditer(sentence)]  # not "op=op!!!"
    sentence = sentence[ends[-1] :] if ends else sentence
    opened = _THREAT_OPEN.search(sentence)
    return bool(opened and _THREAT_THEN.search(sentence, opened.end()))


def _negated(text: str, start: int) -> bool:
    """A negation among the five words before the phrase, within its clause ("I did not
    unsubscribe", "I never asked you to remove me"); a comma or stop ends the clause,
    so "I don't read these any more, please remove me" stays a request."""
    window = text[max(0, start - 60) : start]
    clause = _CLAUSE_END.split(window)[-1]
    before = " ".join(clause.split()[-5:])
    # a negation's words are words of any text it matches (see _phrase_index): the
    # five words, most often none of them a negation's, spare the pattern's search
    if _NEGATION_KEYS.isdisjoint(_find_words(before)):
        return False
    return bool(_NEGATION_RE.search(before))


_CLAUSE_END: Final = re.compile(r"[,.;:!?\n]")
#: phrases that name a state as readily as they ask for it: "Keine Mails mehr!" asks,
#: "ich bekomme keine Mails mehr, danke" reports that an opt-out worked
_STATES: Final = frozenset(
    {
        "no more emails", "no more e-mails", "keine e-mails mehr", "keine emails mehr",
        "keine mails mehr", "keine newsletter mehr", "keine werbung mehr", "geen e-mails meer",
        "geen mails meer", "geen nieuwsbrieven meer", "geen nieuwsbrief meer",
        "keine weiteren newsletter", "keine weiteren e-mails", "keine weiteren emails",
        "keine weiteren mails", "keine weiteren werbemails",
    }
)  # fmt: skip
#: receiving, said of oneself, before such a phrase in its clause
_RECEIVE: Final = re.compile(
    r"(?<!\w)(?:get|getting|receive|receiving|bekomme|erhalte|kriege|bekam|erhielt|krijg"
    r"|ontvang)(?!\w)"
)


def _reported(text: str, start: int) -> bool:
    """A receiving verb among the five words before the phrase, within its clause."""
    clause = _CLAUSE_END.split(text[max(0, start - 60) : start])[-1]
    return bool(_RECEIVE.search(" ".join(clause.split()[-5:])))


#: Swedish, Danish and Norwegian put "not" after the verb: "avregistrera mig inte!"
#: ("do not unsubscribe me"), "afmeld mig ikke"
_NEGATED_AFTER: Final = re.compile(r"\s+(?:(?:mig|meg|oss|os)\s+)?(?:inte|ikke|ej)(?!\w)")


#: a question about how to do it: "comment faire pour me désabonner ?", "how do I
#: unsubscribe?" (folded; at the start of its sentence)
_HOW_QUESTION: Final = re.compile(
    r"\s*[¿¡]?(?:how|why|comment|pourquoi|wie|warum|hoe|waarom|como|por que|porque|come"
    r"|perche|cosa devo)(?!\w)"
)


def _in_question(text: str, match: re.Match[str]) -> bool:
    """The phrase sits in a sentence ending with '?' and without a first-person object,
    or in a question that asks how ("Comment faire pour me désabonner, au cas où ?")."""
    end = text.find("?", match.end())
    # a colon ends the statement before the question ("preferirei non ricevere più le
    # vostre email: potete togliermi dalla lista?")
    stop = min((i for i in (text.find(c, match.end()) for c in ".!:\n") if i >= 0), default=-1)
    if end < 0 or (0 <= stop < end):
        return False
    sentence = max(text.rfind(c, 0, match.start()) for c in ".!?:\n") + 1
    clause = max(sentence, text.rfind(",", 0, match.start()) + 1)
    if _HOW_QUESTION.match(text, sentence) or _HOW_QUESTION.match(text, clause):
        return True
    # a polite question about the writer's own subscription or address is a request:
    # "pouvez-vous me désabonner ?", "potreste togliere il mio indirizzo?"
    return not _OWN_OBJECT.search(match.group(0))


_OWN_OBJECT: Final = re.compile(
    r"(?<!\w)(?:me|mich|moi|mi|mij|beni|my|mon|ma|mes|mein|meine|meinen|mio|mia|miei|mijn"
    r"|meu|minha|mis)(?!\w)"
)


def _law(text: str, words: frozenset[str] | None = None) -> re.Match[str] | None:
    """The first data-protection law cited in ``text`` (not AVG the antivirus).
    ``words``: the words of ``text``, when known: a law all of whose words are not among
    them is not cited (see _phrase_index), and most texts cite none. The alternation,
    tried at every offset, was 1.5 % of the benchmark backlog's instructions."""
    if words is not None and not _candidates(_LAW_INDEX, words):
        return None
    for match in _LAW_RE.finditer(text):
        if match.group(0) == "avg" and _NOT_A_LAW_RE.match(text, match.end()):
            continue
        return match
    return None


#: the writer says it is no request of theirs, or that they want to keep the mail: the
#: privacy words around are discussed, not asked for (folded)
_NOT_MY_REQUEST: Final = re.compile(
    r"(?<!\w)(?:(?:this|it) (?:is not|isn't) a request|not a request (?:about|for)"
    r"|out of curiosity|par curiosite|aus neugier|por curiosidad|por curiosidade"
    r"|per curiosita|uit nieuwsgierigheid|happy to stay|(?:want|wish|like) to (?:keep|continue)"
    r" (?:receiving|getting)|quero continuar recebendo|quiero seguir recibiendo"
    r"|je souhaite continuer a recevoir|voglio continuare a ricevere"
    r"|ik wil (?:\w+ )?blijven ontvangen)(?!\w)"
)
#: words a match of _NOT_MY_REQUEST holds, whole: all of one of these sets (at least one
#: set an alternative). Searched only in a text that has them, the pattern is spared its
#: try at every offset of the rest ("I request the erasure" holds no "a" and "request")
_NOT_MY_REQUEST_WORDS: tuple[frozenset[str], ...] = tuple(
    frozenset(words.split())
    for words in (
        "a request", "out curiosity", "par curiosite", "aus neugier", "por curiosidad",
        "por curiosidade", "per curiosita", "uit nieuwsgierigheid", "happy stay",
        "keep receiving", "keep getting", "continue receiving", "continue getting",
        "quero continuar recebendo", "quiero seguir recibiendo", "continuer recevoir",
        "continuare ricevere", "ik wil blijven ontvangen",
    )
)  # fmt: skip
#: a word of each of those sets: a text with none holds none of the sets
_NOT_MY_REQUEST_KEYS: Final = frozenset(
    {"request", "curiosity", "curiosite", "neugier", "curiosidad", "curiosidade", "curiosita",
     "nieuwsgierigheid", "stay", "receiving", "getting", "recebendo", "recibiendo",
     "recevoir", "ricevere", "ontvangen"}
)  # fmt: skip
#: rights a template names as reserved, not exercised: "the rights under Articles 16,
#: 17 and 21, which I reserve"
_RESERVED: Final = re.compile(
    r"(?<!\w)(?:i reserve|which i reserve|reserve (?:the|my) right|ich behalte mir"
    r"|vorbehalten|je me reserve|me reservo|mi riservo|reservo-me|behoud ik mij)(?!\w)"
)


#: the kinds of privacy request that also stop the marketing (classify's as well)
_STOPPING_KINDS: Final = frozenset({"erasure", "objection", "do_not_sell"})


def _said_of_oneself(text: str, match: re.Match[str], kind: str) -> bool:
    """A privacy phrase that is the writer's own request: for one that would stop the
    marketing, not in a question that asks how or why or names nobody's own data ("does
    the California 'do not sell or share' rule apply to you?"; access requests are
    questions by nature: "what data do you hold?"); and not in a sentence that reserves
    the rights it names."""
    if kind in _STOPPING_KINDS and _in_question(text, match):
        return False
    start = max(text.rfind(c, 0, match.start()) for c in ".!?;\n") + 1
    found = _SPLIT_SENTENCE_END.search(text, match.end())
    return not _RESERVED.search(text, start, found.end() if found else len(text))


def privacy_intent(subject: str, body_text: str) -> PrivacyIntent:
    """Privacy kinds requested: explicit phrases, or a data-protection law cited about data.

    None when the writer says it is no request of theirs or that they want to keep
    receiving the mail ("this isn't a request about my own data", "c'est surtout par
    curiosité", "quero continuar recebendo a newsletter"): the words are discussed.
    """
    subj = folded_subject(subject)
    text = f"{subj}\n{body_text}"
    words = _words(subj) | _words(body_text)  # the line break parts them: no word spans it
    mine = _NOT_MY_REQUEST_KEYS.isdisjoint(words) or not any(
        needed <= words for needed in _NOT_MY_REQUEST_WORDS
    )
    if not mine and _NOT_MY_REQUEST.search(text):
        return PrivacyIntent((), ())
    kinds: list[str] = []
    hits: list[Hit] = []
    for position in _candidates(_PRIVACY_INDEX, words):
        rx, phrase, lang, kind = _PRIVACY_RES[position]
        match = next((m for m in rx.finditer(text) if _said_of_oneself(text, m, kind)), None)
        if match and not _negated(text, match.start()):
            hits.append(Hit(phrase, lang, "body", True))
            if kind not in kinds:
                kinds.append(kind)
    law = _law(text, words)
    if law and (
        _DATA_RE.search(text)
        or _ARTICLE_RE.search(text)
        or len(text) > 200
        or (law.start() < len(subj) and _REQUEST_NOUN_RE.search(subj))
    ):
        hits.append(Hit(law.group(0), "law", "body", True))
        for number in _ARTICLE_RE.findall(text[:4000]):
            article_kind = _ARTICLE_KIND.get(number)
            if article_kind and article_kind not in kinds:
                kinds.append(article_kind)
                break
        if not kinds:
            kinds.append("other")
    elif not kinds and _may_name_topic(subj) and _REQUEST_NOUN_RE.search(subj):
        topic = _PRIVACY_TOPIC_RE.search(subj)
        if topic:  # "Data protection request", "Datenschutzanfrage": the subject says it
            hits.append(Hit(topic.group(0), "subject", "subject", True))
            kinds.append("other")
    return PrivacyIntent(tuple(kinds), tuple(hits))


# -- requests about somebody else ----------------------------------------------------
#: "my wife", "our late father's", "meiner Frau", "ma mère", "mi padre fallecido": a
#: first-person possessive and a family word (folded text: lower case, no accents)
_RELATION_RE: Final = re.compile(
    r"(?<!\w)(?:"
    r"(?:my|our)\s+(?:(?:late|deceased|elderly|dear|little|young|teenage|minor)\s+){0,2}"
    r"(?:wife|husband|partner|spouse|father|mother|dad|mum|mom|son|daughter|child|children"
    r"|kids?|brother|sister|grand(?:mother|father|ma|pa|son|daughter)|parents?|aunt|uncle"
    r"|fiancee?|boyfriend|girlfriend)(?:'s|s')?"
    r"|(?:meine[rsnm]?|unsere[rsnm]?)\s+(?:(?:verstorbenen?|minderjahrigen?)\s+)?"
    r"(?:ehe)?(?:frau|mann(?:e?s)?|vaters?|mutter|sohn(?:e?s)?|tochter|kind(?:e?s)?|kinder"
    r"|bruders?|schwester|eltern|partners?|partnerin|oma|opa|grossmutter|grossvaters?)"
    r"|(?:mon|ma|mes|notre|nos)\s+(?:(?:defunte?|feue?)\s+)?(?:mari|femme|epouse|epoux"
    r"|pere|mere|fils|fille|enfants?|frere|soeur|parents|grand-(?:pere|mere)|conjointe?"
    r"|compagne|compagnon)"
    r"|(?:mi|mis|nuestr[oa]s?)\s+(?:(?:difunt[oa]|fallecid[oa])\s+)?(?:esposa|esposo"
    r"|marido|mujer|padre|madre|papa|mama|hij[oa]s?|herman[oa]s?|abuel[oa]s?|padres|pareja)"
    r"|(?:meu|minha|meus|minhas|nosso|nossa)\s+(?:falecid[oa]\s+)?(?:marido|esposa|esposo"
    r"|mulher|pai|mae|filh[oa]s?|irma|irmao|avo|pais|companheir[oa])"
    r"|(?:mio|mia|miei|mie|nostro|nostra)\s+(?:(?:defunt[oa]|compiant[oa])\s+)?(?:moglie"
    r"|marito|padre|madre|papa|mamma|figli[oa]?|fratello|sorella|nonn[oa]|genitori"
    r"|compagn[oa])"
    r"|(?:mijn|onze?)\s+(?:(?:overleden|minderjarige)\s+)?(?:vrouw|echtgenot[eo]|man|vader"
    r"|moeder|zoon|dochter|kind(?:eren)?|broer|zus|ouders|partner|opa|oma)"
    r")(?!\w)"
)
#: every family word _RELATION_RE ends in, as the \w+ words of a text split it
_RELATION_WORDS: Final = frozenset(
    _WORD.findall(
        """
        wife husband partner spouse father mother dad mum mom son daughter child children kid
        kids brother sister grandmother grandfather grandma grandpa grandson granddaughter
        parent parents aunt uncle fiance fiancee boyfriend girlfriend frau ehefrau mann manns
        mannes ehemann ehemanns ehemannes vater vaters mutter sohn sohns sohnes tochter kind
        kinds kindes kinder bruder bruders schwester eltern partners partnerin oma opa
        grossmutter grossvater grossvaters mari femme epouse epoux pere mere fils fille enfant
        enfants frere soeur conjoint conjointe compagne compagnon esposa esposo marido mujer
        padre madre papa mama hijo hija hijos hijas hermano hermana hermanos hermanas abuelo
        abuela abuelos abuelas padres pareja pai mae filho filha filhos filhas irma irmao avo
        pais companheiro companheira moglie marito mamma figlio figlia figli fratello sorella
        nonno nonna genitori compagno compagna vrouw echtgenote echtgenoot man vader moeder
        zoon dochter kinderen broer zus ouders
        """
    )
)
#: verbs of a request to stop, remove or delete (stems, every language of the lists)
_REQUEST_VERB_RE: Final = re.compile(
    r"(?<!\w)(?:delet|eras|remov|unsubscrib|clos|cancel|stop|opt(?:-| )?out|take\s+\w+\s+off"
    r"|losch|entfern|abmeld|abbestell|supprim|effac|desinscri|desabonn|retir|borr|elimin"
    r"|de baja|apag|exclu|descadastr|rimuov|disiscriv|verwijder|afmeld|uitschrijv|wis"
    r"|melden sie\s.{0,40}\sab(?!\w)|austrag|trag\w*\s.{0,40}\saus(?!\w)|streich"
    r"|herausnehm|rausnehm|nehm\w*\s.{0,40}\s(?:he)?raus(?!\w)|afhal"
    r"|(?:schrijf|meld|haal)\w*\s.{0,40}\s(?:uit|af)(?!\w))"
)
#: what an erasure is of: an account or data (stems)
_ERASABLE_RE: Final = re.compile(
    r"(?<!\w)(?:account|data|information|details|profile|records?|konto|kundenkonto|daten"
    r"|compte|donnees|informations|cuenta|datos|conta|dados|dati|gegevens)(?!\w)"
)
_ERASURE_VERB_RE: Final = re.compile(
    r"(?<!\w)(?:delet|eras|remov|close|losch|entfern|supprim|effac|borr|elimin|apag|exclu"
    r"|cancell|verwijder|wis)"
)
#: where a sentence ends (for other_channel and on_behalf): . ! ? ; and a space, a new
#: line, or the Japanese full stop, which no space follows
_SENTENCE_END: Final = re.compile(r"[.!?;]\s|\n|。\s?")


@dataclass(frozen=True)
class OnBehalf:
    """A request written about a family member: who, and whether it asks for erasure."""

    relation: str
    erasure: bool

    def evidence(self) -> str:
        return f'about another person: "{self.relation}"'


def on_behalf(subject: str, body_text: str) -> OnBehalf | None:
    """The family member a request is about, if a sentence asks for something about one.

    "Please unsubscribe my wife", "delete my late father's account", "Bitte löschen Sie
    die Daten meiner Mutter": the request is not the sender's own, so applying it to the
    sender (the From) would stop the wrong person's mail and miss the right one. Only a
    sentence holding both the family word and a request verb counts: "My wife and I
    loved it. Please remove me." is the sender's own request.
    """
    subj = folded_subject(subject)
    # the family words as whole words first: a set lookup on the words already counted
    # (the pattern alone, tried at every offset of a long letter, cost it 50 µs)
    if _RELATION_WORDS.isdisjoint(_words(subj)) and _RELATION_WORDS.isdisjoint(_words(body_text)):
        return None
    text = f"{subj}\n{body_text}"
    for sentence in _SENTENCE_END.split(text):
        relation = _RELATION_RE.search(sentence)
        if relation is None or not _REQUEST_VERB_RE.search(sentence):
            continue
        erasure = bool(_ERASURE_VERB_RE.search(sentence) and _ERASABLE_RE.search(sentence))
        return OnBehalf(relation.group(0), erasure)
    return None
