"""The phases of the daily run, as plain services; the Prefect flow is a thin shell over them.

ingest → score and stage rules → plan → reconcile → execute in batches → report.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from nurture.bootstrap import App
from nurture.commands.privacy import apply_retention
from nurture.domain.touches import Outcome
from nurture.pipeline.execute import BatchReport, execute_batch, prepare
from nurture.pipeline.ingest import apply_pending
from nurture.pipeline.lifecycle import (
    Effects,
    RunContext,
    evaluate_contacts,
    pending_rules,
    refresh_decay,
    stale_prospects,
)
from nurture.pipeline.pauses import resume_paused
from nurture.pipeline.plan import SendNow, plan_due
from nurture.pipeline.reconcile import reconcile
from nurture.views.reports import funnel
from nurture.views.wording import hour_label

__all__ = [
    "count_due_now",
    "count_due_steps",
    "dry_run",
    "execute",
    "finish",
    "ingest",
    "merged",
    "plan",
    "reconcile_unknown",
    "resume",
    "score",
    "start",
    "summarize",
]


def _wall() -> datetime:
    return datetime.now(UTC)


@contextmanager
def _timed(out: dict[str, Any]) -> Iterator[None]:
    started = time.perf_counter()
    yield
    out["seconds"] = round(time.perf_counter() - started, 3)


def start(
    app: App, *, kind: str = "daily", dry_run: bool = False, run_id: str | None = None
) -> str:
    """Record a new run (or a part of one, named ``run_id``) and return its id."""
    run_id = run_id or f"{kind}-{app.now().strftime('%Y%m%dT%H%M')}-{uuid.uuid4().hex[:8]}"
    with app.uow() as uow:
        uow.runs.start(run_id, kind=kind, as_of=app.now(), started_at=_wall(), dry_run=dry_run)
        uow.commit()
    return run_id


def _phase(
    app: App, run_id: str, work: Callable[[Any, RunContext], dict[str, Any]]
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with _timed(out), app.uow() as uow:
        ctx = app.run_context(run_id=run_id)
        out.update(work(uow, ctx))
        uow.runs.beat(run_id, at=_wall())
        uow.commit()
        out["effects"] = ctx.effects.as_dict()
    return out


def ingest(app: App, run_id: str) -> dict[str, Any]:
    """Apply every pending inbound event (webhook inbox, backfills)."""
    return _phase(app, run_id, lambda uow, ctx: apply_pending(uow=uow, ctx=ctx).as_dict())


def retention(app: App, run_id: str, *, dry_run: bool = False) -> dict[str, Any]:
    """Forget the contacts past the retention rule (no interaction for
    NURTURE_RETENTION_MONTHS and nothing open); a dry run only counts them."""
    months = app.settings.privacy.retention_months
    keys = app.known_erasure_keys

    def work(uow: Any, ctx: RunContext) -> dict[str, Any]:
        done = apply_retention(
            uow=uow, months=months, ctx=ctx, keys=keys, erase_copies=app.erase_copies,
            dry_run=dry_run,
        )  # fmt: skip
        return done.as_dict()

    return _phase(app, run_id, work)


def score(app: App, run_id: str) -> dict[str, Any]:
    """Re-score contacts whose inputs changed, let interest fade, apply the stage rules."""

    def work(uow: Any, ctx: RunContext) -> dict[str, Any]:
        changed = pending_rules(uow=uow)
        stale = stale_prospects(uow=uow, ctx=ctx)
        evaluate_contacts(uow=uow, contact_ids=changed + stale, ctx=ctx)
        uow.commit()
        decayed = refresh_decay(uow=uow, ctx=ctx)
        return {
            "evaluated": len(set(changed + stale)),
            "recycle_checked": len(stale),
            "decay_changed": decayed,
        }

    return _phase(app, run_id, work)


def plan(
    app: App,
    run_id: str,
    *,
    shard: tuple[int, int] | None = None,
    sender: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Resume the sequences whose pause ended (an out-of-office is back), then turn due
    steps into touches with a delivery time, within each contact's budget. A ``shard``
    plans its part of the contacts only, and leaves resuming to :func:`resume`. With a
    ``sender`` (a worker's name), each chunk's touches due now are sent as soon as it is
    planned (``plan.SendNow``), and reported under ``execution``. ``progress`` hears
    ``(contacts done, contacts due)`` after each chunk."""

    def work(uow: Any, ctx: RunContext) -> dict[str, Any]:
        resumed = 0
        if shard is None:
            resumed = resume_paused(uow=uow, ctx=ctx)
            uow.commit()
        send = None if sender is None else SendNow(app.delivery, f"{run_id}/{sender}")
        planned = plan_due(
            uow=uow, ctx=ctx, budget=app.budget, shard=shard, send=send, progress=progress
        )
        return {**planned.as_dict(), "resumed": resumed}

    return _phase(app, run_id, work)


