"""The prohibited-content screen (CN-05; US-07/09/11 by wording): what it must catch, the
evasions it must see through, and ordinary words it must leave alone."""

from __future__ import annotations

import pytest

from fairdue.domain.compliance import Category, check_text
from fairdue.errors import InvalidInput


def categories(text: str, lang: str) -> set[Category]:
    return {finding.category for finding in check_text(text, lang)}


@pytest.mark.parametrize(("text", "expected"), [
    ("再不还钱就让你坐牢", Category.FALSE_LEGAL),
    ("我们已经申请拘留", Category.FALSE_LEGAL),
    ("法院传票明天送到你家", Category.FALSE_LEGAL),
    ("我们要起诉你全家", Category.FALSE_LEGAL),
    ("我是公安局的", Category.IMPERSONATION),
    ("三天内不还就曝光你", Category.SHAMING),
    ("已把你拉进黑名单", Category.SHAMING),
    ("我们会打给你通讯录里所有人", Category.DISCLOSURE),
    ("小心我打死你", Category.VIOLENCE),
    ("信不信弄死你", Category.VIOLENCE),
    ("我杀了你", Category.VIOLENCE),
    ("你就是个骗子", Category.INSULT),
    ("给我滚", Category.INSULT),
    ("去别的平台借钱来还，以贷养贷也行", Category.BORROW_ANEW),
    ("后果自负", Category.THREAT),
])
def test_chinese_dirty(text: str, expected: Category) -> None:
    assert expected in categories(text, "zh-CN")


@pytest.mark.parametrize(("text", "expected"), [
    ("坐 牢", Category.FALSE_LEGAL),            # spaces
    ("坐*牢", Category.FALSE_LEGAL),            # punctuation
    ("坐\u200b牢", Category.FALSE_LEGAL),       # zero-width space
    ("黑名單", Category.SHAMING),               # traditional characters
    ("曝　光", Category.SHAMING),               # full-width space
    ("法院傳票", Category.FALSE_LEGAL),
])
def test_chinese_evasions(text: str, expected: Category) -> None:
    assert expected in categories(text, "zh-CN")


@pytest.mark.parametrize("text", [
    "您好，您的账单已出，请于8月15日前还款，如有疑问请致电客服。",
    "我们可以为您提供滚动还款计划。",                 # 滚 inside 滚动
    "请勿点击垃圾短信中的链接。",                     # 垃圾 inside 垃圾短信
    "建议安装杀毒软件保护账户安全。",                  # 杀 inside 杀毒
    "逾期可能影响您的个人征信，请及时还款。",          # a true consequence, stated plainly
])
def test_chinese_clean(text: str) -> None:
    assert check_text(text, "zh-CN") == []


@pytest.mark.parametrize(("text", "expected"), [
    ("Pay today or you will go to jail.", Category.FALSE_LEGAL),
    ("The police will arrest you tomorrow.", Category.IMPERSONATION),
    ("This is the court calling about your debt.", Category.IMPERSONATION),
    ("We will tell your employer about this.", Category.DISCLOSURE),
    ("You are on our blacklist now.", Category.SHAMING),
    ("Take out a payday loan and pay us.", Category.BORROW_ANEW),
    ("You deadbeat, pay up.", Category.INSULT),
    ("We know where you live.", Category.THREAT),
    ("I will kill you", Category.VIOLENCE),
])
def test_english_dirty(text: str, expected: Category) -> None:
    assert expected in categories(text, "en")


@pytest.mark.parametrize(("text", "expected"), [
    ("JAIL", Category.FALSE_LEGAL),                        # case
    ("Ｊａｉｌ awaits", Category.FALSE_LEGAL),               # full-width letters
    ("j a i l", Category.FALSE_LEGAL),                     # spelt out
    ("p.o.l.i.c.e", Category.IMPERSONATION),
    ("k1ll", Category.VIOLENCE),                           # digits for letters
    ("рolice", Category.IMPERSONATION),                    # Cyrillic р
    ("you're being arrested", Category.FALSE_LEGAL),       # inflection
])
def test_english_evasions(text: str, expected: Category) -> None:
    assert expected in categories(text, "en")


@pytest.mark.parametrize("text", [
    "This is a courtesy reminder that your payment of $120 is due on 15 August.",
    "Thank you for your payment. Reply STOP to opt out of text messages.",
    "This is Anna from ACME; please call us back at 555-0100.",
    "Skills workshop: budgeting basics, free for customers.",      # no "kill" in "skills"
    "We can agree a plan you can afford; policies are on our website.",  # not "police"
])
def test_english_clean(text: str) -> None:
    assert check_text(text, "en") == []


def test_findings_carry_the_matched_phrases() -> None:
    findings = check_text("曝光你，拉黑名单，再报警抓你", "zh-CN")
    by_category = {f.category: f.phrases for f in findings}
    assert by_category[Category.SHAMING] == ("曝光", "黑名单")
    assert "抓你" in by_category[Category.FALSE_LEGAL]


def test_mixed_script_is_checked_with_both_lexicons() -> None:
    assert Category.IMPERSONATION in categories("我们是 police", "zh-CN")


def test_unknown_language_is_refused() -> None:
    with pytest.raises(InvalidInput, match="zh-CN or en"):
        check_text("hello", "fr")
