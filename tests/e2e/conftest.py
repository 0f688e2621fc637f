"""A real Chromium (Debian's /usr/bin/chromium) driven by Playwright against the live server."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
# Written on every run under var/ (not tracked); docs/screenshots/ holds a committed copy.
SCREENSHOTS = Path(
    os.environ.get("SCREENSHOTS_DIR", Path(__file__).resolve().parents[2] / "var" / "screenshots")
)
CHROMIUM_ARGS = [
    "--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]

# The two sizes every page is tried at: a laptop and a phone.
DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
VIEWPORTS = {"1366": DESKTOP, "390": PHONE}


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/e2e/" in str(item.fspath) and not CHROMIUM.exists():
            item.add_marker(pytest.mark.skip(reason="needs /usr/bin/chromium"))


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread while it is open; the ORM
    # calls made between browser steps are still plain synchronous calls. Module scope, so
    # that the loop (and this allowance) ends with the browser tests.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
            )
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


def _new_tab(browser, viewport: dict, **options):
    context = browser.new_context(viewport=viewport, accept_downloads=True, **options)
    context.set_default_timeout(20_000)
    return context, context.new_page()


@pytest.fixture
def page(browser):
    context, tab = _new_tab(browser, DESKTOP)
    yield tab
    context.close()


@pytest.fixture(params=sorted(VIEWPORTS), ids=lambda size: f"{size}px")
def sized_page(browser, request):
    """A tab at 1366×900, then at 390×844 (a phone: touch, mobile viewport)."""
    size = request.param
    phone = size == "390"
    context, tab = _new_tab(browser, VIEWPORTS[size], is_mobile=phone, has_touch=phone)
    tab.size = size
    yield tab
    context.close()


def horizontal_overflow(page) -> int:
    """How many pixels the page is wider than the window (0: no horizontal scroll)."""
    return page.evaluate(
        "Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"
        " - window.innerWidth"
    )


def serious_accessibility_violations(page) -> list[str]:
    """axe-core's serious and critical violations on the page as it is now (axe-core ships in
    the axe-playwright-python wheel: nothing is downloaded)."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        f"{violation['id']} ({violation['impact']}): {violation['help']} — "
        + "; ".join(node["target"][0] if isinstance(node["target"][0], str)
                    else str(node["target"]) for node in violation["nodes"][:5])
        for violation in results.response["violations"]
        if violation["impact"] in ("serious", "critical")
    ]


@pytest.fixture
def screenshot():
    """Saves a full-page screenshot under docs/screenshots/ (the README points there)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str, *, full_page: bool = True) -> Path:
        """full_page=False shows what is on screen (a drawer, a sticky footer) as people see it."""
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page, animations="disabled")
        return path

    return take


def log_in(page, live_server, *, username: str, password: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button:has-text('Sign in')")
    page.wait_for_selector("h1:has-text('Exports')")



PASSWORD = "a-long-test-password-7"


@pytest.fixture
def member(workspace):
    from django.contrib.auth import get_user_model

    from accounts.models import Membership

    person = get_user_model().objects.create_user(username="grace", password=PASSWORD)
    Membership.objects.create(user=person, workspace=workspace)
    return person


@pytest.fixture
def logs_3000(workspace):
    from django.utils import timezone

    from logs.seeding import seed_logs

    # Six days, so that all of them fall inside "Last 7 days" whenever the page asks.
    seed_logs(workspace_id=workspace.id, count=3000, now=timezone.now(), days=6, seed=11)
    return workspace


def log_in_member(page, live_server) -> None:
    log_in(page, live_server, username="grace", password=PASSWORD)


def wait_until(page, expression: str, *, timeout: float = 20) -> None:
    """Polls a JavaScript expression until it is true. page.wait_for_function would evaluate it
    with eval inside the page, which the app's Content-Security-Policy forbids."""
    import time

    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout} s: {expression}")
        page.wait_for_timeout(100)


def confirm_in_dialog(page) -> None:
    """Presses the confirm dialog's go button (Delete export, Cancel export)."""
    page.locator("#confirm-dialog").wait_for(state="visible")
    page.click("#confirm-dialog [data-confirm-go]")


def open_row_menu(page, name: str) -> None:
    """Opens the row menu (Details, Activity, Delete) of the export of this name."""
    summary = page.locator(f"summary[aria-label='More actions for export {name}']")
    if summary.evaluate("node => !node.parentElement.open"):
        summary.click()
