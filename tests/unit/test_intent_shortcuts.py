"""Shortcuts of the intent and quote readers give what the patterns they spare would give.

Each test compares a shortcut with the plain pattern call it stands for, on the inputs
that could tell them apart (see test_headers_text.py for the older shortcuts).
"""

from __future__ import annotations

import random
import re
import unicodedata

from worker.core import classify, intent, quotes
from worker.core.message import caseless

#: lines each of the four marker patterns matches, one or more per alternative
_MARKER_SAMPLES = [
    "-- ", "--", "-----Original Message-----", "Begin forwarded message:",
    "Sent from my iPhone", "sent from Outlook", "Get Outlook for iOS",
    "Enviado desde mi iPhone", "Enviado do meu iPhone", "Envoyé de mon iPhone",
    "Von meinem iPhone gesendet", "Gesendet von meinem iPad", "Inviato da iPhone",
    "Verzonden met iPhone", "Skickat från min iPhone",
    "Diese Nachricht wurde von meinem Handy gesendet", "_" * 20, "-" * 20,
    "From: a@b.c", "*From:* x", "Von: x", "De: x", "Da: x", "Van: x", "Från: x", "Od: x",
    "От: x", "差出人: x", "发件人: x", "寄件者: x", "-----Ursprüngliche Nachricht-----",
]  # fmt: skip
_MARKER_BITS = (
    (quotes._SEPARATOR, quotes._SEPARATOR_START),
    (quotes._SIGNATURE, quotes._SIGNATURE_START),
    (quotes._RULER, quotes._RULER_START),
    (quotes._OUTLOOK_FROM, quotes._FROM_START),
)


def test_marker_kinds_by_first_character() -> None:
    # _first_marker tries only the patterns _marker_kinds names for a line's first
    # character: a pattern left out must match no line that starts so, whatever the
    # character's case variant (any character a case-insensitive start takes for one)
    starts = re.compile(f"[{re.escape(''.join(sorted(quotes._MARKER_KINDS)))}]", re.I)
    variants = [chr(c) for c in range(0x110000) if starts.fullmatch(chr(c))]
    for sample in _MARKER_SAMPLES:
        kinds = quotes._marker_kinds(sample)
        assert any(bits & kinds and p.match(sample) for p, bits in _MARKER_BITS), sample
        for char in variants:
            for line in (char + sample[1:], " \t" + char + sample[1:]):
                kinds = quotes._marker_kinds(line)
                for pattern, bits in _MARKER_BITS:
                    if not bits & kinds:
                        assert not pattern.match(line), (repr(line), pattern.pattern[:30])


def _attribution_reference(line: str, following: str) -> bool:
    """quotes._is_attribution as it was, with the case-insensitive patterns only."""
    if len(line) > 300 or not line.strip():
        return False
    joined = f"{line.rstrip()} {following.strip()}"
    if joined.isascii():
        if not quotes._VERB_ASCII.search(joined.lower()):
            return False
    elif "年" in line and quotes._DATED_ATTRIBUTION.match(line):
        return True
    elif not quotes._may_hold_verb(joined) or not quotes._VERB.search(joined):
        return False
    if quotes._ATTRIBUTION.match(line):
        return True
    return (
        bool(line.strip())
        and len(joined) <= 300
        and bool(quotes._PREFIXED_ATTRIBUTION.match(joined))
    )


def test_attribution_on_lower_cased_ascii_is_the_case_insensitive_match() -> None:
    pieces = [
        "On", "ON", "on", "Am", "LE", "El", "Em", "il", "Op", "Den", "dne", "W dniu",
        "El día", "kl.", "Pe", "Dana", "Mon, 23 Nov 2026", "09:00", "Example News",
        "<news@example.com>", "(news@example.com)", "[x@y.z]", "WROTE", "wrote", "Wrote:",
        "schrieb", "SCHRIEB:", "a écrit", "A ECRIT :", "escribió", "escribio:", "escreveu",
        "ha scritto", "scrisse", "schreef", "het volgende geschreven", "skrev", "napsal",
        "napisał(a)", "napisal", "a scris", "kirjoitti", "yazdı", "YAZDI:", "написал",
        ":", " ", "  ", "\t", "\xa0", "x" * 150, "İ", "ſ", "K", "Which plan?",
    ]  # fmt: skip
    rnd = random.Random(21)
    for _ in range(30_000):
        line = " ".join(rnd.choice(pieces) for _ in range(rnd.randint(1, 7)))
        following = " ".join(rnd.choice(pieces) for _ in range(rnd.randint(0, 4)))
        for a, b in ((line, following), (line + rnd.choice(["", " ", "\xa0"]), line)):
            assert quotes._is_attribution(a, b) == _attribution_reference(a, b), (a, b)


