"""Opt-outs written in Japanese and Turkish, and what only looks like one.

Japanese writes no spaces between words, so its requests are found where they run in
the text and what undoes them is read around them: a negation right after the phrase,
a report of something done, a how-to question, a footer. Turkish negates inside the
verb ("çıkarın": remove, "çıkarmayın": do not remove), so whole words decide.
Anything not read goes to review, as before these languages were read.
"""

from __future__ import annotations

import pytest

from tests.unit.test_classify_more_languages import mail
from worker.core.classify import MessageClass, classify


@pytest.mark.parametrize(
    ("body", "subject", "charset"),
    [
        ("", "配信停止", "utf-8"),
        ("メールマガジンの配信を停止してください。\nよろしくお願いいたします。", "Re: News",
         "iso-2022-jp"),
        ("今後メールを送らないでください。", "Re: News", "shift_jis"),
        ("お世話になっております。\n配信を停止していただけますでしょうか。\n山田", "Re: News",
         "utf-8"),
        ("配信停止したのに、まだメールが届きます。止めてください。", "Re: News", "euc-jp"),
        ("メルマガの登録解除をお願いいたします。今後の配信は不要です。", "お願い", "utf-8"),
        ("もうこのメールは受け取りたくないです。", "Re: News", "utf-8"),
    ],
)  # fmt: skip
def test_a_japanese_request_is_an_opt_out(body: str, subject: str, charset: str) -> None:
    result = classify(mail(body, subject, charset))
    assert result.message_class is MessageClass.UNSUBSCRIBE, result.evidence
    assert any("(ja)" in e for e in result.evidence)


@pytest.mark.parametrize(
    "body",
    [
        # do not unsubscribe me: the address changed
        "配信停止はしないでください。メールアドレスを変更しました。",
        # do not stop the delivery, I enjoy it
        "配信を止めないでください。毎週楽しみにしています。",
        # how do I unsubscribe? (a person answers: review)
        "配信停止の方法を教えてください。",
        "どうすれば配信停止できますか？",
        # a report: unsubscribed, thank you
        "配信停止しました。ありがとうございました。",
        # a question, not a polite request
        "先週の配信停止は反映されましたか？",
        # an order cancelled, not the newsletter
        "注文番号 12345 をキャンセルしたいです。",
        # a newsletter footer pasted in without quoting
        "この記事を友人に転送します。\n配信停止をご希望の方はこちら: https://example.com/u",
    ],
)
def test_japanese_that_asks_for_nothing_is_no_opt_out(body: str) -> None:
    result = classify(mail(body))
    assert result.message_class is not MessageClass.UNSUBSCRIBE, result.evidence


@pytest.mark.parametrize(
    ("body", "subject", "charset"),
    [
        ("Lütfen beni e-posta listenizden çıkarın.", "Abonelik", "iso-8859-9"),
        ("", "Abonelikten çık", "utf-8"),
        ("Artık bu e-postaları almak istemiyorum.", "Re: Newsletter", "iso-8859-9"),
        ("Bana e-posta göndermeyin!", "Re: Newsletter", "utf-8"),
        ("Merhaba,\n\nUzun zamandır bültenlerinizi okuyorum ama artık ilgimi çekmiyor ve "
         "çok fazla e-posta alıyorum. Beni listenizden çıkarır mısınız?\n\nTeşekkürler,\nAyşe",
         "Re: Newsletter", "utf-8"),
        ("ABONELİĞİMİ İPTAL EDİN", "Re: Newsletter", "utf-8"),
    ],
)  # fmt: skip
def test_a_turkish_request_is_an_opt_out(body: str, subject: str, charset: str) -> None:
    result = classify(mail(body, subject, charset))
    assert result.message_class is MessageClass.UNSUBSCRIBE, result.evidence
    assert any("(tr)" in e for e in result.evidence)


@pytest.mark.parametrize(
    ("body", "subject"),
    [
        # do NOT remove me: one syllable flips the verb
        ("Lütfen beni listeden çıkarmayın, tarifleriniz harika!", "Beni listeden çıkarmayın"),
        # cancel an order
        ("12345 numaralı siparişimi iptal etmek istiyorum.", "İptal talebi"),
        # a footer pasted in without quoting
        ("Bu bülteni size iletiyorum.\nAbonelikten çıkmak için buraya tıklayın: "
         "https://example.com/u", "Fwd: Bülten"),
    ],
)  # fmt: skip
def test_turkish_that_asks_for_nothing_is_no_opt_out(body: str, subject: str) -> None:
    result = classify(mail(body, subject))
    assert result.message_class is not MessageClass.UNSUBSCRIBE, result.evidence


@pytest.mark.parametrize(
    "body",
    [
        "配信リストから私のアドレスを削除してください。",
        "もうメール送ってこなくて大丈夫です。リストから外してください。",
        "メルマガもう読んでないんで、解除しといてもらえると助かります",
        "このメールマガジンは今後不要です。",
        "はいしんていし　おねがいします",
    ],
)
def test_japanese_requests_in_other_words_are_opt_outs(body: str) -> None:
    result = classify(mail(body))
    assert result.message_class is MessageClass.UNSUBSCRIBE, result.evidence


@pytest.mark.parametrize(
    ("body", "subject"),
    [
        # I do not wish to unsubscribe (the verb is negated later in the clause)
        ("配信停止は希望しておりませんので、解除しないでください。", "Re: News"),
        # it worked, thanks
        ("配信停止の手続きが完了したとのこと、確認しました。", "Re: 配信停止手続き完了のお知らせ"),
        # stop the paper catalogue, keep the newsletter
        ("毎月郵送で届く紙のカタログですが、今後は送付を停止してください。"
         "メールマガジンはこれまで通り受け取りたいと思います。", "カタログ送付停止のお願い"),
        # remove this number from the SMS list; the e-mail may go on
        ("Lütfen bu numarayı SMS listenizden çıkarın. E-posta bülteniniz gelmeye devam "
         "edebilir.", "SMS"),
    ],
)  # fmt: skip
def test_what_undoes_a_request_in_japanese_and_turkish(body: str, subject: str) -> None:
    result = classify(mail(body, subject))
    assert result.message_class is not MessageClass.UNSUBSCRIBE, result.evidence
