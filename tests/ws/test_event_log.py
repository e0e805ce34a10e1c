"""The in-memory event log a reconnecting client resumes from: what it keeps and gives back."""

from __future__ import annotations

from service.sessions.live import EventLog


def filled(count: int, *, first: int = 1, **limits: int) -> EventLog:
    log = EventLog(**limits)
    for seq in range(first, first + count):
        log.append(seq, f"frame {seq}")
    return log


def test_gives_back_every_frame_after_a_seq() -> None:
    log = filled(5)
    assert log.after(0) == [f"frame {n}" for n in range(1, 6)]
    assert log.after(3) == ["frame 4", "frame 5"]
    assert log.after(5) == []
    assert log.after(99) == []


def test_a_log_that_starts_above_one_resumes_from_its_first_seq() -> None:
    log = filled(3, first=1001)  # a session loaded after a restart
    assert log.after(1000) == ["frame 1001", "frame 1002", "frame 1003"]
    assert log.after(1001) == ["frame 1002", "frame 1003"]
    assert log.after(999) is None, "seq 1000 was never in this log"


def test_bounded_by_count_and_says_when_a_gap_cannot_be_filled() -> None:
    log = filled(10, max_events=4)
    assert log.first_kept_seq == 7
    assert log.after(6) == ["frame 7", "frame 8", "frame 9", "frame 10"]
    assert log.after(5) is None


def test_bounded_by_bytes_but_keeps_the_newest_frame() -> None:
    log = filled(10, max_bytes=len("frame 10") * 3)
    assert log.after(log.first_kept_seq - 1) == ["frame 8", "frame 9", "frame 10"]
    huge = EventLog(max_bytes=4)
    huge.append(1, "a frame larger than the whole budget")
    assert huge.after(0) == ["a frame larger than the whole budget"]
