"""Reports: the pipeline at a glance, and how each sequence and step performs."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

from nurture.domain.contacts import Stage, Temperature
from nurture.domain.touches import TouchStatus
from nurture.ports import ReportData

__all__ = ["funnel", "report"]

_LADDER = (Stage.CONTACT, Stage.LEAD, Stage.PROSPECT, Stage.CUSTOMER)
#: Events counted per step, by the touch they answer (directly or the contact's last touch).
_STEP_EVENTS = {
    "email_delivered": "delivered",
    "sms_delivered": "delivered",
    "email_open": "opened",
    "email_click": "clicked",
    "content_download": "clicked",
    "replied": "replied",
    "meeting_booked": "meetings",
    "unsubscribe": "unsubscribed",
    "sms_stop": "unsubscribed",
}


def funnel(data: ReportData) -> dict[str, Any]:
    """Contacts by stage × temperature, every cell present (zeros included)."""
    counts = {(stage.value, temperature.value): 0 for stage in Stage for temperature in Temperature}
    for stage, temperature, count in data.stage_temperature_counts():
        counts[(stage, temperature)] = count
    rows = [
        {
            "stage": stage.value,
            **{t.value: counts[(stage.value, t.value)] for t in Temperature},
            "total": sum(counts[(stage.value, t.value)] for t in Temperature),
        }
        for stage in Stage
    ]
    return {"rows": rows, "total": sum(row["total"] for row in rows)}


def report(data: ReportData, *, since: datetime | None = None) -> dict[str, Any]:
    """Everything ``nurture report`` shows, JSON-ready."""
    steps = _Steps()
    steps.add_touches(data, since)
    steps.add_events(data, since)
    steps.add_deferrals(data, since)
    return {
        "since": since.isoformat() if since else None,
        "funnel": funnel(data),
        "conversion": _conversion(data, since),
        "sequences": _sequences(data, steps),
        # Opens, clicks and replies that named no touch and followed no email by 7 days.
        "unattributed": dict(steps.unattributed),
        "touches_per_day": _touches_per_day(data, since),
        "score_distribution": _score_distribution(data),
        # Erased people (contact forget, retention): still counted above, anonymous.
        "forgotten": data.forgotten(),
    }


def _conversion(data: ReportData, since: datetime | None) -> dict[str, Any]:
    """Who reached each rung of the ladder, the rates between rungs, median days spent."""
    created = data.created()
    if since is not None:
        created = {cid: at for cid, at in created.items() if at >= since}
    history: dict[int, list[tuple[datetime, str, str]]] = defaultdict(list)
    for contact_id, at, from_stage, to_stage in data.stage_changes():
        if contact_id in created:
            history[contact_id].append((at, from_stage, to_stage))
    reached: Counter[str] = Counter()
    days: dict[str, list[float]] = defaultdict(list)
    for contact_id, started in created.items():
        reached[Stage.CONTACT.value] += 1
        entered = {Stage.CONTACT.value: started}
        for at, from_stage, to_stage in history.get(contact_id, []):
            if from_stage in entered:
                days[from_stage].append((at - entered[from_stage]).total_seconds() / 86400)
            entered[to_stage] = at
        for stage in entered:
            if stage in {s.value for s in _LADDER} and stage != Stage.CONTACT.value:
                reached[stage] += 1
    steps = []
    for lower, upper in pairwise(_LADDER):
        base = reached[lower.value]
        steps.append(
            {
                "from": lower.value,
                "to": upper.value,
                "reached": reached[upper.value],
                "rate": round(reached[upper.value] / base, 4) if base else None,
                "median_days_in_from": round(statistics.median(days[lower.value]), 1)
                if days[lower.value]
                else None,
            }
        )
    return {"contacts": len(created), "reached": dict(reached), "steps": steps}


class _Steps:
    """Counters per (sequence, step), filled from touches, events and the journal."""

    def __init__(self) -> None:
        self.counts: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
        self.order: dict[tuple[str, str], tuple[int, str]] = {}
        self.by_touch: dict[int, tuple[str, str]] = {}
        #: Emails sent to each contact (time, touch): what an answer without a touch id
        #: is credited to. Calls and SMS are never credited with an open or a click.
        self.sent_to: dict[int, list[tuple[datetime, int]]] = defaultdict(list)
        self.unattributed: Counter[str] = Counter()

    def add_touches(self, data: ReportData, since: datetime | None) -> None:
        for row in data.touches(since):
            key = (row.sequence_id or "?", row.step_id)
            self.order.setdefault(key, (row.step_index or 0, row.channel))
            self.counts[key][row.status] += 1
            self.by_touch[row.id] = key
            emailed = row.channel == "email" or "@" in (row.address or "")
            if row.status == TouchStatus.SENT and row.sent_at is not None and emailed:
                self.sent_to[row.contact_id].append((row.sent_at, row.id))
        for history in self.sent_to.values():
            history.sort()

    def add_events(self, data: ReportData, since: datetime | None) -> None:
        """Each answer counts once per touch: on its own touch, else on the contact's last
        email in the 7 days before it, else as unattributed."""
        seen: set[tuple[int, str]] = set()
        for kind, own_touch, contact_id, occurred_at in data.applied_events(_STEP_EVENTS, since):
            touch_id = own_touch or _last_touch(self.sent_to.get(contact_id or 0, []), occurred_at)
            measure = _STEP_EVENTS[kind]
            if touch_id not in self.by_touch:
                self.unattributed[measure] += 1
                continue
            if (touch_id, measure) in seen:
                continue
            seen.add((touch_id, measure))
            self.counts[self.by_touch[touch_id]][measure] += 1

    def add_deferrals(self, data: ReportData, since: datetime | None) -> None:
        for reason in data.deferral_reasons(since):
            sequence_step = reason.split(":", 1)[0]
            if "/" in sequence_step:
                key = (sequence_step.split("/", 1)[0], sequence_step.split("/", 1)[1])
                self.counts[key]["deferred"] += 1
                self.order.setdefault(key, (0, "?"))

    def rows(self, sequence_id: str) -> list[dict[str, Any]]:
        keys = sorted((k for k in self.counts if k[0] == sequence_id), key=lambda k: self.order[k])
        out = []
        for key in keys:
            counts = self.counts[key]
            sent = counts[TouchStatus.SENT]
            out.append(
                {
                    "step": key[1],
                    "channel": self.order[key][1],
                    "sent": sent,
                    **{
                        name: counts[name]
                        for name in (
                            "delivered",
                            "opened",
                            "clicked",
                            "replied",
                            "meetings",
                            "unsubscribed",
                            TouchStatus.FAILED,
                            TouchStatus.CANCELLED,
                            TouchStatus.SKIPPED,
                            "deferred",
                        )
                    },
                    "open_rate": _rate(counts["opened"], sent),
                    "click_rate": _rate(counts["clicked"], sent),
                    "reply_rate": _rate(counts["replied"], sent),
                }
            )
        return out


def _sequences(data: ReportData, steps: _Steps) -> list[dict[str, Any]]:
    """Per sequence and per step: what was sent and what came back; exits by reason."""
    exits: dict[str, Counter[str]] = defaultdict(Counter)
    running: Counter[tuple[str, str]] = Counter()
    for sequence_id, status, reason in data.enrollment_states():
        if status == "exited":
            exits[sequence_id][reason or "?"] += 1
        else:
            running[(sequence_id, status)] += 1
    sequence_ids = sorted({key[0] for key in steps.counts} | set(exits))
    return [
        {
            "sequence": sequence_id,
            "active": running[(sequence_id, "active")],
            "completed": running[(sequence_id, "completed")],
            "exits": dict(exits[sequence_id].most_common()),
            "steps": steps.rows(sequence_id),
        }
        for sequence_id in sequence_ids
    ]


def _last_touch(history: list[tuple[datetime, int]], at: datetime) -> int | None:
    """The last email sent in the 7 days before ``at``."""
    before = [t for sent_at, t in history if at - _ATTRIBUTION <= sent_at <= at]
    return before[-1] if before else None


_ATTRIBUTION = timedelta(days=7)


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _touches_per_day(data: ReportData, since: datetime | None) -> list[dict[str, Any]]:
    days: dict[str, Counter[str]] = defaultdict(Counter)
    for sent_at, channel in data.sent(since):
        days[sent_at.date().isoformat()][channel] += 1
    return [{"date": day, **dict(counts)} for day, counts in sorted(days.items())]


def _score_distribution(data: ReportData) -> dict[str, list[int]]:
    """Contacts per score bucket of ten (0–9, …, 90–100), by stage."""
    out = {stage.value: [0] * 10 for stage in Stage}
    for stage, score, count in data.stage_score_counts():
        out.setdefault(stage, [0] * 10)[min(score // 10, 9)] += count
    return out
