"""The YouTube quota planner: how often we may poll so the meeting never runs out of quota.

Pure functions, no I/O, so the arithmetic is testable on its own.

The Data API gives a project `daily_quota_units` (10,000 by default) per Pacific day; every
call costs units, even a failed one (`liveChatMessages.list` 5, `videos.list` 1). Honouring
only the server's `pollingIntervalMillis` (about 1-2 s) spends the day's quota in under an
hour, so the collector polls at `max(pollingIntervalMillis, floor)` where the floor spreads the
units still available over the time the meeting has left:

    polls_left = floor((daily - reserve - spent) / 5)
    floor      = seconds_left / polls_left

Calls at t = 0, I, 2I, ... before the end make ceil(seconds_left / I) polls, so spent +
5 * ceil(seconds_left / floor) never exceeds the usable budget. The plan is recomputed before
every call from the units actually spent, so extra calls (a full page fetched at once, a retry
after an error, re-resolving the chat) simply stretch the following intervals.

Decisions where the API docs are silent:
- `reserve` keeps 5 % of the day back for retries and for the operator (a second run, a
  check from another tool); it is never planned for polling.
- `seconds_left` stops at the next Pacific midnight, when the budget is renewed.
- Once the planned end has passed (the meeting overruns), we plan as if `OVERRUN_SECONDS`
  were left, again and again: the interval grows as the remaining units shrink, and the last
  units are never spent in a burst.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

PACIFIC = ZoneInfo("America/Los_Angeles")

#: Units per call, as Google publishes them for the first two. The cost of liveBroadcasts.list
#: is not published; Google's quota table lists 1 for list methods, and it runs rarely.
COSTS = {
    "liveChatMessages.list": 5,
    "videos.list": 1,
    "liveBroadcasts.list": 1,
}
POLL_COST = COSTS["liveChatMessages.list"]
RESERVE_FRACTION = 0.05
OVERRUN_SECONDS = 15 * 60.0


def pacific_day(now: datetime) -> str:
    """The quota day `now` falls in, as YYYY-MM-DD in Pacific time."""
    return _aware(now).astimezone(PACIFIC).date().isoformat()


def quota_reset_at(now: datetime) -> datetime:
    """The next midnight Pacific (when Google renews the quota), in UTC."""
    local = _aware(now).astimezone(PACIFIC)
    midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(),
                                tzinfo=PACIFIC)
    return midnight.astimezone(timezone.utc)


def usable_units(daily_units: int) -> int:
    """The part of the daily quota the planner may spend on polling."""
    return daily_units - math.ceil(daily_units * RESERVE_FRACTION)


@dataclass(frozen=True)
class QuotaPlan:
    #: seconds between polls at least; None when not even one more poll fits in the budget
    interval: float | None
    #: units spent by the planned end if we poll every `interval` from now
    projected: int
    #: the planning horizon in seconds (time left in the meeting, today, at least the overrun)
    horizon: float
    usable: int


def plan_interval(*, daily_units: int, spent: int, seconds_left: float,
                  poll_cost: int = POLL_COST) -> QuotaPlan:
    """The smallest poll interval that keeps the projected use within the usable budget."""
    usable = usable_units(daily_units)
    horizon = max(seconds_left, OVERRUN_SECONDS)
    polls = (usable - spent) // poll_cost
    if polls < 1:
        return QuotaPlan(None, spent, horizon, usable)
    # a hair above horizon / polls, so that float rounding never yields polls + 1 calls
    interval = horizon / polls * (1 + 1e-9)
    return QuotaPlan(interval, projected_units(spent, horizon, interval, poll_cost), horizon,
                     usable)


def projected_units(spent: int, horizon: float, interval: float,
                    poll_cost: int = POLL_COST) -> int:
    """Units spent by the end of `horizon` when polling now and then every `interval`."""
    return spent + poll_cost * math.ceil(horizon / interval)


def seconds_left(now: datetime, meeting_end: datetime) -> float:
    """Seconds until the meeting ends or the quota day does, whichever is first."""
    now = _aware(now)
    end = min(_aware(meeting_end), quota_reset_at(now))
    return max((end - now).total_seconds(), 0.0)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
