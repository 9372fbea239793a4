"""The built-in templates: every one passes its checks under both profiles, and every
template the default policy names exists in both languages."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

from fairdue.adapters.policy_file import load_default_policy
from fairdue.adapters.templates import TemplateOptions, load_templates, templates_from_settings
from fairdue.domain.message_context import MessageChannel, MessageContext
from fairdue.domain.money import Money
from fairdue.domain.policy import Policy
from fairdue.settings import Settings

ContextMaker = Callable[..., MessageContext]
LANGUAGES = ("zh-CN", "en")


def policy_templates(policy: Policy) -> set[str]:
    variants = [None] if policy.experiment is None else [v.name for v in policy.experiment.variants]
    return {action.template for variant in variants for step in policy.steps_of(variant)
            for action in step.actions if action.template}


def test_every_template_the_default_policy_names_exists_in_both_languages_and_passes(
        us_options: TemplateOptions) -> None:
    names = policy_templates(load_default_policy())
    assert names >= {"first_overdue_sms", "reminder_sms", "overdue_email", "overdue_push", "visit_notice"}
    templates = load_templates(None, us_options)
    for name in sorted(names):
        for language in LANGUAGES:
            check = templates.check(name, language)
            assert check.ok, check.reason()


def test_every_built_in_template_passes_with_the_default_settings_under_both_profiles() -> None:
    templates = load_templates(None, None)
    assert templates.profiles == ("cn", "us-regf")
    assert [c.reason() for c in templates.checks if not c.ok] == []
    assert {(c.name, c.language) for c in templates.checks} == {
        (name, lang) for name in templates.names for lang in LANGUAGES}
    assert templates_from_settings(Settings()).ok


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("name", ["first_overdue_sms", "reminder_sms", "visit_notice"])
def test_the_sms_templates_fit_three_segments_under_us_regf(us_options: TemplateOptions,
                                                           name: str, language: str) -> None:
    check = load_templates(None, us_options).check(name, language)
    assert check.channel is MessageChannel.SMS
    assert [profile for profile, _ in check.segments] == ["cn", "us-regf"]
    assert all(length.segments <= 3 for _, length in check.segments), check.segments


def test_the_first_sms_tells_days_amount_channels_and_the_verification_line(
        options: TemplateOptions, make_context: ContextMaker) -> None:
    message = load_templates(None, options).render("first_overdue_sms", "zh-CN", make_context())
    assert message.body == (
        "【微粒贷】张**您好，您的借款已逾期5天，应还¥1,234.56。可通过微众银行App、银行转账"
        "（微众银行还款专户 6222 1234 5678）或热线95384还款。核实来电请拨官方热线95384-9。")
    assert message.segments == 2


def test_the_email_breaks_the_amount_down(options: TemplateOptions, make_context: ContextMaker) -> None:
    context = make_context(loans=2, oldest_due_date=date(2026, 6, 15), penalty=Money.of("12.34"))
    message = load_templates(None, options).render("overdue_email", "en", context)
    assert message.subject == "微粒贷: your loan is 5 days overdue, CN¥1,242.34 due"
    for line in ("  Principal: CN¥1,000.00", "  Interest: CN¥200.00", "  Fees: CN¥30.00",
                 "  Late charges: CN¥12.34"):
        assert line in message.body.splitlines()
    assert "the oldest unpaid installment was due on June 15, 2026" in message.body
    assert "Your 2 loan(s) with 微粒贷" in message.body
    zh = load_templates(None, options).render("overdue_email", "zh-CN", context)
    assert "  逾期罚息：¥12.34" in zh.body.splitlines()
    assert "最早一期应还日为2026年6月15日" in zh.body


def test_the_push_is_short_and_shows_the_amount(options: TemplateOptions, make_context: ContextMaker) -> None:
    message = load_templates(None, options).render("overdue_push", "zh-CN", make_context())
    assert message.subject == "微粒贷还款提醒"
    assert message.body == "您有一笔¥1,234.56的借款已逾期，请打开微众银行App查看并还款。"
