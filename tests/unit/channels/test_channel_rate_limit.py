"""Messages per second per provider, with a fake clock: no test waits."""

from __future__ import annotations

import pytest

from fairdue.adapters.channels import FileSink, RateLimitedSender, TokenBucket, sender_for
from fairdue.domain.messages import OutboundMessage, SendOutcome, SendResult
from fairdue.errors import ConfigurationError


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


class Recorder:
    idempotent = True

    def __init__(self, time: FakeTime) -> None:
        self.time = time
        self.sent_at: list[float] = []

    def send(self, message: OutboundMessage) -> SendResult:
        self.sent_at.append(self.time.now)
        return SendResult(SendOutcome.ACCEPTED, message.idempotency_key)

    def close(self) -> None:
        pass


MESSAGE = OutboundMessage(
    contact_id="C", idempotency_key="k", channel="sms", to="+1", language="en", body="x"
)


def test_sends_are_spaced_at_the_rate() -> None:
    time = FakeTime()
    inner = Recorder(time)
    sender = RateLimitedSender(inner, TokenBucket(5, burst=1, clock=time.clock, sleep=time.sleep))
    for _ in range(11):
        assert sender.send(MESSAGE).outcome is SendOutcome.ACCEPTED

    assert inner.sent_at[0] == 100.0
    assert inner.sent_at[-1] == pytest.approx(102.0)     # 10 more at 5 a second
    gaps = [b - a for a, b in zip(inner.sent_at, inner.sent_at[1:], strict=False)]
    assert gaps == pytest.approx([0.2] * 10)


def test_a_burst_goes_at_once_then_the_rate_holds() -> None:
    time = FakeTime()
    bucket = TokenBucket(10, burst=3, clock=time.clock, sleep=time.sleep)

    waits = [bucket.acquire() for _ in range(5)]

    assert waits[:3] == [0, 0, 0]
    assert waits[3:] == pytest.approx([0.1, 0.1])


def test_idle_time_refills_the_bucket_only_up_to_the_burst() -> None:
    time = FakeTime()
    bucket = TokenBucket(2, burst=2, clock=time.clock, sleep=time.sleep)
    bucket.acquire()
    bucket.acquire()
    time.now += 60

    assert [bucket.acquire() for _ in range(3)] == pytest.approx([0, 0, 0.5])


def test_sender_for_applies_the_rate(tmp_path: object) -> None:
    sender = sender_for(f"file://{tmp_path}", rate_per_second=50)
    assert isinstance(sender, RateLimitedSender)
    assert isinstance(sender.inner, FileSink) and sender.bucket.rate == 50
    assert sender.idempotent
    assert isinstance(sender_for(f"file://{tmp_path}", rate_per_second=None), FileSink)


@pytest.mark.parametrize("rate", [0, -1.0])
def test_a_rate_must_be_positive(rate: float) -> None:
    with pytest.raises(ConfigurationError, match="above 0"):
        sender_for("file://./outbox", rate_per_second=rate)
