"""A marketer's project folder: scoring, sequences, templates and the content catalog.

:func:`check_project` reads everything, reports *every* problem with its file, line and
field, and returns what could be loaded; :func:`load_project` is the strict version used
before anything is sent.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypeVar

from nurture.domain.messages import EMAIL_PARTS
from nurture.domain.scoring import ScoringModel
from nurture.domain.sequences import Channel, Sequence, Step
from nurture.errors import Location, SpecError, SpecErrors
from nurture.ports import TemplateCatalog
from nurture.specs.catalog import Catalog, load_catalog
from nurture.specs.scoring import load_scoring
from nurture.specs.yamlfile import Loc, YamlDocument, format_loc, read_yaml, validate_document

__all__ = [
    "FileReport",
    "Project",
    "ProjectCheck",
    "ProjectTools",
    "check_project",
    "load_project",
]

_T = TypeVar("_T")


@dataclass
class Project:
    """Everything a run needs from the project folder."""

    root: Path
    scoring: ScoringModel
    sequences: dict[str, Sequence]
    catalog: Catalog
    templates: TemplateCatalog
    sequence_files: dict[str, str] = field(default_factory=dict)

    def sequence(self, sequence_id: str) -> Sequence:
        """The sequence ``sequence_id``; :class:`SpecError` names the known ones."""
        try:
            return self.sequences[sequence_id]
        except KeyError:
            known = ", ".join(sorted(self.sequences)) or "none"
            raise SpecError(f"unknown sequence {sequence_id!r} (known: {known})") from None


@dataclass(frozen=True)
class ProjectTools:
    """What checking a project needs from outside it (``bootstrap.project_tools`` builds
    them): its template files as a catalog, and whether the holidays calendar knows a
    region."""

    templates: Callable[[Path, str], TemplateCatalog]
    known_region: Callable[[str], bool]


@dataclass
class FileReport:
    """One checked file: its problems, or a one-line summary when it is fine."""

    file: str
    problems: list[SpecError] = field(default_factory=list)
    summary: str = ""


@dataclass
class ProjectCheck:
    """What :func:`check_project` found."""

    files: list[FileReport]
    project: Project | None

    @property
    def problems(self) -> list[SpecError]:
        """Every problem in every file."""
        return [problem for report in self.files for problem in report.problems]


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


def _step_describe(document: YamlDocument, loc: Loc) -> str:
    data = document.data if isinstance(document.data, dict) else {}
    if len(loc) >= 2 and loc[0] == "steps" and isinstance(loc[1], int):
        steps = data.get("steps")
        if isinstance(steps, list) and loc[1] < len(steps) and isinstance(steps[loc[1]], dict):
            name = steps[loc[1]].get("id") or f"#{loc[1] + 1}"
            rest = format_loc(loc[2:])
            return f"step {name!r}" + (f" {rest}" if rest else "")
    return format_loc(loc)


def check_project(root: Path, *, tools: ProjectTools, default_language: str = "fr") -> ProjectCheck:
    """Read and cross-check the whole project; never raises for bad input."""
    reports: list[FileReport] = []
    scoring = _check_one(root, root / "scoring.yaml", reports, load_scoring, ScoringModel)
    catalog_path = root / "content" / "catalog.yaml"
    catalog = (
        _check_one(root, catalog_path, reports, load_catalog, Catalog)
        if catalog_path.exists()
        else Catalog()
    )
    templates = tools.templates(root / "templates", default_language)
    template_report = FileReport("templates/")
    reports.append(template_report)
    documents = _read_sequences(root, reports)
    for document, sequence, report in documents.values():
        report.problems += _cross_check(
            document,
            sequence,
            documents,
            catalog=catalog or Catalog(),
            templates=templates,
            known_region=tools.known_region,
        )
    report_cycles(documents)
    template_report.problems += _template_syntax(templates)
    for _, sequence, report in documents.values():
        if not report.problems:
            report.summary = _summary(sequence)
    sequences = {sid: seq for sid, (_, seq, _) in documents.items()}
    files = {sid: rep.file for sid, (_, _, rep) in documents.items()}
    if not template_report.problems:
        count = len(templates.names())
        template_report.summary = f"{count} template files"
    project = None
    if scoring is not None and catalog is not None:
        project = Project(root, scoring, sequences, catalog, templates, files)
    return ProjectCheck(reports, project)


_Documents = dict[str, tuple[YamlDocument, Sequence, FileReport]]


def _read_sequences(root: Path, reports: list[FileReport]) -> _Documents:
    """Every sequence file, read and validated on its own; each gets its report."""
    documents: _Documents = {}
    sequence_dir = root / "sequences"
    for path in sorted(sequence_dir.glob("*.y*ml")) if sequence_dir.is_dir() else []:
        display = _relative(path, root)
        report = FileReport(display)
        reports.append(report)
        try:
            document = read_yaml(path, display=display)
            sequence = validate_document(document, Sequence, describe=_step_describe)
        except SpecErrors as exc:
            report.problems += exc.problems
            continue
        except SpecError as exc:
            report.problems.append(exc)
            continue
        if sequence.id in documents:
            other = documents[sequence.id][2].file
            report.problems.append(
                SpecError(
                    f"sequence id {sequence.id!r} is also used by {other}",
                    document.location(("id",)),
                )
            )
            continue
        documents[sequence.id] = (document, sequence, report)
    return documents


_loaded: dict[tuple[str, str], tuple[tuple[tuple[str, int, int], ...], Project]] = {}
_loaded_lock = threading.Lock()


def _fingerprint(root: Path) -> tuple[tuple[str, int, int], ...]:
    """Path, modification time and size of every file the project is read from."""
    files = [root / "scoring.yaml", root / "content" / "catalog.yaml"]
    for folder in (root / "sequences", root / "templates"):
        if folder.is_dir():
            files += [p for p in folder.rglob("*") if p.is_file()]
    out = []
    for path in sorted(files):
        try:
            stat = path.stat()
        except OSError:
            continue
        out.append((str(path), stat.st_mtime_ns, stat.st_size))
    return tuple(out)


def load_project(root: Path, *, tools: ProjectTools, default_language: str = "fr") -> Project:
    """The project, or :class:`SpecErrors` listing every problem.

    The result is kept while no file of the project changes, so that a process that runs
    the flow every few minutes does not re-read and re-check everything each time.
    """
    key = (str(root.resolve()), default_language)
    fingerprint = _fingerprint(root)
    with _loaded_lock:
        cached = _loaded.get(key)
        if cached is not None and cached[0] == fingerprint:
            return _copy(cached[1])
    check = check_project(root, tools=tools, default_language=default_language)
    if check.problems or check.project is None:
        raise SpecErrors(
            check.problems or [SpecError("project cannot be loaded", Location(str(root)))]
        )
    with _loaded_lock:
        _loaded[key] = (fingerprint, check.project)
    return _copy(check.project)


def _copy(project: Project) -> Project:
    """A copy whose mappings can change without changing the cached project (the parsed
    models and templates themselves are immutable and shared)."""
    return replace(
        project, sequences=dict(project.sequences), sequence_files=dict(project.sequence_files)
    )


def _check_one(
    root: Path,
    path: Path,
    reports: list[FileReport],
    loader: Callable[..., _T],
    kind: type[_T],
) -> _T | None:
    display = _relative(path, root)
    report = FileReport(display)
    reports.append(report)
    try:
        loaded = loader(path, display=display)
    except SpecErrors as exc:
        report.problems += exc.problems
        return None
    except SpecError as exc:
        report.problems.append(exc)
        return None
    report.summary = f"{kind.__name__} ok"
    if isinstance(loaded, ScoringModel):
        report.summary = (
            f"{len(loaded.fit.rules)} fit rules, {len(loaded.interest.rules)} interest rules, "
            f"prospect at {loaded.stages.prospect.min_score}"
        )
    elif isinstance(loaded, Catalog):
        report.summary = f"{len(loaded.assets)} assets"
    return loaded


_PARTS = {
    Channel.EMAIL: EMAIL_PARTS,
    Channel.SMS: ("txt",),
    Channel.CALL: ("md",),
}


def _step_parts(step: Step) -> tuple[str, ...]:
    if step.channel == Channel.CONTENT:
        return EMAIL_PARTS if step.via == "email" else ("txt",)
    return _PARTS[step.channel]


def _cross_check(
    document: YamlDocument,
    sequence: Sequence,
    documents: dict[str, tuple[YamlDocument, Sequence, FileReport]],
    *,
    catalog: Catalog,
    templates: TemplateCatalog,
    known_region: Callable[[str], bool],
) -> list[SpecError]:
    problems = []
    region = sequence.send_window.holidays
    if region not in (None, "contact") and not known_region(region):
        problems.append(
            SpecError(
                f"holidays {region!r} is not a country (or subdivision) the holidays calendar "
                "knows; use an ISO code such as FR, DE, US-NY, or 'contact' or 'none'",
                document.location(("send_window", "holidays"), "send_window.holidays"),
            )
        )
    for index, step in enumerate(sequence.steps):
        key = "script" if step.channel == Channel.CALL else "template"
        name = step.carrier_template
        expected_folder = {"email": "emails/", "sms": "sms/", "call": "calls/"}[step.sends_on]
        where = document.location(("steps", index, key), f"step {step.id!r} {key}")
        if step.channel == Channel.CONTENT and step.template is None:
            where = document.location(("steps", index), f"step {step.id!r}")
        if not name.startswith(expected_folder):
            problems.append(SpecError(f"{key} {name!r} must be under {expected_folder}", where))
            continue
        missing = templates.problems(name, _step_parts(step))
        if missing and all(m.startswith("missing") for m in missing):
            problems.append(SpecError(f"unknown {key} {name!r} ({'; '.join(missing)})", where))
        elif missing:
            problems.append(SpecError(f"{key} {name!r}: {'; '.join(missing)}", where))
        if step.channel == Channel.CONTENT and step.content and catalog.get(step.content) is None:
            known = ", ".join(a.id for a in catalog.assets) or "none"
            problems.append(
                SpecError(
                    f"unknown content {step.content!r} (catalog has: {known})",
                    document.location(("steps", index, "content"), f"step {step.id!r} content"),
                )
            )
    chains: list[tuple[Loc, str]] = []
    if sequence.on_complete:
        chains.append((("on_complete", "enroll"), sequence.on_complete.enroll))
    chains += [
        (("on_exit", reason.value, "enroll"), rule.enroll)
        for reason, rule in sequence.on_exit.items()
    ]
    for loc, target in chains:
        if target not in documents:
            known = ", ".join(sorted(documents)) or "none"
            problems.append(
                SpecError(f"unknown sequence {target!r} (known: {known})", document.location(loc))
            )
    return problems


def report_cycles(documents: dict[str, tuple[YamlDocument, Sequence, FileReport]]) -> None:
    """Add an error to a sequence whose ``on_complete`` chain comes back to it.

    Such a chain would cycle forever with no action from the contact. Loops through
    ``on_exit`` are fine: each turn needs the contact to do something (a prospect gone
    cold is nurtured, re-qualified, handed off again).
    """
    graph = {
        sid: [seq.on_complete.enroll]
        if seq.on_complete and seq.on_complete.enroll in documents
        else []
        for sid, (_, seq, _) in documents.items()
    }
    reported: set[frozenset[str]] = set()
    for start in sorted(graph):
        path = _cycle_from(start, graph)
        if path is None or frozenset(path) in reported:
            continue
        reported.add(frozenset(path))
        document, _, report = documents[start]
        report.problems.append(
            SpecError(
                "on_complete chains form a cycle: " + " → ".join(path),
                document.location(("on_complete", "enroll")),
            )
        )


def _cycle_from(start: str, graph: dict[str, list[str]]) -> list[str] | None:
    stack: list[tuple[str, list[str]]] = [(start, [start])]
    while stack:
        node, path = stack.pop()
        for target in graph.get(node, []):
            if target == start:
                return [*path, start]
            if target not in path:
                stack.append((target, [*path, target]))
    return None


def _template_syntax(templates: TemplateCatalog) -> list[SpecError]:
    problems = []
    for name in sorted(templates.names()):
        error = templates.syntax_error(name)
        if error is not None:
            line, message = error
            problems.append(SpecError(message, Location(f"templates/{name}", line)))
    return problems


def _summary(sequence: Sequence) -> str:
    channels = Counter(step.channel.value for step in sequence.steps)
    parts = ", ".join(f"{count} {channel}" for channel, count in channels.items())
    chained = f", then {sequence.on_complete.enroll}" if sequence.on_complete else ""
    return (
        f"{sequence.id} v{sequence.version}: {len(sequence.steps)} steps ({parts}), "
        f"exits on {len(sequence.exit_on)} reasons{chained}"
    )
