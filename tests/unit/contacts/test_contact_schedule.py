"""When a decided contact goes out: inside the lawful window, in every zone the borrower may be in."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from fairdue.domain.compliance.profiles import CN, US_REGF
from fairdue.domain.contact_schedule import ContactWindow, next_allowed, planned_send_time, window_for

SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")
LOS_ANGELES = ZoneInfo("America/Los_Angeles")
CN_WINDOW = window_for(CN.parameters)
REGF_WINDOW = window_for(US_REGF.parameters)


def test_the_profiles_windows() -> None:
    assert ContactWindow(time(8, 0), time(22, 0)) == CN_WINDOW
    # Regulation F allows 21:00 itself ("not after 9 p.m."), so the window closes a minute later.
    assert ContactWindow(time(8, 0), time(21, 1)) == REGF_WINDOW


def test_a_run_at_half_past_midnight_schedules_the_sms_for_nine_in_the_morning() -> None:
    run_at = datetime(2026, 7, 1, 0, 30, tzinfo=SHANGHAI)
    sent = planned_send_time(date(2026, 7, 1), run_at, (SHANGHAI,), CN_WINDOW, time(9, 0))
    assert sent == datetime(2026, 7, 1, 9, 0, tzinfo=SHANGHAI).astimezone(UTC)


def test_a_late_catch_up_run_sends_now_when_now_is_lawful() -> None:
    run_at = datetime(2026, 7, 1, 15, 17, 42, tzinfo=SHANGHAI)
    sent = planned_send_time(date(2026, 7, 1), run_at, (SHANGHAI,), CN_WINDOW, time(9, 0))
    assert sent == datetime(2026, 7, 1, 15, 18, tzinfo=SHANGHAI).astimezone(UTC)


def test_a_run_in_the_quiet_hours_waits_for_eight_the_next_morning() -> None:
    run_at = datetime(2026, 7, 1, 22, 0, tzinfo=SHANGHAI)
    sent = planned_send_time(date(2026, 7, 1), run_at, (SHANGHAI,), CN_WINDOW, time(9, 0))
    assert sent == datetime(2026, 7, 2, 8, 0, tzinfo=SHANGHAI).astimezone(UTC)


def test_21_00_is_still_allowed_under_regulation_f_but_21_01_is_not() -> None:
    at_nine = datetime(2026, 8, 13, 21, 0, tzinfo=NEW_YORK)
    assert next_allowed(at_nine, (NEW_YORK,), REGF_WINDOW) == at_nine.astimezone(UTC)
    later = datetime(2026, 8, 13, 21, 1, tzinfo=NEW_YORK)
    assert next_allowed(later, (NEW_YORK,), REGF_WINDOW) == datetime(
        2026, 8, 14, 8, 0, tzinfo=NEW_YORK).astimezone(UTC)


def test_an_uncertain_location_needs_a_time_allowed_in_every_zone() -> None:
    # 8:00 in New York is 5:00 in Los Angeles: wait until 8:00 on the west coast (11:00 east).
    early = datetime(2026, 8, 13, 8, 0, tzinfo=NEW_YORK)
    sent = next_allowed(early, (NEW_YORK, LOS_ANGELES), REGF_WINDOW)
    assert sent == datetime(2026, 8, 13, 8, 0, tzinfo=LOS_ANGELES).astimezone(UTC)
    assert sent is not None and sent.astimezone(NEW_YORK).hour == 11


def test_zones_with_no_common_daytime_get_no_time_at_all() -> None:
    tokyo, london = ZoneInfo("Asia/Tokyo"), ZoneInfo("Europe/London")
    narrow = ContactWindow(time(9, 0), time(10, 0))
    assert next_allowed(datetime(2026, 8, 13, 0, 0, tzinfo=UTC), (tokyo, london), narrow) is None


def test_a_window_must_open_before_it_closes() -> None:
    with pytest.raises(ValueError, match="open"):
        ContactWindow(time(22, 0), time(8, 0))


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="offset"):
        next_allowed(datetime(2026, 8, 13, 9, 0), (SHANGHAI,), CN_WINDOW)
