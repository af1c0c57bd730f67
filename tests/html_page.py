"""A rendered report page read back as a browser would see its parts: tags, images, sections, text."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path


class ReportPage(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.images: list[dict[str, str]] = []
        self.sections: list[str] = []  # the ids of <section> elements, in order
        self.text: list[str] = []  # every non-blank text node, stripped

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append(tag)
        if tag == "img":
            self.images.append(attrs)
        if tag == "section":
            self.sections.append(attrs.get("id", ""))

    def handle_data(self, data):
        if data.strip():
            self.text.append(data.strip())


def parse_page(path: Path) -> ReportPage:
    page = ReportPage()
    page.feed(path.read_text(encoding="utf-8"))
    page.close()
    return page
