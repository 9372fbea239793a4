"""Message templates: Jinja2 files per language, checked when loaded, rendered for the outbox.

Layout: `DIR/<language>/<name>.j2` (`zh-CN`, `en`); the built-in set is package data in
`fairdue/templates/messages/`. The first line of a file names its channel:
`{# channel: sms #}` (or `email`, `push`). An email has `{% block subject %}` and
`{% block body %}`; a push may have both (the subject is the notification title); an SMS
is the whole file. Values reach a template as text (see `TEMPLATE_FIELDS`), formatted for
its language by `fairdue.adapters.message_format`.

Each file is checked when it is loaded, for every compliance profile it will be used under:
it compiles; rendered with a probe context whose every value is a unique marker, it shows
the fields its channel must carry (`fairdue.domain.message_context.requirements`); rendered
with a realistic sample (long amounts, the lender's real contact details) it passes the
prohibited-content lexicon in its language and, for an SMS, fits the segment limit. A file
that fails is refused with the reasons: `TemplateSet.render` raises `TemplateRefused` for
it, and nothing can be sent with it. The format is described in docs/templates.md.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path

from jinja2 import StrictUndefined, Template, TemplateSyntaxError, UndefinedError
from jinja2.exceptions import SecurityError, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from fairdue.adapters.message_format import DEFAULT_LANGUAGE, LANGUAGES, template_values
from fairdue.domain.compliance import PROFILES, check_text
from fairdue.domain.message_context import (
    TEMPLATE_FIELDS,
    LenderContact,
    MessageAbout,
    MessageChannel,
    MessageContext,
    PlanDue,
    Slot,
    requirements,
    requires_collector_disclosure,
    requires_opt_out,
)
from fairdue.domain.money import Money
from fairdue.domain.sms_segments import SmsLength, sms_length
from fairdue.errors import FairdueError, InvalidInput, NotFound
from fairdue.settings import Settings

DEFAULT_MAX_SMS_SEGMENTS = 3
SUFFIX = ".j2"
_HEADER = re.compile(r"\A\{#-?\s*channel:\s*([\w-]+)\s*(?:,\s*about:\s*([\w-]+)\s*)?-?#\}")
_MARKER = "\u27e6{}\u27e7"          # ⟦n⟧: cannot occur in a real value
_MARKERS = re.compile("\u27e6\\d+\u27e7")


class TemplateRefused(FairdueError):
    """A template failed its checks when loaded; nothing is rendered with it."""


class UnknownTemplate(NotFound):
    """No template of that name exists in the template set."""


@dataclass(frozen=True, slots=True)
class TemplateOptions:
    """What templates are checked against: the lender's real contact details (they are part
    of every message), the profiles the templates will be used under, the SMS part limit."""

    lender: LenderContact
    profiles: tuple[str, ...] = tuple(PROFILES)
    max_sms_segments: int = DEFAULT_MAX_SMS_SEGMENTS
    currency: str = "CNY"

    def __post_init__(self) -> None:
        if not self.profiles:
            raise InvalidInput("templates must be checked for at least one profile")
        unknown = [p for p in self.profiles if p not in PROFILES]
        if unknown:
            raise InvalidInput(f"unknown profile(s) {', '.join(unknown)}; known: {', '.join(PROFILES)}")
        if self.max_sms_segments < 1:
            raise InvalidInput(f"the SMS segment limit must be at least 1, not {self.max_sms_segments}")

    @classmethod
    def from_settings(cls, settings: Settings, *, profiles: Iterable[str] | None = None,
                      max_sms_segments: int | None = None) -> TemplateOptions:
        """Options from the settings; profiles default to the one in force."""
        return cls(
            lender=lender_contact(settings),
            profiles=tuple(profiles) if profiles else (settings.profile,),
            max_sms_segments=max_sms_segments or settings.sms_max_segments,
            currency=settings.currency,
        )


def lender_contact(settings: Settings) -> LenderContact:
    return LenderContact(
        lender_name=settings.lender_name, app_name=settings.app_name,
        bank_account_name=settings.bank_account_name, bank_account_number=settings.bank_account,
        hotline=settings.hotline, verify_hotline=settings.verify_hotline,
        opt_out_text=settings.opt_out_text or "",
    )


@dataclass(frozen=True, slots=True)
class TemplateCheck:
    """The verdict on one template file: `problems` empty means it may be used."""

    name: str
    language: str
    channel: MessageChannel | None
    source: str
    segments: tuple[tuple[str, SmsLength], ...] = ()   # (profile, length of the sample) for SMS
    problems: tuple[str, ...] = ()
    about: MessageAbout = MessageAbout.COLLECTION

    @property
    def ok(self) -> bool:
        return not self.problems

    def describe_segments(self) -> str:
        if not self.segments:
            return "-"
        return " ".join(f"{profile}={length.segments}" for profile, length in self.segments)

    def reason(self) -> str:
        return f"template {self.source} is refused: " + "; ".join(self.problems)


@dataclass(frozen=True, slots=True)
class RenderedMessage:
    """A message ready for its channel. `segments` is set for SMS only; `note` says when the
    language asked for was not the one used."""

    subject: str | None
    body: str
    segments: int | None
    channel: MessageChannel
    language: str
    template: str
    note: str | None = None


@dataclass(frozen=True, slots=True)
class _Loaded:
    check: TemplateCheck
    template: Template | None


def _environment() -> SandboxedEnvironment:
    return SandboxedEnvironment(
        undefined=StrictUndefined, autoescape=False, trim_blocks=True, lstrip_blocks=True,
        keep_trailing_newline=False,
    )


def _render(template: Template, channel: MessageChannel, values: Mapping[str, str]
            ) -> tuple[str | None, str]:
    """(subject, body): the blocks of an email (or of a push that has them), else the file."""
    if "subject" in template.blocks and channel is not MessageChannel.SMS:
        subject = "".join(template.blocks["subject"](template.new_context(dict(values))))
        body = "".join(template.blocks["body"](template.new_context(dict(values))))
        return " ".join(subject.split()), _tidy(body)
    return None, _tidy(template.render(values))


def _tidy(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


def _probe_values(profile: str) -> tuple[dict[str, str], dict[str, str]]:
    """Values that are unique markers (field -> marker), and the marker of each field shown.

    `profile` keeps its real value (templates may branch on it), and the opt-out line and
    disclosure are empty where the profile does not use them, as they are in real messages.
    """
    values: dict[str, str] = {}
    markers: dict[str, str] = {}
    for number, name in enumerate(TEMPLATE_FIELDS):
        if name == "profile":
            values[name] = profile
        elif (name == "opt_out" and not requires_opt_out(profile)) or (
                name == "collector_disclosure" and not requires_collector_disclosure(profile)):
            values[name] = ""
        else:
            values[name] = markers[name] = _MARKER.format(number)
    return values, markers


_SAMPLE_NAMES = {"zh-CN": "欧阳明月", "en": "Alexandra Richardson"}


def sample_context(options: TemplateOptions, profile: str, language: str) -> MessageContext:
    """A realistic, long-ish message: six-digit amount, a year overdue, three loans, a plan
    installment and three appointment times offered (for the templates that show them)."""
    currency = options.currency
    zone = timezone(timedelta(hours=8))
    slots = tuple(Slot(datetime(2026, 12, day, 14, tzinfo=zone), datetime(2026, 12, day, 15, tzinfo=zone))
                  for day in (10, 11, 12))
    return MessageContext(
        borrower_name=_SAMPLE_NAMES.get(language, "Alexandra Richardson"),
        days_overdue=365,
        principal=Money.of("98765.43", currency), interest=Money.of("1234.56", currency),
        fees=Money.of("100.00", currency), penalty=Money.of("543.21", currency),
        oldest_due_date=date(2026, 9, 30), loans=3, lender=options.lender, profile=profile,
        plan_due=PlanDue(date(2026, 12, 31), Money.of("12345.67", currency)),
        visit=slots[0], visit_slots=slots,
    )


def _check_one(template: Template, channel: MessageChannel, about: MessageAbout, language: str,
               profile: str, options: TemplateOptions) -> tuple[list[str], SmsLength | None]:
    problems: list[str] = []
    probe, markers = _probe_values(profile)
    subject, body = _render(template, channel, probe)
    shown = frozenset(name for name, marker in markers.items()
                      if marker in body or (subject is not None and marker in subject))
    problems += [f"does not show {need.what}" for need in requirements(channel, profile, about)
                 if not need.satisfied_by(shown)]
    if channel is MessageChannel.EMAIL and not subject:
        problems.append("has an empty subject")
    sample_subject, sample_body = _render(
        template, channel, template_values(sample_context(options, profile, language), language))
    if not sample_body:
        problems.append("renders an empty message")
    for text in (f"{sample_subject or ''}\n{sample_body}", _MARKERS.sub(" ", f"{subject or ''}\n{body}")):
        for finding in check_text(text, language):
            problems.append(f"prohibited content ({finding.category}): {', '.join(finding.phrases)}")
    length = sms_length(sample_body) if channel is MessageChannel.SMS else None
    if length is not None and length.segments > options.max_sms_segments:
        problems.append(f"is {length.describe()} long, over the limit of {options.max_sms_segments}")
    return list(dict.fromkeys(problems)), length


def _header_of(source_text: str) -> tuple[MessageChannel, MessageAbout] | str:
    """The channel and subject the first line names, or what is wrong with that line."""
    match = _HEADER.match(source_text)
    if match is None:
        return "does not start with a channel line such as {# channel: sms #}"
    try:
        channel = MessageChannel(match.group(1))
    except ValueError:
        known = ", ".join(c.value for c in MessageChannel)
        return f"names an unknown channel {match.group(1)!r}; channels: {known}"
    try:
        return channel, MessageAbout(match.group(2) or MessageAbout.COLLECTION)
    except ValueError:
        known = ", ".join(a.value for a in MessageAbout)
        return f"names an unknown subject about: {match.group(2)!r}; subjects: {known}"


def _structure_problem(template: Template, channel: MessageChannel) -> str | None:
    blocks = set(template.blocks)
    if channel is MessageChannel.SMS and blocks:
        return "an SMS is the whole file: it has no blocks (found " + ", ".join(sorted(blocks)) + ")"
    if channel is MessageChannel.EMAIL and not {"subject", "body"} <= blocks:
        return "an email needs {% block subject %} and {% block body %}"
    if channel is MessageChannel.PUSH and blocks and blocks != {"subject", "body"}:
        return "a push is the whole file, or {% block subject %} (the title) and {% block body %}"
    if blocks - {"subject", "body"}:
        return "unknown block(s) " + ", ".join(sorted(blocks - {"subject", "body"}))
    return None


def check_source(text: str, *, name: str, language: str, source: str,
                 options: TemplateOptions) -> _Loaded:
    """Compile and check one template's text; the template is kept only when it passes."""
    def refused(*problems: str, channel: MessageChannel | None = None,
                about: MessageAbout = MessageAbout.COLLECTION) -> _Loaded:
        return _Loaded(TemplateCheck(name, language, channel, source, problems=problems,
                                     about=about), None)

    if language not in LANGUAGES:
        return refused(f"language {language!r} is not supported; languages: {', '.join(LANGUAGES)}")
    header = _header_of(text)
    if isinstance(header, str):
        return refused(header)
    channel, about = header
    try:
        template = _environment().from_string(text)
    except TemplateSyntaxError as exc:
        return refused(f"line {exc.lineno}: {exc.message}", channel=channel, about=about)
    problem = _structure_problem(template, channel)
    if problem:
        return refused(problem, channel=channel, about=about)
    per_profile: dict[str, list[str]] = {}
    segments: list[tuple[str, SmsLength]] = []
    for profile in options.profiles:
        try:
            found, length = _check_one(template, channel, about, language, profile, options)
        except UndefinedError as exc:
            return refused(f"uses an unknown value: {exc.message}; values: {', '.join(TEMPLATE_FIELDS)}",
                           channel=channel, about=about)
        except SecurityError as exc:
            return refused(f"does something the sandbox forbids: {exc}", channel=channel, about=about)
        except TemplateError as exc:
            return refused(f"cannot be rendered: {exc}", channel=channel, about=about)
        per_profile[profile] = found
        if length is not None:
            segments.append((profile, length))
    problems = _merge_profiles(per_profile)
    check = TemplateCheck(name, language, channel, source, tuple(segments), tuple(problems), about)
    return _Loaded(check, template if check.ok else None)