def resume(app: App, run_id: str) -> int:
    """Resume the sequences whose pause ended (before sharded planners start)."""
    done = _phase(app, run_id, lambda uow, ctx: {"resumed": resume_paused(uow=uow, ctx=ctx)})
    return int(done["resumed"])


def merged(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """Reports of parts of one phase as one: numbers added, counts merged by key, lists
    joined, the longest time kept (the parts ran side by side)."""
    out: dict[str, Any] = {}
    for part in parts:
        for key, value in part.items():
            if key == "seconds":
                out[key] = max(out.get(key, 0.0), value)
            elif isinstance(value, bool) or value is None:
                out.setdefault(key, value)
            elif isinstance(value, int | float):
                out[key] = out.get(key, 0) + value
            elif isinstance(value, dict):
                out[key] = merged([out.get(key, {}), value])
            elif isinstance(value, list):
                out[key] = [*out.get(key, []), *value]
            else:
                out.setdefault(key, value)
    return out


def reconcile_unknown(app: App, run_id: str) -> dict[str, Any]:
    """Settle touches whose outcome is unknown by asking the providers."""
    return _phase(
        app,
        run_id,
        lambda uow, ctx: reconcile(
            uow=uow, ctx=ctx, delivery=app.delivery, wall_now=_wall()
        ).as_dict(),
    )


def count_due_steps(app: App) -> int:
    """Enrollment steps due now (what planning has to look at)."""
    with app.uow(read_only=True) as uow:
        return uow.enrollments.count_due(app.now())


def count_due_now(app: App) -> int:
    """Touches waiting to be sent now."""
    with app.uow(read_only=True) as uow:
        return uow.touches.count_due(app.now())


def execute(
    app: App,
    run_id: str,
    *,
    worker: str,
    max_batches: int | None = None,
    on_batch: Callable[[BatchReport], None] | None = None,
    batch_size: int | None = None,
) -> dict[str, Any]:
    """Execute due touches batch after batch (at most ``max_batches``, of ``batch_size``
    touches or NURTURE_BATCH_SIZE)."""
    total = BatchReport()
    out: dict[str, Any] = {}
    with _timed(out):
        batches = 0
        ctx = app.run_context(run_id=run_id)
        while max_batches is None or batches < max_batches:
            with app.uow() as uow:
                report = execute_batch(
                    uow=uow,
                    ctx=ctx,
                    delivery=app.delivery,
                    worker=f"{run_id}/{worker}",
                    batch_size=batch_size or app.settings.run.batch_size,
                    heartbeat=_wall(),
                )
            if not report.claimed:
                break
            batches += 1
            total.add(report)
            if on_batch is not None:
                on_batch(report)
        out.update(total.as_dict())
        out["batches"] = batches
        out["effects"] = ctx.effects.as_dict()
    return out


def finish(app: App, run_id: str, summary: dict[str, Any], *, status: str = "completed") -> None:
    """Record the run's outcome."""
    with app.uow() as uow:
        uow.runs.finish(run_id, status=status, at=_wall(), summary=summary)
        uow.commit()


def _merge_effects(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """The effects of every phase and batch as one (every key present, even if empty)."""
    return merged([Effects().as_dict(), *(part.get("effects") or {} for part in parts)])


def summarize(
    app: App,
    run_id: str,
    *,
    phases: dict[str, dict[str, Any]],
    executions: list[dict[str, Any]],
) -> dict[str, Any]:
    """The run summary: what was sent by channel, failures, deferrals, promotions, exits,
    delivery times, and the funnel."""
    execution = BatchReport()
    seconds = 0.0
    for part in executions:
        seconds = max(seconds, part.get("seconds", 0.0))
        execution.add(BatchReport.from_dict(part))
    planned = phases.get("plan", {})
    effects = _merge_effects([*phases.values(), *executions])
    with app.uow(read_only=True) as uow:
        funnel_rows = funnel(uow.reports)
    delivered_now = sum(execution.sent.values())
    return {
        "run_id": run_id,
        "as_of": app.now().isoformat(),
        "timings": {name: part.get("seconds") for name, part in phases.items()}
        | {"execute": round(seconds, 3)},
        "ingest": {k: v for k, v in phases.get("ingest", {}).items() if k != "effects"},
        "retention": {
            k: v
            for k, v in phases.get("retention", {}).items()
            if k not in ("effects", "contact_ids")
        },
        "score": {k: v for k, v in phases.get("score", {}).items() if k != "effects"},
        "plan": {k: v for k, v in planned.items() if k != "effects"},
        "reconcile": {k: v for k, v in phases.get("reconcile", {}).items() if k != "effects"},
        "execute": execution.as_dict(),
        "delivery": {
            "delivered_now": delivered_now,
            "scheduled_later_today_by_hour": planned.get("later_today_by_hour", {}),
            "held_for_later_run": planned.get("held_for_later_run", 0),
            "cancelled": sum(execution.cancelled.values()) + sum(effects["cancelled"].values()),
            "cancelled_by_reason": dict(
                Counter(execution.cancelled) + Counter(effects["cancelled"])
            ),
            "deferred": planned.get("deferred", {}),
        },
        "effects": effects,
        "funnel": funnel_rows,
    }


def still_scheduled(app: App) -> dict[str, int]:
    """Touches waiting for the next 24 hours, by hour in the project's time zone, with its
    offset (``15:00+01:00``): what later dispatch runs will release."""
    zone = app.settings.project.default_timezone
    with app.uow(read_only=True) as uow:
        waiting = uow.touches.delivery_times(app.now() + timedelta(hours=24))
    return dict(sorted(Counter(hour_label(moment, zone) for moment in waiting).items()))


def dry_run(app: App) -> dict[str, Any]:
    """What a run would do now: plan and render everything due, send nothing, write
    nothing (emails go to SendGrid in sandbox mode when that driver is in use)."""
    out: dict[str, Any] = {}
    with _timed(out), app.uow() as uow:
        ctx = app.run_context(run_id=None)
        resume_paused(uow=uow, ctx=ctx)
        planned = plan_due(uow=uow, ctx=ctx, budget=app.budget, commit=False)
        due = uow.touches.due(ctx.now)
        delivery = replace(app.delivery, sandbox=True)
        items = prepare(uow=uow, ctx=ctx, delivery=delivery, touches=due)
        upcoming = _upcoming(uow.touches.due(ctx.now + timedelta(hours=24)), app)
        checked = 0
        if delivery.email.provider == "sendgrid":
            for item in items:
                if item.email is not None and item.outcome is None:
                    delivery.email.send(item.email)  # sandbox: validated, never delivered
                    checked += 1
        would_forget = apply_retention(
            uow=uow, months=app.settings.privacy.retention_months, ctx=ctx, keys=None,
            erase_copies=app.erase_copies, dry_run=True,
        )  # fmt: skip
        uow.rollback()
    failures = [
        {
            "touch": f"{i.touch.sequence_id}/{i.touch.step_id}",
            "contact_id": i.touch.contact_id,
            "reason": i.reason,
        }
        for i in items
        if i.outcome in (Outcome.FAILED, Outcome.CANCELLED)
    ]
    out.update(
        dry_run=True,
        plan=planned.as_dict(),
        would_send=Counter(i.touch.channel for i in items if i.outcome is None),
        would_fail=failures[:100],
        sandbox_checked=checked,
        would_forget=would_forget.as_dict(),
        by_step=[
            {"sequence": sequence, "step": step, "channel": channel, "touches": n}
            for (sequence, step, channel), n in sorted(
                Counter((t["sequence"], t["step"], t["channel"]) for t in upcoming).items()
            )
        ],
        touches=upcoming[:_LISTED],
    )
    return out


#: ``run --dry-run --list`` shows at most this many touches.
_LISTED = 2000


def _upcoming(touches: list[Any], app: App) -> list[dict[str, Any]]:
    """Who would get what, and when (the project's time, with its offset)."""
    zone = ZoneInfo(app.settings.project.default_timezone)
    return [
        {
            "at": t.deliver_at.astimezone(zone).isoformat(timespec="minutes"),
            "contact_id": t.contact_id,
            "to": t.address,
            "sequence": t.sequence_id,
            "step": t.step_id,
            "channel": t.channel,
        }
        for t in sorted(touches, key=lambda t: (t.deliver_at, t.id))
    ]
