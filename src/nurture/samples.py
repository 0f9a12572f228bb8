"""Realistic sample contacts: French and English B2B personas across sectors and sizes.

Deterministic for a given seed, so the demo, the tests and the benchmark see the same base.
"""

from __future__ import annotations

import csv
import json
import random
import shutil
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from importlib import resources
from pathlib import Path
from typing import TypeVar

from nurture.domain.contacts import CONTACT_ATTRIBUTES

__all__ = [
    "SAMPLE_COLUMNS",
    "Persona",
    "copy_project_template",
    "generate_contacts",
    "write_contacts_csv",
    "write_examples",
]

SAMPLE_COLUMNS = (
    *CONTACT_ATTRIBUTES,
    "consent_sms",
    "bant.need",
    "bant.authority",
    "bant.budget",
    "bant.timing",
    "custom.source",
)

_FR_FIRST = (
    "Camille Léa Manon Chloé Sarah Inès Julie Emma Claire Sophie Nathalie Isabelle Céline Amandine "
    "Thomas Nicolas Julien Maxime Antoine Alexandre Pierre Hugo Lucas Mathieu Olivier Laurent "
    "Stéphane Benoît Karim Yasmine Mehdi Sandrine Aurélie Guillaume"
).split()
_FR_LAST = (
    "Martin Bernard Dubois Thomas Robert Richard Petit Durand Leroy Moreau Simon Laurent Lefebvre "
    "Michel Garcia David Bertrand Roux Vincent Fournier Morel Girard André Lefèvre Mercier Dupont "
    "Lambert Bonnet François Martinez Legrand Garnier Faure Rousseau Blanc Guérin Muller Henry "
    "Roussel Nicolas Perrin Morin Mathieu Clément Gauthier Dumont Lopez Fontaine Chevalier Benali"
).split()
_EN_FIRST = (
    "James Olivia Emily Michael Sarah David Jessica Daniel Laura Chris Rachel Andrew Megan Ryan "
    "Hannah Kevin Aiko Kenji Yuki Priya Tom Grace Ben Chloe Sam"
).split()
_EN_LAST = (
    "Smith Johnson Williams Brown Jones Miller Davis Wilson Taylor Clark Lewis Walker Hall Allen "
    "Young King Wright Scott Green Baker Adams Tanaka Sato Suzuki Patel Murphy"
).split()

_COMPANIES_FR = (
    "Atelier Mécanique Rhône|Clinique du Parc|Cabinet Lefort Avocats|Transports Girard|"
    "Boulangeries Maison Roux|Fiduciaire Alpine|Groupe Hospitalier Saint-Luc|Menuiserie Durand|"
    "Logiciels Azur|Assurances Mutuelles de l'Ouest|Plasturgie Normande|Laboratoires Vega|"
    "Cabinet d'expertise Morel|Agence Pixel & Co|Hôtel des Dunes|Lycée Privé Sainte-Anne|"
    "Fromagerie Comtoise|BTP Garnier & Fils|Optique Vision Plus|Pharmacie Centrale|"
    "Montréal Génie Conseil|Québec Numérique|Genève Gestion Privée|Lausanne BioTech|"
    "Liège Métallurgie|Bruxelles Fintech"
).split("|")
_COMPANIES_EN = (
    "Northwind Analytics|Bluebird Health|Harbor Logistics|Keystone Legal|Maple Software|"
    "Summit Manufacturing|Riverside Clinics|Atlas Finance|Brightpath Schools|Pioneer Foods|"
    "Sakura Precision|Tokyo Medical Devices|Thames Advisory|Hudson Dental Group"
).split("|")

_SECTORS = {
    "industry": 0.18,
    "healthcare": 0.14,
    "professional-services": 0.16,
    "finance": 0.10,
    "software": 0.12,
    "construction": 0.08,
    "retail": 0.08,
    "hospitality": 0.05,
    "education": 0.05,
    "public-sector": 0.04,
}

