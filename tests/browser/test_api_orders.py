"""Orders taken in by the API, in the web client (C1, C2).

A shop posts an order to the demo's order API (channel WEB, the demo
integration key); the warehouse manager opens Inventory > Orders > API
Orders and finds it there, processed, with its sale.  The operator's Orders
menu has no API Orders entry.

Screenshots: tests/artifacts/browser-api-orders*.png and, when missing or
with UPDATE_README_IMG=1, docs/img/api-orders.png.
"""
import json
import os
import urllib.request
import uuid
from pathlib import Path

from playwright.sync_api import expect

from test_smoke import (
    expand_menu, login, menu_entry, open_tab, read_rows, visible_children,
    wait_for_rows)

ROOT = Path(__file__).resolve().parents[2]
README_IMG = ROOT / 'docs' / 'img' / 'api-orders.png'
API_KEY = 'demo-inventory-api-key'   # scripts/demo.py, user "integration"
SCREEN = {'width': 1440, 'height': 900}


def post_order(server, reference):
    body = {
        'channel': 'WEB', 'channel_reference': reference,
        'customer': {'name': 'Li Wei', 'email': 'li.wei@example.com',
            'address': {'street': '1 Nanjing Road', 'city': 'Shanghai'}},
        'lines': [{'sku': 'DEMO-0001', 'quantity': 2, 'unit_price': '3.10'}],
        }
    request = urllib.request.Request(
        f'{server.url}{server.name}/inventory/api/v1/orders',
        data=json.dumps(body).encode(), method='POST', headers={
            'Content-Type': 'application/json',
            'Authorization': f'Bearer {API_KEY}',
            'Idempotency-Key': str(uuid.uuid4())})
    with urllib.request.urlopen(request, timeout=120) as response:
        assert response.status == 201
        return json.loads(response.read())


def test_manager_sees_api_orders(
        tryton_server, chromium_page, new_chromium_page, artifacts_dir):
    reference = f'W-BROWSER-{uuid.uuid4().hex[:6].upper()}'
    order = post_order(tryton_server, reference)
    assert order['state'] == 'received', order
    assert order['lines'][0]['reserved'] == 2, order

    page = chromium_page
    page.set_viewport_size(SCREEN)
    login(page, tryton_server, 'manager', 'manager')
    expand_menu(page, 'Inventory', 'Orders')
    expand_menu(page, 'Orders', 'API Orders')
    pane = open_tab(page, 'API Orders', 'Inventory / Orders / API Orders')
    # The list opens on the held orders; the order is under "All"
    expect(pane.locator('.nav-tabs li.active'),
        "API Orders does not open on its 'Held' tab").to_contain_text('Held')
    pane.locator('.nav-tabs li a', has_text='All').click()
    expect(pane.locator('.nav-tabs li.active')).to_contain_text('All')
    wait_for_rows(pane, "API Orders")
    # The side menu folded away: the whole list shows
    page.locator('a.navbar-brand[data-toggle="menu"]').click()
    expect(page.locator('#menu')).to_be_hidden()
    row = pane.locator('.treeview tbody tr:visible').filter(
        has=page.locator(f'td[data-title="Channel Reference: "]'
            f' [title="{reference}"]'))
    expect(row, f"API Orders does not list {reference}").to_have_count(1)
    rows = {r[0]: r[1:] for r in read_rows(
            pane, 'Channel Reference', 'State', 'Sale', 'Customer')}
    state, sale, customer = rows[reference]
    # Without a queue worker the demo server made the sale right after the
    # intake's commit, as trytond's dispatcher does
    assert state == 'Processed', rows[reference]
    assert sale, f"{reference} has no sale: {rows[reference]}"
    assert customer == 'Li Wei', rows[reference]
    page.evaluate('() => document.activeElement?.blur()')
    page.mouse.move(SCREEN['width'] - 1, SCREEN['height'] - 1)
    shot = artifacts_dir / 'browser-api-orders.png'
    page.screenshot(path=shot)
    if os.environ.get('UPDATE_README_IMG') == '1' or not README_IMG.exists():
        README_IMG.parent.mkdir(parents=True, exist_ok=True)
        README_IMG.write_bytes(shot.read_bytes())

    # The operator's Orders menu has no API Orders
    page = new_chromium_page()
    login(page, tryton_server, 'operator', 'operator')
    expand_menu(page, 'Inventory', 'Orders')
    expand_menu(page, 'Orders', 'Reservations')
    children = visible_children(page, 'Orders')
    page.screenshot(path=artifacts_dir / 'browser-api-orders-operator.png')
    assert children and 'Reservations' in children, children
    assert 'API Orders' not in children, children
    expect(menu_entry(page, 'API Orders')).to_have_count(0)
