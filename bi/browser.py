"""A real browser on the dashboards: Debian's chromium driven by playwright, for screenshots and tests.

Playwright's own browser download cannot be used here, so it always drives the system's
chromium (`PANTAO_CHROMIUM`, default /usr/bin/chromium) with a fresh profile that is removed
afterwards, and with the flags that keep it from reaching the network on its own.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

CHROMIUM = os.environ.get("PANTAO_CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]
# Charts render asynchronously; a dashboard is ready when no chart shows a loading spinner.
CHART_TIMEOUT_MS = 90_000
MENU_ATTEMPTS = 3  # opening a menu (a chart's «Сохранить», the period's range type) again, as a person retries


class BrowserError(RuntimeError):
    """The browser could not be started or a page did not behave; the message says what to check."""


@contextmanager
def chromium_page(locale: str = "ru-RU", width: int = 1600, height: int = 1000) -> Iterator:
    """A page in a fresh chromium profile; everything is closed and removed on exit."""
    if not Path(CHROMIUM).exists():
        raise BrowserError(f"no chromium at {CHROMIUM}: install Debian's package (`apt-get install -y chromium`) "
                           "or point PANTAO_CHROMIUM at one")
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="pantao-chromium-")
    try:
        with sync_playwright() as pw:
            context = pw.chromium.launch_persistent_context(
                profile, executable_path=CHROMIUM, args=FLAGS, headless=True, locale=locale,
                viewport={"width": width, "height": height}, accept_downloads=True)
            try:
                yield context.pages[0] if context.pages else context.new_page()
            finally:
                context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def sign_in(page, address: str, username: str, password: str) -> None:  # noqa: ANN001
    page.goto(f"{address}/login/")
    page.fill("input#username, input[name=username]", username)
    page.fill("input#password, input[name=password]", password)
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/login" not in url, timeout=30_000)
    page.wait_for_load_state("networkidle")


def open_dashboard(page, address: str, slug: str) -> None:  # noqa: ANN001
    """Open a dashboard and wait until every chart has rendered (or shown its error)."""
    page.goto(f"{address}/superset/dashboard/{slug}/?standalone=0", wait_until="networkidle")
    wait_for_charts(page)


def wait_for_charts(page) -> None:  # noqa: ANN001
    page.wait_for_selector(".dashboard-component-chart-holder", timeout=CHART_TIMEOUT_MS)
    page.wait_for_function(
        "() => document.querySelectorAll('.dashboard-component-chart-holder').length > 0 && "
        "document.querySelectorAll('.dashboard-component-chart-holder .loading, "
        ".dashboard-component-chart-holder [aria-label=\"loading\"]').length === 0",
        timeout=CHART_TIMEOUT_MS)
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(1500)  # echarts animate their first paint


def set_period(page, start: str, end_exclusive: str) -> None:  # noqa: ANN001
    """Set the dashboard's period filter through its own editor (range type «Advanced»), not yet applied."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page.locator(".ant-form-item", has_text="Период").locator("[data-test='time-range-trigger'], .ant-tag, span",
                                                            has_text="Без фильтрации").first.click()
    popover = page.locator(".ant-popover").last
    inputs = popover.locator("input:not(.ant-select-selection-search-input)")
    for attempt in range(1, MENU_ATTEMPTS + 1):
        # on a busy machine the choice can be lost while the range-type list is still opening;
        # a person picks «Продвинутая настройка» again when its date fields do not show
        popover.locator(".ant-select").first.click()
        page.locator(".ant-select-item-option", has_text="Продвинутая настройка").first.click()
        try:
            inputs.nth(0).wait_for(state="visible", timeout=10_000)
            break
        except PlaywrightTimeout:
            if attempt == MENU_ATTEMPTS:
                raise
    inputs.nth(0).fill(start)
    inputs.nth(1).fill(end_exclusive)
    popover.get_by_text(f"{start} ≤ col < {end_exclusive}").wait_for()
    popover.get_by_role("button", name="Применить").click()


def choose_filter_value(page, filter_name: str, value: str) -> None:  # noqa: ANN001
    """Pick one value in a select filter of the filter bar (typed, as a person would search it)."""
    page.locator(".ant-form-item", has_text=filter_name).locator(".ant-select").first.click(force=True)
    page.keyboard.type(value)
    page.locator(".ant-select-item-option", has_text=value).first.click()
    page.keyboard.press("Escape")


def apply_filters(page) -> None:  # noqa: ANN001
    page.get_by_role("button", name="Применить").last.click()
    wait_for_charts(page)


def chart_text(page, title: str) -> str:  # noqa: ANN001
    return page.locator(".dashboard-component-chart-holder", has_text=title).first.inner_text()


def export_csv(page, title: str) -> str:  # noqa: ANN001
    """Download a chart's data as CSV through its menu («Сохранить» → «Экспорт в CSV»); returns the text.

    The chart is first scrolled to the top of the window so the menu and its submenu open where they
    can be reached without scrolling: a scroll while the pointer rests on «Сохранить» moves the
    pointer off it, and antd closes the submenu 0.1 s later — on a busy machine before the pointer
    arrives at «Экспорт в CSV». The submenu is opened by pointing at its title until the title says
    it is expanded (`aria-expanded`), as a person points again at a submenu that did not open.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    chart = page.locator(".dashboard-component-chart-holder", has_text=title).first
    chart.evaluate("element => element.scrollIntoView({block: 'start'})")
    for attempt in range(1, MENU_ATTEMPTS + 1):
        chart.hover()
        chart.locator(".ant-dropdown-trigger").first.click()
        menu = page.locator(".ant-dropdown:not(.ant-dropdown-hidden) .ant-dropdown-menu-root").last
        save = menu.locator(".ant-dropdown-menu-submenu-title", has_text="Сохранить").first
        popup = page.locator(f"#{save.get_attribute('aria-controls', timeout=10_000)}")
        item = popup.locator(".ant-dropdown-menu-item", has_text="Экспорт в CSV").first
        try:
            _point_until_expanded(menu, save)
            with page.expect_download() as download:
                item.click(timeout=10_000)
            break
        except PlaywrightTimeout:
            if attempt == MENU_ATTEMPTS:
                raise
            page.keyboard.press("Escape")
    return Path(download.value.path()).read_text(encoding="utf-8-sig")


def _point_until_expanded(menu, title) -> None:  # noqa: ANN001
    """Point at a submenu's title until it says it is open (`aria-expanded`); moving off it first, so
    each try enters it anew. Returns after MENU_ATTEMPTS tries either way: the click that follows
    waits for the item and fails with what it waited for."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    expanded = menu.locator(".ant-dropdown-menu-submenu-title[aria-expanded='true']", has_text=title.inner_text())
    for _ in range(MENU_ATTEMPTS):
        menu.locator(".ant-dropdown-menu-item").first.hover()
        title.hover()
        try:
            expanded.wait_for(timeout=3_000)
            return
        except PlaywrightTimeout:
            continue


def screenshot_dashboard(page, address: str, slug: str, path: Path) -> Path:  # noqa: ANN001
    open_dashboard(page, address, slug)
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)
    return path
