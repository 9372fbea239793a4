"""The strategy in force: the policy file, the compliance profile it runs under, and when
the day's messages go out. Built once per process from the settings and cached on the App.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time
from pathlib import Path

from fairdue.adapters.policy_file import default_policy_text, load_policy
from fairdue.domain.compliance.profiles import Profile, get_profile
from fairdue.domain.contact_schedule import ContactWindow, window_for
from fairdue.domain.policy import Policy
from fairdue.errors import ConfigurationError
from fairdue.settings import Settings


@dataclass(frozen=True)
class Strategy:
    policy: Policy
    text: str
    source: str
    profile: Profile
    window: ContactWindow
    send_at: time


def load_strategy(settings: Settings) -> Strategy:
    """Read the policy named by FAIRDUE_POLICY (or the built-in default) and check that it
    was written for the compliance profile in force."""
    if settings.policy:
        path = Path(settings.policy)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigurationError(
                f"cannot read the policy file {path} (FAIRDUE_POLICY): {exc.strerror}"
            ) from None
        source = str(path)
    else:
        text, source = default_policy_text(), "built-in default policy"
    policy = load_policy(text, source=source)
    profile = get_profile(settings.profile)
    if policy.profile != profile.name:
        raise ConfigurationError(
            f"the policy {source} was written for the {policy.profile!r} compliance profile, "
            f"but FAIRDUE_PROFILE is {profile.name!r}; use a policy for {profile.name!r} or "
            "change the profile"
        )
    return Strategy(policy, text, source, profile, window_for(profile.parameters),
                    settings.send_time_of_day)