def test_first_verb_found_from_near_the_first_core_is_the_first_verb() -> None:
    verbs = ["wrote", "schrieb", "a ecrit", "a  \n ecrit", "escribio", "escreveu", "ha scritto",
             "ha\t\tscritto", "scrisse", "schreef", "het volgende geschreven",
             "het\n volgende \x1cgeschreven", "skrev", "napsal", "napisal", "a scris",
             "a\x0b\x0bscris", "kirjoitti", "yazdi", "a" + " " * 30 + "ecrit",
             "het" + "\n" * 20 + "volgende geschreven"]  # fmt: skip
    fillers = ["a", "ha", "het", "volgende", "e", " ", "\n", "\t", "x", "On Mon,", "> q", "    "]
    rnd = random.Random(13)
    for _ in range(30_000):
        parts = [rnd.choice(fillers) for _ in range(rnd.randint(0, 12))]
        parts.insert(rnd.randint(0, len(parts)), rnd.choice(verbs))
        text = "".join(parts)
        lines = text.split("\n")
        match = quotes._VERB_ASCII.search(text.lower())
        assert match is not None
        expected = text.count("\n", 0, match.start())
        assert quotes._first_verb_line(lines, text) == expected, repr(text)


def test_first_verb_line_of_the_text_as_given_is_that_of_its_lines() -> None:
    pieces = ["\r\n", "\r", "\n", "\r\r\n", " ", "On Mon, Jane", "wrote:", "WROTE", "a\r\nécrit",
              "schrieb", "é", "İ", "x", "> quoted", "年"]  # fmt: skip
    rnd = random.Random(3)
    for _ in range(20_000):
        text = "".join(rnd.choice(pieces) for _ in range(rnd.randint(0, 12)))
        lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        expected = quotes._first_verb_line(lines)
        assert quotes._first_verb_line(lines, text) == expected, repr(text)
        assert quotes._first_marker(lines, text) == quotes._first_marker(lines), repr(text)


def _folded_texts() -> list[str]:
    """Folded texts of the words the gated patterns look for, and of look-alikes."""
    pieces = [
        "this is not a request", "it isn't a request", "not a request about", "requests",
        "out of curiosity", "par curiosite", "aus neugier", "por curiosidad",
        "por curiosidade", "per curiosita", "uit nieuwsgierigheid", "happy to stay",
        "happy to stayed", "want to keep receiving", "like to continue getting",
        "wish to keep gettings", "quero continuar recebendo", "quiero seguir recibiendo",
        "je souhaite continuer a recevoir", "voglio continuare a ricevere",
        "ik wil graag blijven ontvangen", "ik wil blijven ontvangen", "gdpr", "uk gdpr",
        "dsgvo", "ds-gvo", "ds gvo", "avg", "avg antivirus", "2016/679", "2016 679", "γκπδ",
        "data protection act", "consumer privacy act", "lopdgdd", "lopd", "xgdpr", "gdprx",
        "personal data", "article 17", "art. 21", "please delete my data", "unsubscribe",
        "click here to unsubscribe", "if you no longer wish", "www.example.com", "_", "é",
        "don't", "a_b", "x2", "\u00bd", "٣", ",", ".", "!", "?", "\n", " ", "  ", "\t",
        "\x1c", "\xa0", "'",
    ]  # fmt: skip
    rnd = random.Random(5)
    return ["".join(rnd.choice(pieces) + rnd.choice(["", " "]) for _ in range(rnd.randint(1, 9)))
            for _ in range(20_000)]  # fmt: skip


def test_no_character_below_u0300_combines() -> None:
    assert not any(unicodedata.combining(chr(c)) for c in range(0x300))  # see intent.fold


def test_words_found_by_splitting_are_the_patterns() -> None:
    for text in _folded_texts():
        assert intent._find_words(text) == intent._WORD.findall(text), text
    rnd = random.Random(2)
    chars = [chr(c) for c in range(128)] + ["é", "\xa0", "\u2028"]
    for _ in range(20_000):
        text = "".join(rnd.choice(chars) for _ in range(rnd.randint(0, 12)))
        assert intent._find_words(text) == intent._WORD.findall(text), repr(text)


def test_fold_of_ascii_is_its_words_lowered_and_single_spaced() -> None:
    rnd = random.Random(6)
    chars = [chr(c) for c in range(128)] + ["a", "b", " ", " "]
    for _ in range(50_000):
        text = "".join(rnd.choice(chars) for _ in range(rnd.randint(0, 8)))
        assert intent.fold(text) == " ".join(text.lower().split()), repr(text)


def test_gated_privacy_patterns_find_what_the_patterns_find() -> None:
    assert "" not in intent._LAW_INDEX.entries
    assert "" not in intent._FOOTER_INDEX.entries  # _footer_cue's gate looks for keys only
    for text in _folded_texts():
        words = frozenset(intent._WORD.findall(text))
        gated = any(needed <= words for needed in intent._NOT_MY_REQUEST_WORDS)
        assert gated or not intent._NOT_MY_REQUEST.search(text), text
        law, reference = intent._law(text, words), intent._law(text)
        assert (law and law.span()) == (reference and reference.span()), text
        for line in text.split("\n"):
            expected = bool(intent._FOOTER_RE.search(line))
            assert intent._footer_cue(line, intent._find_words(line)) == expected, line


def test_intent_text_leaves_the_word_list_of_its_text() -> None:
    for text in _folded_texts()[:3000]:
        body = text.replace(".", "\n").upper()
        folded = intent.intent_text(body)
        assert intent._word_list(folded) == tuple(intent._WORD.findall(folded)), body