_ROLES_FR = (
    ("Directeur général", 0.10, "decision_maker"),
    ("Gérant", 0.06, "decision_maker"),
    ("DSI", 0.10, "decision_maker"),
    ("Responsable informatique", 0.14, "co_decider"),
    ("RSSI", 0.05, "decision_maker"),
    ("Directrice administrative et financière", 0.08, "co_decider"),
    ("Office manager", 0.12, "champion"),
    ("Chargée de communication", 0.10, None),
    ("Technicien support", 0.12, "champion"),
    ("Acheteuse", 0.08, "co_decider"),
    ("Stagiaire", 0.05, None),
)
_ROLES_EN = (
    ("CEO", 0.10, "decision_maker"),
    ("CTO", 0.08, "decision_maker"),
    ("Head of IT", 0.14, "decision_maker"),
    ("IT Manager", 0.14, "co_decider"),
    ("CFO", 0.08, "co_decider"),
    ("Operations Manager", 0.12, "champion"),
    ("Marketing Coordinator", 0.12, None),
    ("Systems Administrator", 0.12, "champion"),
    ("Procurement Officer", 0.06, "co_decider"),
    ("Intern", 0.04, None),
)

# country, weight, language, time zone choices, phone pattern (x = random digit)
_COUNTRIES = (
    ("FR", 0.55, "fr", ("Europe/Paris",), "+33 6 12 xx xx xx"),
    ("BE", 0.08, "fr", ("Europe/Brussels",), "+32 470 xx xx xx"),
    ("CH", 0.06, "fr", ("Europe/Zurich",), "+41 79 xxx xx xx"),
    ("CA", 0.10, "fr", ("America/Montreal",), "+1 514 555 01xx"),
    ("US", 0.10, "en", ("America/New_York",), "+1 212 555 01xx"),
    ("GB", 0.07, "en", ("Europe/London",), "+44 7400 xxxxxx"),
    ("JP", 0.04, "en", ("Asia/Tokyo",), "+81 90 1xxx xxxx"),
)
_OWNERS = (
    "camille.martin@nurture.example",
    "julien.moreau@nurture.example",
    "sarah.benali@nurture.example",
    "tom.walker@nurture.example",
)
_SOURCES = {
    "salon": 0.20,
    "webinar": 0.10,
    "site-web": 0.20,
    "achat-fichier": 0.25,
    "linkedin": 0.15,
    "recommandation": 0.10,
}
_NEEDS_FR = (
    "Sauvegardes non testées depuis un an",
    "Audit NIS2 à préparer",
    "Ransomware chez un concurrent, le comité veut un plan",
    "Pas de supervision la nuit ni le week-end",
)
_NEEDS_EN = (
    "Need 24/7 monitoring before the SOC 2 audit",
    "Cyber-insurance renewal requires MFA everywhere",
    "No one watches the alerts at night",
)


@dataclass(frozen=True)
class Persona:
    """One sample contact, as a CSV row."""

    row: dict[str, str]


_T = TypeVar("_T")


def _pick(rng: random.Random, weighted: dict[_T, float]) -> _T:
    return rng.choices(list(weighted), weights=list(weighted.values()))[0]


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum() or ch in "-.")


def _phone(rng: random.Random, pattern: str) -> str:
    return "".join(str(rng.randint(0, 9)) if ch == "x" else ch for ch in pattern)


def _company_size(rng: random.Random) -> int:
    bucket = rng.random()
    if bucket < 0.20:
        return rng.randint(2, 19)
    if bucket < 0.75:
        return rng.randint(20, 249)
    if bucket < 0.95:
        return rng.randint(250, 999)
    return rng.randint(1000, 8000)


def _deal_value(rng: random.Random, size: int) -> int | None:
    if rng.random() < 0.15:
        return None  # nobody has estimated it yet
    base = 3000 + size * rng.uniform(40, 160)
    return int(round(min(base, 250_000), -2))


def _budget(rng: random.Random, english: bool) -> str:
    if english:
        return rng.choice(["being framed", "approved for next fiscal year"])
    return rng.choice(["en cours de cadrage", "validé pour l'an prochain"])


