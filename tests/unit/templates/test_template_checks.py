"""Each load-time check refuses a template that breaks it, names the file and says why, and
nothing can be rendered with a refused template; the control (`good_sms`) passes them all."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from fairdue.adapters.templates import (
    TemplateCheck,
    TemplateOptions,
    TemplateRefused,
    check_template_file,
    load_templates,
)
from fairdue.domain.message_context import MessageChannel, MessageContext
from fairdue.errors import NotFound

ContextMaker = Callable[..., MessageContext]
TemplateWriter = Callable[[str, str, str], Path]


def check(write_template: TemplateWriter, text: str, options: TemplateOptions,
          *, language: str = "zh-CN", name: str = "probe_sms") -> TemplateCheck:
    return check_template_file(write_template(language, name, text), options)


def test_the_control_template_passes(write_template: TemplateWriter, good_sms: str,
                                     options: TemplateOptions) -> None:
    result = check(write_template, good_sms, options)
    assert result.problems == ()
    assert result.channel is MessageChannel.SMS
    assert [(profile, length.segments) for profile, length in result.segments] == [("cn", 2)]


def test_an_sms_without_the_amount_due_is_refused_and_cannot_be_rendered(
        write_template: TemplateWriter, good_sms: str, options: TemplateOptions,
        make_context: ContextMaker) -> None:
    path = write_template("zh-CN", "no_amount", good_sms.replace("应还{{ amount_due }}。", ""))
    template_set = load_templates(path.parent.parent, options)
    result = template_set.check("no_amount", "zh-CN")
    assert result.problems == ("does not show the amount due (S1)",)
    with pytest.raises(TemplateRefused) as refused:
        template_set.render("no_amount", "zh-CN", make_context())
    assert str(refused.value) == f"template {path} is refused: does not show the amount due (S1)"


@pytest.mark.parametrize(("removed", "missing"), [
    ("{{ days_overdue }}", "the days overdue (S1)"),
    ("{{ repayment_channels }}", "the repayment channels (S1)"),
    ("{{ verify_hotline }}", "the verification hotline (S12)"),
])
def test_each_field_s1_asks_for_is_required(write_template: TemplateWriter, good_sms: str,
                                            options: TemplateOptions, removed: str, missing: str) -> None:
    result = check(write_template, good_sms.replace(removed, "X"), options)
    assert len(result.problems) == 1
    assert result.problems[0].startswith(f"does not show {missing}")


def test_the_repayment_channels_may_be_shown_one_by_one(write_template: TemplateWriter, good_sms: str,
                                                        options: TemplateOptions) -> None:
    one_by_one = "{{ app_name }}App、账号{{ bank_account_number }}或热线{{ hotline }}"
    assert check(write_template, good_sms.replace("{{ repayment_channels }}", one_by_one), options).ok
    without_hotline = "{{ app_name }}App、账号{{ bank_account_number }}"
    assert not check(write_template, good_sms.replace("{{ repayment_channels }}", without_hotline),
                     options).ok


def test_a_field_hidden_behind_a_comment_is_not_shown(write_template: TemplateWriter, good_sms: str,
                                                      options: TemplateOptions) -> None:
    hidden = good_sms.replace("{{ amount_due }}", "{# {{ amount_due }} #}")
    assert check(write_template, hidden, options).problems == ("does not show the amount due (S1)",)


@pytest.mark.parametrize(("threat", "language", "category"), [
    ("逾期不还后果自负。", "zh-CN", "threat"),
    ("否则我们将联系你家人。", "zh-CN", "third_party_disclosure"),
    ("Pay now or we call the police.", "en", "impersonation"),
])
def test_prohibited_content_is_refused(write_template: TemplateWriter, good_sms: str,
                                       options: TemplateOptions, threat: str, language: str,
                                       category: str) -> None:
    result = check(write_template, good_sms.replace("核实热线", threat + "核实热线"), options,
                   language=language)
    assert len(result.problems) == 1
    assert result.problems[0].startswith(f"prohibited content ({category}): ")


def test_prohibited_content_in_a_setting_is_caught_too(write_template: TemplateWriter, good_sms: str,
                                                       options: TemplateOptions) -> None:
    shouty = replace(options, lender=replace(options.lender, app_name="老赖曝光台"))
    problems = check(write_template, good_sms, shouty).problems
    assert any(p.startswith("prohibited content (insult): 老赖") for p in problems)
    assert any(p.startswith("prohibited content (public_shaming): 曝光") for p in problems)


def test_an_sms_over_the_segment_limit_is_refused(write_template: TemplateWriter, good_sms: str,
                                                  options: TemplateOptions) -> None:
    long_sms = good_sms.replace("还款。", "还款。" + "感谢您的理解与配合。" * 11)
    result = check(write_template, long_sms, options)
    assert result.problems == ("is 4 segments (UCS-2, 206 units) long, over the limit of 3",)
    assert check(write_template, long_sms, replace(options, max_sms_segments=4)).ok
    just_fits = good_sms.replace("还款。", "还款。" + "感谢您的理解与配合。" * 10)    # 196 units
    assert check(write_template, just_fits, options, name="fits").ok


def test_the_segment_limit_is_measured_on_a_realistic_long_message(
        write_template: TemplateWriter, options: TemplateOptions) -> None:
    # 5 fixed characters + the sample's six-digit amount (¥100,643.20): 16 units, 1 segment;
    # the probe's short markers are not what is measured.
    sms = "{# channel: push #}\n应还{{ amount_due }}请还款"
    assert check(write_template, sms.replace("push", "sms") + "{{ days_overdue }}"
                 "{{ repayment_channels }}{{ verify_hotline }}", options).ok
    result = check(write_template, sms, options, name="p")
    assert result.ok and result.segments == ()


def test_an_unknown_value_a_syntax_error_and_a_missing_channel_line_are_refused(
        write_template: TemplateWriter, good_sms: str, options: TemplateOptions) -> None:
    unknown = check(write_template, good_sms.replace("{{ borrower_name }}", "{{ full_name }}"), options)
    assert unknown.problems[0].startswith("uses an unknown value: 'full_name' is undefined; values: ")
    broken = check(write_template, good_sms + "{% if days_overdue %}\n", options, name="broken")
    assert broken.problems[0].startswith("line 3: Unexpected end of template")
    headless = check(write_template, good_sms.removeprefix("{# channel: sms #}\n"), options, name="h")
    assert headless.problems == ("does not start with a channel line such as {# channel: sms #}",)
    fax = check(write_template, good_sms.replace("sms", "fax"), options, name="fax")
    assert fax.problems == ("names an unknown channel 'fax'; channels: sms, email, push",)


def test_the_sandbox_refuses_reaching_into_python(write_template: TemplateWriter, good_sms: str,
                                                  options: TemplateOptions) -> None:
    sneaky = good_sms + "{{ ''.__class__.__mro__ }}"
    result = check(write_template, sneaky, options)
    assert not result.ok
    assert "__class__" in result.problems[0]


def test_an_email_needs_a_subject(write_template: TemplateWriter, good_sms: str,
                                  options: TemplateOptions) -> None:
    body = good_sms.removeprefix("{# channel: sms #}\n")
    email = "{# channel: email #}\n{% block subject %}{{ subject_line }}{% endblock %}\n" \
            "{% block body %}" + body + "{% endblock %}\n"
    with_subject = email.replace("{{ subject_line }}", "您的借款已逾期{{ days_overdue }}天")
    assert check(write_template, with_subject, options, name="e").ok
    empty = check(write_template, email.replace("{{ subject_line }}", " "), options, name="e2")
    assert empty.problems == ("has an empty subject",)
    no_block = check(write_template, "{# channel: email #}\n" + body, options, name="e3")
    assert no_block.problems == ("an email needs {% block subject %} and {% block body %}",)


def test_a_push_needs_only_the_amount_due(write_template: TemplateWriter, options: TemplateOptions) -> None:
    assert check(write_template, "{# channel: push #}\n您有{{ amount_due }}待还。", options, name="p").ok
    result = check(write_template, "{# channel: push #}\n您有一笔借款待还。", options, name="p2")
    assert result.problems == ("does not show the amount due (S1)",)


def test_us_regf_needs_the_opt_out_line_and_the_collector_disclosure(
        write_template: TemplateWriter, good_sms: str, options: TemplateOptions) -> None:
    both = replace(options, profiles=("cn", "us-regf"))
    assert check(write_template, good_sms, both).ok
    bare = good_sms.replace("{{ collector_disclosure }}{{ opt_out }}", "")
    assert check(write_template, bare, options).ok            # cn needs neither
    assert check(write_template, bare, both).problems == (
        "does not show the opt-out line (US-08) (profile us-regf)",
        "does not show the debt-collector disclosure (US-09) (profile us-regf)",
    )


def test_an_unsupported_language_folder_is_refused(write_template: TemplateWriter, good_sms: str,
                                                   options: TemplateOptions) -> None:
    result = check(write_template, good_sms, options, language="fr")
    assert result.problems == ("language 'fr' is not supported; languages: zh-CN, en",)


def test_one_file_on_demand_names_itself_and_a_missing_file_or_folder_is_an_error(
        tmp_path: Path, options: TemplateOptions) -> None:
    with pytest.raises(NotFound, match=r"template file .*nope\.j2 does not exist"):
        check_template_file(tmp_path / "zh-CN" / "nope.j2", options)
    with pytest.raises(NotFound, match=r"template folder .* does not exist"):
        load_templates(tmp_path / "missing", options)


def test_a_refused_template_does_not_stop_the_others(write_template: TemplateWriter, good_sms: str,
                                                     options: TemplateOptions,
                                                     make_context: ContextMaker) -> None:
    write_template("zh-CN", "bad", good_sms.replace("{{ amount_due }}", ""))
    path = write_template("zh-CN", "good", good_sms)
    template_set = load_templates(path.parent.parent, options)
    assert not template_set.ok
    context: MessageContext = make_context()
    assert template_set.render("good", "zh-CN", context).body.startswith("张**您好")


@pytest.mark.parametrize(("about", "fields", "missing"), [
    ("plan", "{{ plan_amount }}", "the plan's next date (S13)"),
    ("plan", "{{ plan_due_date }}", "the plan's next amount (S13)"),
    ("visit", "", "the appointment time (S8)"),
    ("visit_slots", "{{ visit_time }}", "the appointment times offered (S8)"),
])
def test_a_message_about_a_plan_or_a_visit_must_state_its_date(
        write_template: TemplateWriter, good_sms: str, options: TemplateOptions,
        about: str, fields: str, missing: str) -> None:
    text = good_sms.replace("{# channel: sms #}", f"{{# channel: sms, about: {about} #}}")
    result = check(write_template, text.replace("核实热线", fields + "核实热线"), options)
    assert result.problems == (f"does not show {missing}",)


def test_a_notice_need_not_show_the_debt_but_still_the_hotline_and_an_unknown_subject_is_refused(
        write_template: TemplateWriter, options: TemplateOptions) -> None:
    notice = ("{# channel: sms, about: notice #}\n"
              "{{ borrower_name }}您好，上门已取消。核实热线{{ verify_hotline }}。\n")
    assert check(write_template, notice, options).problems == ()
    assert check(write_template, notice.replace("{{ verify_hotline }}", ""), options).problems == (
        "does not show the verification hotline (S12)",)
    wrong = check(write_template, notice.replace("about: notice", "about: gossip"), options)
    assert wrong.problems[0].startswith("names an unknown subject about: 'gossip'")
