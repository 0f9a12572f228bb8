"""What rendering one email costs: the project's email templates (subject, HTML and text)
rendered in a loop through ``TemplateStore``, for a contact as the daily run sees one.
A benchmark, not a test: it prints figures.

    python bench/render_loop.py [--project DIR] [--renders N]   # default: this repository
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from nurture.adapters.templates import TemplateStore
from nurture.domain.contacts import Contact
from nurture.errors import TemplateError
from nurture.pipeline.rendering import Sender, touch_context


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, default=Path(__file__).resolve().parents[1])
    parser.add_argument("--renders", type=int, default=20_000)
    args = parser.parse_args()
    store = TemplateStore.from_directory(args.project / "templates", default_language="fr")
    names = sorted(
        {f"emails/{n.split('/')[1].split('.')[0]}" for n in store.names() if n.endswith(".html.j2")}
        - {"emails/_layout"}
    )
    sender = Sender("Vigie Cyber", "bonjour@vigie-cyber.example", "https://nurture.example", "s")
    contact = Contact(id=42, email="claire.martin@example.fr", first_name="Claire",
                      last_name="Martin", company="Exemple SA", language="en",
                      owner="paul.durand@vigie-cyber.example")  # fmt: skip
    context = touch_context(contact=contact, sender=sender, touch_id=7)
    for name in list(names):  # compiled once, as in a run
        try:
            store.render_email(name, language="en", context=context)
        except TemplateError:
            names.remove(name)  # needs a content asset or a sequence: left out here
    started = time.perf_counter()
    for number in range(args.renders):
        store.render_email(names[number % len(names)], language="en", context=context)
    seconds = time.perf_counter() - started
    print(
        f"{args.renders:,} emails ({len(names)} templates): {seconds:.2f} s, "
        f"{seconds / args.renders * 1e6:.1f} us per email"
    )


if __name__ == "__main__":
    main()