def _merge_profiles(per_profile: dict[str, list[str]]) -> list[str]:
    """Problems found under every profile as they are; the others naming their profile."""
    everywhere = set.intersection(*(set(found) for found in per_profile.values()))
    merged: dict[str, None] = {}
    for profile, found in per_profile.items():
        for problem in found:
            merged[problem if problem in everywhere or len(per_profile) == 1
                   else f"{problem} (profile {profile})"] = None
    return list(merged)


def default_template_dir() -> Traversable:
    """The built-in templates (package data)."""
    return resources.files("fairdue") / "templates" / "messages"


def _read(file: Traversable, *, name: str, language: str, options: TemplateOptions) -> _Loaded:
    source = str(file)
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        return _Loaded(TemplateCheck(name, language, None, source,
                                     problems=(f"is not UTF-8 text ({exc.reason})",)), None)
    return check_source(text, name=name, language=language, source=source, options=options)


def check_template_file(path: str | Path, options: TemplateOptions) -> TemplateCheck:
    """Check one file on demand: its language is its folder's name, its name the file's stem."""
    file = Path(path)
    if not file.is_file():
        raise NotFound(f"template file {file} does not exist")
    return _read(file, name=file.name.removesuffix(SUFFIX), language=file.parent.name,
                 options=options).check


