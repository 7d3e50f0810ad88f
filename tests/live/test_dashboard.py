"""The dashboard in a real headless Chromium (Debian's /usr/bin/chromium, driven by playwright)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from live.conftest import ORDER_PAID
from live.test_app_harness import LiveApp, secrets_env, sqlite_live_app, sqlite_store_url, staging_config

__all__ = ["secrets_env", "sqlite_live_app", "sqlite_store_url", "staging_config"]

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not shutil.which(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Any, sqlite_live_app: LiveApp) -> Iterator[Any]:
    context = browser.new_context()
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    opened.goto(f"{sqlite_live_app.url}/?refresh_ms=500")
    yield opened
    context.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"


def kpi(page: Any, key: str) -> str:
    text: str = page.locator(f'[data-kpi="{key}"] .value').inner_text()
    return text


def test_dashboard_shows_the_kpis_agents_and_health(page: Any, sqlite_live_app: LiveApp) -> None:
    page.wait_for_selector('[data-kpi="cash_cents"]')
    cents = sqlite_live_app.client.get("/api/kpis").json()["cash_cents"]

    assert kpi(page, "cash_cents") == f"${cents // 100:,}.{cents % 100:02d}"
    assert kpi(page, "daily_ad_budget_cents") == "$60.00"
    assert kpi(page, "day") == "2"
    assert page.locator("#agents tr").count() == 8
    assert page.locator("#health").get_attribute("data-state") == "ok"


def test_set_budget_in_the_chat_box_changes_the_budget_on_the_page(page: Any) -> None:
    page.wait_for_selector('[data-kpi="daily_ad_budget_cents"]')

    page.fill("#chat-input", "set budget 80")
    page.click("#chat-send")

    page.wait_for_selector("#chat-log li.ceo")
    assert "$80.00" in page.locator("#chat-log li.ceo").last.inner_text()
    page.wait_for_function(
        "document.querySelector('[data-kpi=\"daily_ad_budget_cents\"] .value').textContent === '$80.00'")
    page.wait_for_selector('#events tr:has-text("USER_COMMAND")')


def test_pause_campaign_in_the_chat_box_shows_the_campaign_paused(page: Any) -> None:
    page.wait_for_selector("#campaigns tr[data-status='active']")
    campaign = page.locator("#campaigns tr[data-status='active']").first.get_attribute("data-campaign")

    page.fill("#chat-input", f"pause campaign {campaign}")
    page.press("#chat-input", "Enter")

    page.wait_for_selector(f"#campaigns tr[data-campaign='{campaign}'][data-status='paused']")


def test_an_unknown_chat_command_shows_the_help_as_an_error(page: Any) -> None:
    page.wait_for_selector('[data-kpi="cash_cents"]')

    page.fill("#chat-input", "fire everyone")
    page.click("#chat-send")

    error = page.wait_for_selector("#chat-log li.error")
    assert "set budget X" in error.inner_text()


def test_a_new_webhook_appears_in_recent_events_without_reloading(page: Any, sqlite_live_app: LiveApp) -> None:
    page.wait_for_selector('[data-kpi="cash_cents"]')

    sqlite_live_app.post_shopify(ORDER_PAID, event_id="evt-dashboard")

    row = page.wait_for_selector('#events tr:has-text("ORDER_PAID")')
    assert "amount_cents=$59.99" in row.inner_text()
    assert "Lovelace" not in page.content()


def test_breakers_and_queues_are_shown(page: Any, sqlite_live_app: LiveApp, monkeypatch: pytest.MonkeyPatch) -> None:
    page.wait_for_selector("#queues:has-text('outbox: 0 waiting')")
    assert "all adapters are mocks" in page.locator("#breakers").inner_text()

    monkeypatch.setattr(sqlite_live_app.backend, "breakers", lambda: {"ads": {
        "name": "ads", "state": "open", "consecutive_failures": 5, "failure_threshold": 5, "opens": 2,
        "seconds_until_half_open": 30.0}})

    # The table is re-rendered on every refresh, so look the cells up afresh rather than hold a row.
    page.wait_for_function(
        "[...document.querySelectorAll('#breakers tr')].some(r => r.cells[0].textContent === 'ads'"
        " && r.cells[1].textContent === 'open')")


def test_an_id_beyond_javascripts_exact_integers_is_shown_exactly(page: Any, sqlite_live_app: LiveApp) -> None:
    from ds1ray.store.events import Event

    page.wait_for_selector('[data-kpi="cash_cents"]')
    ticket = (1 << 62) | 8201  # a ticket ops opened: as a JavaScript number it would read …6105 → …6100
    sqlite_live_app.store.run(lambda tx: tx.outbox.add(Event(type="TICKET_CREATED", source="ops", payload={
        "ticket_id": ticket, "reason": 4})))
    row = page.wait_for_selector('#events tr:has-text("TICKET_CREATED")')
    assert f"ticket_id={ticket}" in row.inner_text()
