"""``nurture scoring``: check and calibrate the weights of scoring.yaml."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from nurture.bootstrap import bootstrap
from nurture.cli._common import console, err_console, print_json, reporting_errors
from nurture.commands.calibration import CalibrationReport, calibrate

app = typer.Typer(help="Scoring weights.", no_args_is_help=True)


@app.command("calibrate")
def calibrate_command(
    outcomes: Path = typer.Option(
        ...,
        "--outcomes",
        help="CSV of closed deals: contact (id, email or external id), "
        "outcome (won or lost), close_date (ISO).",
    ),
    write: bool = typer.Option(
        False, "--write", help="Write the proposed weights to scoring.yaml."
    ),
    force: bool = typer.Option(
        False, "--force", help="With --write: write even weights that do not rank better."
    ),
    l2: float = typer.Option(1.0, "--l2", min=0.0, help="Regularisation strength."),
    min_deals: int = typer.Option(50, "--min-deals", min=2, help="Fewer deals: a warning."),
    min_per_class: int = typer.Option(
        10, "--min-per-class", min=1, help="Fewer won (or lost) deals: a warning."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Fit fit and interest weights to the signals seen before each won or lost deal.

    Prints, for the current and the proposed weights on held-out deals, the AUC, the win
    rate above the prospect threshold and the share of wins above it, then the proposed
    scoring.yaml as a diff. Nothing changes without --write, and --write refuses weights
    that do not rank held-out deals better unless --force.

    Example: nurture scoring calibrate --outcomes deals.csv --write
    """
    with reporting_errors():
        application = bootstrap()
        path = application.project_dir / "scoring.yaml"
        with application.uow(read_only=True) as uow:
            report = calibrate(
                uow=uow,
                model=application.scoring,
                scoring_path=path,
                outcomes=outcomes,
                l2=l2,
                min_deals=min_deals,
                min_per_class=min_per_class,
            )
    refused = write and not report.improves and not force
    write = write and not refused
    if write:
        path.write_text(report.proposal_text, encoding="utf-8")
    if as_json:
        print_json({**report.as_dict(), "written": write})
    else:
        _print(report, written=write)
    if refused:
        worse = "; ".join(report.worse) or "held-out AUC does not improve"
        err_console.print(
            f"not written: the proposed weights do not rank held-out deals better ({worse}); "
            "--force writes them anyway",
            markup=False,
        )
        raise typer.Exit(1)
    if write and force and report.worse:
        err_console.print("written with --force; worse: " + "; ".join(report.worse), markup=False)


def _print(report: CalibrationReport, *, written: bool) -> None:
    console.print(f"{report.deals} deals: {report.train} to learn from, {report.test} held out")
    for rejection in report.rejected:
        err_console.print(f"rejected: {rejection}")
    table = Table("held-out deals", "current weights", "proposed weights")
    for key in ("auc", "win_rate_above_threshold", "share_of_wins_above_threshold"):
        table.add_row(key.replace("_", " "), _fmt(report.current[key]), _fmt(report.proposed[key]))
    console.print(table)
    strongest = sorted(report.weights.items(), key=lambda kv: -abs(kv[1]))[:8]
    console.print("strongest signals: " + ", ".join(f"{k} {v:+.2f}" for k, v in strongest))
    if report.small_sample:
        err_console.print(f"warning: {report.small_sample}", markup=False)
        for which, interval in report.intervals.items():
            shown = f"{interval[0]:.2f}–{interval[1]:.2f}" if interval else "cannot be computed"
            err_console.print(f"  95% interval of the {which} AUC: {shown}", markup=False)
    for note in report.notes:
        console.print(f"note: {note}", markup=False)
    console.print(report.diff or "(no change proposed)", markup=False, highlight=False)
    console.print("written to scoring.yaml" if written else "nothing written")


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def register(root: typer.Typer) -> None:
    """Add ``scoring`` to the main app."""
    root.add_typer(app, name="scoring")