def load_templates(directory: str | Path | Traversable | None = None,
                   options: TemplateOptions | None = None) -> TemplateSet:
    """Every `<language>/<name>.j2` under `directory` (default: the built-in set), checked."""
    folder: Traversable = default_template_dir() if directory is None else (
        Path(directory) if isinstance(directory, str | Path) else directory)
    if not folder.is_dir():
        raise NotFound(f"template folder {folder} does not exist")
    options = options or TemplateOptions(lender=lender_contact(Settings()))
    loaded: dict[tuple[str, str], _Loaded] = {}
    for language_dir in sorted(folder.iterdir(), key=lambda t: t.name):
        if not language_dir.is_dir() or language_dir.name.startswith((".", "_")):
            continue
        for file in sorted(language_dir.iterdir(), key=lambda t: t.name):
            if file.is_file() and file.name.endswith(SUFFIX):
                name = file.name.removesuffix(SUFFIX)
                loaded[(name, language_dir.name)] = _read(
                    file, name=name, language=language_dir.name, options=options)
    return TemplateSet(loaded, options.profiles)


def _abouts(loaded: Mapping[tuple[str, str], _Loaded]) -> dict[str, MessageAbout]:
    said: dict[str, set[MessageAbout]] = {}
    for (name, _), entry in loaded.items():
        said.setdefault(name, set()).add(entry.check.about)
    return {name: found.pop() if len(found) == 1 else MessageAbout.COLLECTION
            for name, found in said.items()}


