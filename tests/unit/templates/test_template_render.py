"""What the dispatcher gets from `TemplateSet.render`: subject and body, SMS segments, the
language used (with a note when it is not the one asked for), and clear errors."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from fairdue.adapters.templates import TemplateOptions, TemplateRefused, UnknownTemplate, load_templates
from fairdue.domain.message_context import MessageChannel, MessageContext

ContextMaker = Callable[..., MessageContext]
TemplateWriter = Callable[[str, str, str], Path]


@pytest.fixture
def folder(write_template: TemplateWriter, good_sms: str) -> Path:
    write_template("zh-CN", "first_overdue_sms", good_sms)
    write_template("en", "first_overdue_sms", "{# channel: sms #}\n"
                   "Dear {{ borrower_name }}, {{ days_overdue }} days overdue, {{ amount_due }} due. "
                   "Repay via {{ repayment_channels }}. Verify us: {{ verify_hotline }}."
                   "{% if opt_out %} {{ opt_out }}{% endif %}"
                   "{% if collector_disclosure %} {{ collector_disclosure }}{% endif %}\n")
    write_template("zh-CN", "overdue_email", "{# channel: email #}\n"
                   "{% block subject %}\n  您的借款已逾期{{ days_overdue }}天\n{% endblock %}\n"
                   "{% block body %}\n{{ borrower_name }}您好：\n\n应还{{ amount_due }}，"
                   "最早应还日{{ oldest_due_date }}。   \n还款：{{ repayment_channels }}。"
                   "核实：{{ verify_hotline }}。\n{% endblock %}\n")
    push = "{# channel: push #}\n应还{{ amount_due }}。"
    return write_template("zh-CN", "only_chinese_push", push).parent.parent


def test_an_sms_renders_with_its_segments(folder: Path, options: TemplateOptions,
                                          make_context: ContextMaker) -> None:
    message = load_templates(folder, options).render("first_overdue_sms", "zh-CN", make_context())
    assert message.body == ("张**您好，您的借款已逾期5天，应还¥1,234.56。可通过微众银行App、银行转账"
                            "（微众银行还款专户 6222 1234 5678）或热线95384还款。核实热线95384-9。")
    assert message.subject is None
    assert message.segments == 2
    assert message.channel is MessageChannel.SMS
    assert (message.language, message.note, message.template) == ("zh-CN", None, "first_overdue_sms")


def test_english_is_rendered_in_english_formats(folder: Path, options: TemplateOptions,
                                               make_context: ContextMaker) -> None:
    message = load_templates(folder, options).render("first_overdue_sms", "en", make_context())
    assert message.body.startswith("Dear 张**, 5 days overdue, CN¥1,234.56 due. Repay via the 微众银行 app")
    assert message.language == "en"


def test_an_email_has_a_one_line_subject_and_a_tidy_body(folder: Path, options: TemplateOptions,
                                                        make_context: ContextMaker) -> None:
    message = load_templates(folder, options).render("overdue_email", "zh-CN", make_context())
    assert message.subject == "您的借款已逾期5天"
    assert message.body.splitlines()[:3] == ["张**您好：", "", "应还¥1,234.56，最早应还日2026年7月1日。"]
    assert message.segments is None


def test_a_regional_or_unknown_language_falls_back_with_a_note(folder: Path, options: TemplateOptions,
                                                             make_context: ContextMaker) -> None:
    templates = load_templates(folder, options)
    us = templates.render("first_overdue_sms", "en_US", make_context())
    assert us.language == "en"
    assert us.note == "no 'first_overdue_sms' in 'en_US'; rendered in en"
    french = templates.render("first_overdue_sms", "fr", make_context())
    assert french.language == "zh-CN"
    assert french.note == "no 'first_overdue_sms' in 'fr'; rendered in zh-CN"
    assert french.body.startswith("张**您好")
    missing_en = templates.render("only_chinese_push", "en", make_context())
    assert (missing_en.language, missing_en.body) == ("zh-CN", "应还¥1,234.56。")
    assert templates.render("first_overdue_sms", "ZH-cn", make_context()).note is None


def test_an_unknown_template_name_is_a_clear_error(folder: Path, options: TemplateOptions,
                                                  make_context: ContextMaker) -> None:
    with pytest.raises(UnknownTemplate) as error:
        load_templates(folder, options).render("frist_overdue_sms", "zh-CN", make_context())
    assert str(error.value) == ("no message template named 'frist_overdue_sms'; templates: "
                                "first_overdue_sms, only_chinese_push, overdue_email")


def test_a_profile_the_templates_were_not_checked_for_is_refused(
        folder: Path, options: TemplateOptions, make_context: ContextMaker) -> None:
    with pytest.raises(TemplateRefused, match=r"checked for profile\(s\) cn, not 'us-regf'"):
        load_templates(folder, options).render("first_overdue_sms", "en", make_context(profile="us-regf"))


def test_under_us_regf_the_message_carries_the_opt_out_and_the_disclosure(
        folder: Path, us_options: TemplateOptions, make_context: ContextMaker) -> None:
    templates = load_templates(folder, us_options)
    context = make_context(profile="us-regf", lender=us_options.lender, borrower_name="John Smith")
    message = templates.render("first_overdue_sms", "en", context)
    assert message.segments == 2
    assert message.body.endswith("Verify us: 1-800-555-0199. Reply STOP to stop messages here. "
                         "This message is from a debt collector attempting to collect a debt.")
