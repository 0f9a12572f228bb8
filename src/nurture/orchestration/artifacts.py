"""What ops read in the Prefect UI: each run's summary table, the funnel and the details,
in words (no Python reprs), times in the project's time zone."""

from __future__ import annotations

from typing import Any

from prefect.artifacts import create_markdown_artifact, create_table_artifact

from nurture.views.wording import words

__all__ = ["publish"]


def publish(summary: dict[str, Any], *, still_scheduled: dict[str, int] | None = None) -> None:
    """The run's artifacts in the Prefect UI: the summary table, the funnel, the details
    (a dispatch run: the summary with what is still scheduled, by local hour)."""
    rows = _summary_rows(summary)
    if still_scheduled is not None:
        rows += [
            {"channel": "all", "status": f"still scheduled for {hour}", "touches": n}
            for hour, n in still_scheduled.items()
        ]
    create_table_artifact(
        key="run-summary",
        table=rows,
        description=f"Touches of run {summary['run_id']} by channel and status",
    )
    if still_scheduled is not None:
        return
    create_table_artifact(
        key="funnel",
        table=summary["funnel"]["rows"],
        description="Contacts by stage and temperature",
    )
    lines = _details(summary)
    create_markdown_artifact(
        key="run-details",
        markdown="\n".join(lines),
        description="Promotions, exits and failures of the run",
    )


def _summary_rows(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """Touches by channel and status, deferrals, held touches and quarantined events."""
    executed = summary["execute"]
    rows = [
        {"channel": channel, "status": "sent", "touches": n}
        for channel, n in sorted(executed["sent"].items())
    ]
    rows += [
        {"channel": "all", "status": f"failed: {reason}", "touches": n}
        for reason, n in sorted(executed["failed"].items())
    ]
    rows += [
        {"channel": "all", "status": f"cancelled: {reason}", "touches": n}
        for reason, n in sorted(summary["delivery"].get("cancelled_by_reason", {}).items())
    ]
    rows += [
        {"channel": "all", "status": f"deferred: {reason}", "touches": n}
        for reason, n in sorted(summary["delivery"]["deferred"].items())
    ]
    rows.append(
        {
            "channel": "all",
            "status": "held for a later run",
            "touches": summary["delivery"]["held_for_later_run"],
        }
    )
    rows.append(
        {
            "channel": "all",
            "status": "unknown outcome (reconcile)",
            "touches": executed["unknown_outcome"],
        }
    )
    ingest = summary.get("ingest") or {}
    if ingest:
        rows.append(
            {
                "channel": "events",
                "status": "quarantined (nurture events list --failed)",
                "touches": ingest.get("failed", 0),
            }
        )
    return rows


def _details(summary: dict[str, Any]) -> list[str]:
    """The run-details page: delivery, effects, promotions and failures, as Markdown."""
    executed = summary["execute"]
    effects = summary["effects"]
    lines = [f"# Run {summary['run_id']} (as of {summary['as_of']})", ""]
    lines += [
        f"- delivered now: **{summary['delivery']['delivered_now']}**",
        f"- scheduled later today: {words(summary['delivery']['scheduled_later_today_by_hour'])}",
        f"- stage changes: {words(effects['stage_changes'])}",
        f"- exits: {words(effects['exits'])}",
        f"- enrolled: {words(effects['enrolled'])}",
        f"- hand-off tasks: {effects['handoff_tasks']}",
        "",
    ]
    if effects["promotions"]:
        lines += ["## Promotions", "", "| contact | owner | score | reason |", "|---|---|---|---|"]
        lines += [
            f"| {p['contact_id']} | {p['owner'] or ''} | {p['score']} | {p['reason']} |"
            for p in effects["promotions"][:50]
        ]
    if executed["failures"]:
        lines += ["", "## Failures", "", "| touch | contact | step | reason |", "|---|---|---|---|"]
        lines += [
            f"| {f['touch_id']} | {f['contact_id']} | {f['sequence']}/{f['step']} | {f['reason']} |"
            for f in executed["failures"][:50]
        ]
    return lines
