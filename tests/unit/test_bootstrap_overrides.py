"""One wiring point: bootstrap takes a replacement for each adapter, the template catalog
and the click-to-call dialer included."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import SecretStr

from nurture.adapters.templates import TemplateStore
from nurture.bootstrap import bootstrap
from nurture.settings import DatabaseSettings, EmailSettings, ProjectSettings, Settings


class _Dialer:
    def call(self, *, rep: str, contact: str) -> str:  # pragma: no cover - never dialled
        return "CA-test"


def test_templates_and_dialer_can_be_replaced(tmp_path: Path, project_dir: Path) -> None:
    asked: list[tuple[Path, str]] = []

    def templates(folder: Path, language: str) -> Any:
        asked.append((folder, language))
        return TemplateStore.from_directory(folder, default_language=language)

    dialer = _Dialer()
    settings = Settings(
        database=DatabaseSettings(database_url=f"sqlite:///{tmp_path / 'n.db'}"),
        project=ProjectSettings(project_dir=project_dir),  # a fresh copy: never cached
    )
    app = bootstrap(settings, templates=templates, dialer=dialer)  # type: ignore[arg-type]
    assert app.project.sequences  # the project loads through the replacement
    assert asked
    assert asked[0][0] == project_dir / "templates"
    assert app.dialer is dialer
    app.engine.dispose()


def test_only_the_outbox_drivers_send_in_the_batch_thread(tmp_path: Path) -> None:
    settings = Settings(
        database=DatabaseSettings(database_url=f"sqlite:///{tmp_path / 'n.db'}"),
        project=ProjectSettings(project_dir=tmp_path, outbox_dir=tmp_path / "outbox"),
    )
    app = bootstrap(settings)
    assert app.delivery.inline == {"email", "sms"}
    app.engine.dispose()
    settings.email = EmailSettings(email_driver="sendgrid", sendgrid_api_key=SecretStr("SG.k"))
    app = bootstrap(settings)
    assert (app.delivery.email.provider, app.delivery.inline) == ("sendgrid", {"sms"})
    app.engine.dispose()