def generate_contacts(count: int, *, seed: int = 7) -> Iterator[Persona]:
    """``count`` deterministic sample contacts."""
    rng = random.Random(seed)
    countries = {c: c[1] for c in _COUNTRIES}
    for index in range(1, count + 1):
        country, _, language, zones, pattern = _pick(rng, countries)
        english = language == "en"
        first = rng.choice(_EN_FIRST if english else _FR_FIRST)
        last = rng.choice(_EN_LAST if english else _FR_LAST)
        roles = _ROLES_EN if english else _ROLES_FR
        role, _, authority = rng.choices(roles, weights=[r[1] for r in roles])[0]
        company = rng.choice(_COMPANIES_EN if english else _COMPANIES_FR)
        domain = _ascii(company.split()[0] + "-" + company.split()[-1]) + f"{index % 97}.example"
        size = _company_size(rng)
        has_phone = rng.random() < 0.7
        bant_need = rng.choice(_NEEDS_EN if english else _NEEDS_FR) if rng.random() < 0.25 else ""
        bant_authority = authority if authority and rng.random() < 0.35 else ""
        deal = _deal_value(rng, size)
        yield Persona(
            {
                "external_id": f"crm-{index:06d}",
                "email": f"{_ascii(first)}.{_ascii(last)}{index}@{domain}",
                "first_name": first,
                "last_name": last,
                "company": company,
                "role": role,
                "sector": _pick(rng, _SECTORS),
                "company_size": str(size),
                "country": country,
                "timezone": rng.choice(zones),
                "language": language,
                "phone": _phone(rng, pattern) if has_phone else "",
                "owner": rng.choice(_OWNERS),
                "deal_value": "" if deal is None else str(deal),
                "consent_sms": "yes" if has_phone and rng.random() < 0.45 else "no",
                "bant.need": bant_need,
                "bant.authority": bant_authority,
                "bant.budget": _budget(rng, english) if bant_need and rng.random() < 0.3 else "",
                "bant.timing": rng.choice(["T1", "T2", "S2", "2027"]) if bant_need else "",
                "custom.source": _pick(rng, _SOURCES),
            }
        )


def write_contacts_csv(path: Path, count: int, *, seed: int = 7) -> Path:
    """Write ``count`` sample contacts to ``path`` (UTF-8 CSV, comma separated)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=SAMPLE_COLUMNS)
        writer.writeheader()
        for persona in generate_contacts(count, seed=seed):
            writer.writerow(persona.row)
    return path


_TARGET_SECTORS = frozenset({"industry", "healthcare", "finance", "software"})


def write_examples(folder: Path, count: int, *, today: date, seed: int = 7) -> None:
    """Example data for the sample contacts, so that every command of the README has
    something to read: ``events.jsonl`` (a backfill of opens, clicks and webinars, in the
    generic JSON-lines format) and ``deals.csv`` (closed deals for ``scoring calibrate``)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    personas = generate_contacts(count, seed=seed)
    events, deals = [], ["contact,outcome,close_date"]
    for n, persona in enumerate(personas, start=1):
        ref = persona.row["external_id"]
        webinars = rng.choice([0, 0, 1, 2])
        for kind, times in (("email_open", rng.randrange(0, 4)), ("webinar_attended", webinars)):
            for k in range(times):
                at = datetime.combine(today - timedelta(days=20 + k), time(10), tzinfo=UTC)
                events.append(
                    json.dumps(
                        {"id": f"example-{n}-{kind}-{k}", "type": kind, "contact": ref,
                         "occurred_at": at.isoformat(), "data": {}}
                    )
                )  # fmt: skip
        fits = persona.row["sector"] in _TARGET_SECTORS
        won = rng.random() < (0.25 + 0.3 * fits + 0.15 * webinars)
        deals.append(f"{ref},{'won' if won else 'lost'},{(today - timedelta(days=5)).isoformat()}")
    (folder / "events.jsonl").write_text("\n".join(events) + "\n", encoding="utf-8")
    (folder / "deals.csv").write_text("\n".join(deals) + "\n", encoding="utf-8")


def copy_project_template(target: Path) -> None:
    """Copy the sample project (scoring, sequences, templates, content, deployments)."""
    source = Path(str(resources.files("nurture").joinpath("project_template")))
    for entry in sorted(source.iterdir()):
        destination = target / entry.name
        if entry.is_dir():
            shutil.copytree(
                entry,
                destination,
                dirs_exist_ok=True,
                ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
            )
        else:
            shutil.copyfile(entry, destination)