def templates_from_settings(settings: Settings) -> TemplateSet:
    """The template set in force: FAIRDUE_TEMPLATE_DIR or the built-in one, checked for the
    profile in force."""
    return load_templates(settings.template_dir, TemplateOptions.from_settings(settings))


@dataclass(frozen=True, slots=True)
class TemplateSet:
    """Checked templates by (name, language); render what passed, refuse what did not."""

    _loaded: Mapping[tuple[str, str], _Loaded]
    profiles: tuple[str, ...]
    default_language: str = field(default=DEFAULT_LANGUAGE)
    _about: Mapping[str, MessageAbout] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_about", _abouts(self._loaded))

    @property
    def checks(self) -> tuple[TemplateCheck, ...]:
        return tuple(entry.check for entry in self._loaded.values())

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(sorted({name for name, _ in self._loaded}))

    def languages_of(self, name: str) -> tuple[str, ...]:
        return tuple(sorted(lang for n, lang in self._loaded if n == name))

    def check(self, name: str, language: str) -> TemplateCheck:
        return self._entry(name, language).check

    def about(self, name: str) -> MessageAbout:
        """What the template `name` is about: collection unless every language of it says
        the same other thing (a name not loaded reads as collection, the strictest)."""
        return self._about.get(name, MessageAbout.COLLECTION)

    def _entry(self, name: str, language: str) -> _Loaded:
        try:
            return self._loaded[(name, language)]
        except KeyError:
            raise UnknownTemplate(f"no message template {name!r} in {language!r}; templates: "
                                  f"{', '.join(self.names) or 'none'}") from None

    def resolve_language(self, name: str, requested: str) -> tuple[str, str | None]:
        """The language to render `name` in for `requested`, and a note when it is not that."""
        available = self.languages_of(name)
        if not available:
            raise UnknownTemplate(f"no message template named {name!r}; templates: "
                                  f"{', '.join(self.names) or 'none'}")
        wanted = requested.strip().replace("_", "-").lower()
        for language in available:
            if language.lower() == wanted:
                return language, None
        base = wanted.split("-")[0]
        for language in available:
            if language.split("-")[0].lower() == base:
                return language, f"no {name!r} in {requested!r}; rendered in {language}"
        if self.default_language in available:
            return self.default_language, (
                f"no {name!r} in {requested!r}; rendered in {self.default_language}")
        raise UnknownTemplate(f"no message template {name!r} in {requested!r} nor in "
                              f"{self.default_language}; it exists in {', '.join(available)}")

    def render(self, name: str, language: str, context: MessageContext) -> RenderedMessage:
        """The message `name` for `context` in `language` (falling back as `resolve_language`
        says); raises `UnknownTemplate` or `TemplateRefused`."""
        used, note = self.resolve_language(name, language)
        entry = self._entry(name, used)
        if entry.template is None or entry.check.channel is None:
            raise TemplateRefused(entry.check.reason())
        if context.profile not in self.profiles:
            raise TemplateRefused(
                f"templates were checked for profile(s) {', '.join(self.profiles)}, not "
                f"{context.profile!r}; load them for that profile before sending under it")
        channel = entry.check.channel
        try:
            subject, body = _render(entry.template, channel, template_values(context, used))
        except TemplateError as exc:   # the checks make this unlikely; never send half a message
            raise TemplateRefused(f"template {entry.check.source} failed to render: {exc}") from None
        segments = sms_length(body).segments if channel is MessageChannel.SMS else None
        return RenderedMessage(subject, body, segments, channel, used, name, note)

