"""The stock dashboard in the web client (B1, B2): the demo manager opens
Inventory > Alerts & Dashboards > Stock Dashboard and sees, on one board,
stock value per warehouse, stock age, the open alerts of the demo rules,
near-expiry value and turnover by category.  The operator has no such menu.

Screenshots: tests/artifacts/browser-alerts-*.png and, when missing or with
UPDATE_README_IMG=1, docs/img/stock-dashboard.png.
"""
import os
import shutil
from pathlib import Path

from playwright.sync_api import expect

from test_smoke import expand_menu, login, menu_entry

ROOT = Path(__file__).resolve().parents[2]
README_IMG = ROOT / 'docs' / 'img' / 'stock-dashboard.png'
SCREEN = {'width': 1440, 'height': 1000}


def test_manager_opens_the_stock_dashboard(
        tryton_server, chromium_page, artifacts_dir):
    page = chromium_page
    page.set_viewport_size(SCREEN)
    login(page, tryton_server, 'manager', 'manager')
    expand_menu(page, "Inventory", "Alerts & Dashboards")
    expand_menu(page, "Alerts & Dashboards", "Stock Dashboard")
    menu_entry(page, "Stock Dashboard").click()
    pane = page.locator('#tabcontent .tab-pane.active')
    expect(pane.get_by_text("Inventory / Alerts & Dashboards / "
        "Stock Dashboard"), "the dashboard tab did not open").to_be_visible()
    # the board draws each action in its own frame
    for title in ["Stock Quantity and Value", "Stock Age", "Open Alerts",
            "Near-Expiry Value", "Turnover and Days of Cover by Category"]:
        expect(pane.get_by_text(title, exact=True).first,
            f"the board shows no {title!r}").to_be_visible(timeout=30_000)
    # charts are drawn (c3/d3 SVG) and the open alerts are listed
    expect(pane.locator('svg').first, "the board draws no chart") \
        .to_be_visible(timeout=30_000)
    alerts = pane.locator('.treeview tbody tr:visible').filter(
        has=page.locator('td[data-title]'))
    expect(alerts.first, "the board lists no open alert") \
        .to_be_visible(timeout=30_000)
    expect(page.get_by_text("Processing"), "the board is still loading") \
        .to_be_hidden(timeout=30_000)
    # the board scrolled while its charts loaded: show it from the top
    page.evaluate("""() => document.querySelectorAll('*').forEach(
        e => { if (e.scrollTop) { e.scrollTop = 0; } })""")
    page.wait_for_timeout(1500)
    page.screenshot(path=artifacts_dir / 'browser-alerts-dashboard.png')
    if os.environ.get('UPDATE_README_IMG') or not README_IMG.exists():
        README_IMG.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(artifacts_dir / 'browser-alerts-dashboard.png',
            README_IMG)


def test_operator_has_no_dashboard(tryton_server, chromium_page):
    page = chromium_page
    login(page, tryton_server, 'operator', 'operator')
    expand_menu(page, "Inventory", "Stock by Bin")
    expect(menu_entry(page, "Alerts & Dashboards")).to_have_count(0)