def _channel_texts() -> list[str]:
    pieces = [
        "stop sending the paper invoice", "stopp sms", "sms-liste", "no more catalogs",
        "katalog", "cartaceo", "papier", "printed", "whatsapp", "text messages", "flyer",
        "phone calls", "カタロク", "電話", "newsletter", "e-mails", "list", "lijst", "mail",
        "one more mail and i unsubscribe", "another", "noch einmal und ich", "encore une fois",
        "et j'", "una vez mas", "un'altra e io", "mais uma e eu", "nog een keer en ik",
        "i did not", "don't", "never", "nicht", "kein", "no", "pas", "mai", "ei", "bez",
        "please", "unsubscribe", "remove me", "stop", "quit mailing", "cease sending",
        "no longer sending", "the delivery", "my order", ".", "! ", "? ", "; ", "\n", ",",
        " ", "x", "2",
    ]  # fmt: skip
    rnd = random.Random(9)
    return ["".join(rnd.choice(pieces) + rnd.choice(["", " "]) for _ in range(rnd.randint(1, 14)))
            for _ in range(20_000)]  # fmt: skip


def _other_channel_reference(subject: str, text: str) -> tuple[str, str] | None:
    found: str | None = None
    kept: list[str] = []
    for sentence in intent._SENTENCE_END.split(text):
        match = intent._CHANNEL.search(sentence)
        if match and not intent._MAIL_WORD.search(sentence):
            found = found or match.group(0)
            continue
        kept.append(sentence)
    folded = intent.fold(subject)
    if found is None and intent._CHANNEL.search(folded) and not intent._MAIL_WORD.search(folded):
        match = intent._CHANNEL.search(folded)
        found = match.group(0) if match else None
    return (found, " ".join(kept)) if found is not None else None


def _threatened_reference(text: str, start: int) -> bool:
    sentence = text[max(0, start - 160) : start]
    ends = [m.end() for m in intent._SENTENCE_END.finditer(sentence)]
    sentence = sentence[ends[-1] :] if ends else sentence
    opened = intent._THREAT_OPEN.search(sentence)
    return bool(opened and intent._THREAT_THEN.search(sentence, opened.end()))


def _negated_reference(text: str, start: int) -> bool:
    window = text[max(0, start - 60) : start]
    clause = intent._CLAUSE_END.split(window)[-1]
    return bool(intent._NEGATION_RE.search(" ".join(clause.split()[-5:])))


def _not_email_reference(text: str) -> tuple[str, str] | None:
    found: str | None = None
    rest: list[str] = []
    kept = 0
    for match in classify._NOT_EMAIL.finditer(text):
        start = max(text.rfind(c, 0, match.start()) for c in ".!?;") + 1
        if classify._EMAIL_WORD.search(text, start, match.end()):
            continue
        found = found or match.group("sent") or match.group("thing")
        rest.append(text[kept:start])
        kept = match.end()
    if found is None:
        return None
    rest.append(text[kept:])
    return found, " ".join(rest)


def test_gated_channel_threat_negation_and_stop_readers_answer_as_the_patterns() -> None:
    for text in _channel_texts():
        subject = text[: len(text) // 2].upper()
        assert intent.other_channel(subject, text) == _other_channel_reference(subject, text)
        assert classify._not_email(text) == _not_email_reference(text), text
        for start in range(0, len(text), 7):
            assert intent._threatened(text, start) == _threatened_reference(text, start)
            assert intent._negated(text, start) == _negated_reference(text, start), text


def test_sent_line_look_never_misses_an_outlook_header_block() -> None:
    pieces = ["From: Jane", "VON: x", "de : y", "*From:* z", "> from:", "Sent: Monday",
              "GESENDET:", "Envoyé :", "ENVOYE:", "enviado\t:", "Inviato:", "Verzonden:",
              "Date:", "Datum :", "dated:", "sent", ":", "\n", "\n> ", " ", "\xa0", "x" * 70,
              " " * 70, "This week: news", "wrote:", "İ", "sentence"]  # fmt: skip
    rnd = random.Random(4)
    for _ in range(30_000):
        text = "".join(rnd.choice(pieces) for _ in range(rnd.randint(0, 10)))
        if classify._OUTLOOK_HEADER_BLOCK.search(text, 0, 4000):
            assert classify._has_sent_line(caseless(text)[:4000]), repr(text)


def test_subject_topic_look_never_misses_a_privacy_topic() -> None:
    pieces = [
        "Data protection",
        "PRIVACY",
        "personal data",
        "Datenschutz",
        "protection des",
        "données",
        "proteccion de datos",
        "protecao de dados",
        "protezione dei dati",
        "gegevensbescherming",
        "privacyverzoek",
        "request",
        "Anfrage",
        "x",
        " ",
        "-",
    ]
    rnd = random.Random(7)
    for _ in range(20_000):
        subject = intent.fold("".join(rnd.choice(pieces) for _ in range(rnd.randint(0, 5))))
        if intent._PRIVACY_TOPIC_RE.search(subject):
            assert intent._may_name_topic(subject), subject
