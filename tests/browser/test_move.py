"""A move order done on the scanner app in a real headless Chromium at
360×640 (B3, D4).

The demo has one open move order (reference DEMO-MOVE-1): a case of a
product from its reserve bin to its pick face.  The demo operator opens the
scanner's Move step, chooses the order, scans a wrong source bin first
(refused with the reason, nothing changed), then the right one, the
product (its GTIN, as a GS1 string with the lot when the line names one),
the quantity and the target bin.  The server must then hold the move done,
the order done and the stock in the pick face.

Screenshots: tests/artifacts/move-*.png.
"""
from playwright.sync_api import expect

from test_pick import as_manager
from test_scanner import (
    count_answers, demo_server, message, open_scanner, sign_in, start_step,
    wedge_scan)

__all__ = ['demo_server']  # the fixture, imported for pytest


def shot(page, artifacts_dir, name):
    page.evaluate('() => document.activeElement?.blur()')
    page.screenshot(path=artifacts_dir / f'move-{name}.png',
        animations='disabled')
    page.locator('#scan').focus()


def availability(server, product, location):
    rows = as_manager(server, 'model.stock.availability.search_read',
        [('product', '=', product), ('location', '=', location)],
        0, None, None, ['on_hand', 'reserved'])
    return sum(r['on_hand'] for r in rows), sum(r['reserved'] for r in rows)


def test_move_order_by_scan(demo_server, chromium_page, artifacts_dir):
    server = demo_server
    orders = as_manager(server, 'model.stock.shipment.internal.search_read',
        [('reference', '=', 'DEMO-MOVE-1')], 0, None, None,
        ['number', 'state', 'moves'])
    assert len(orders) == 1, "the demo has no open move order DEMO-MOVE-1"
    order, = orders
    assert order['state'] == 'waiting', order
    line, = as_manager(server, 'model.stock.move.read', order['moves'],
        ['quantity', 'product', 'product.gtin', 'lot.number',
            'from_location', 'from_location.code', 'to_location',
            'to_location.code', 'state'])
    source = line['from_location.']['code']
    target = line['to_location.']['code']
    gtin = line['product.']['gtin']
    lot = line['lot.']['number'] if line.get('lot.') else None
    quantity = line['quantity']
    before = availability(server, line['product'], line['to_location'])

    page = chromium_page
    count_answers(page)
    open_scanner(page, server, 'operator', 'operator')
    sign_in(page)
    expect(page.locator('#steps button.step[data-step="move"]')) \
        .to_have_text('Move')
    start_step(page, 'move')
    expect(page.locator('#prompt')).to_have_text(
        'Scan a move order or choose one.')
    button = page.locator(
        f'#actions button.action[data-value="{order["number"]}"]')
    expect(button).to_be_visible()
    # an operator starts no ad-hoc move: the button is not offered
    expect(page.locator('#actions button.action[data-value="__adhoc__"]')) \
        .to_have_count(0)
    shot(page, artifacts_dir, 'orders')
    before_answers = page.evaluate('() => window.__answers || 0')
    button.click()
    page.wait_for_function(
        '(n) => (window.__answers || 0) > n && '
        'document.getElementById("busy").hidden', arg=before_answers)
    expect(message(page)).to_have_attribute('data-level', 'success')
    expect(page.locator('#prompt')).to_have_text(
        f'Go to bin {source} and scan it.')

    # --- a wrong source bin is refused with the reason, nothing changes ----
    wedge_scan(page, target)
    expect(message(page)).to_have_attribute('data-error', 'wrong_bin')
    expect(message(page)).to_contain_text(f'go to bin {source}')
    expect(page.locator('#prompt')).to_have_text(
        f'Go to bin {source} and scan it.')
    shot(page, artifacts_dir, 'wrong-bin')
    again, = as_manager(server, 'model.stock.move.read', order['moves'],
        ['state', 'quantity'])
    assert (again['state'], again['quantity']) == ('draft', quantity), again

    # --- the right bin, the product, the quantity, the target ---------------
    wedge_scan(page, source)
    expect(message(page)).to_have_attribute('data-error', '')
    expect(page.locator('#prompt')).to_have_text(
        f'Scan the product in bin {source}.')
    if lot:
        wedge_scan(page, '01' + gtin.zfill(14) + '10' + lot)
    else:
        wedge_scan(page, gtin)
    expect(page.locator('#scan')).to_have_attribute('data-input', 'quantity')
    shot(page, artifacts_dir, 'quantity')
    wedge_scan(page, f'{quantity:g}')
    expect(page.locator('#prompt')).to_contain_text(f'into bin {target}')
    wedge_scan(page, target)
    expect(message(page)).to_have_attribute('data-level', 'success')
    expect(message(page)).to_contain_text(f'from {source} to {target}')
    expect(message(page)).to_contain_text('is done')
    shot(page, artifacts_dir, 'done')

    # --- the server: move and order done, the stock in the pick face --------
    done, = as_manager(server, 'model.stock.shipment.internal.read',
        [order['id']], ['state'])
    assert done['state'] == 'done', done
    after = availability(server, line['product'], line['to_location'])
    assert after[0] == before[0] + quantity, (before, after)
    differences = as_manager(server,
        'model.stock.availability.check_consistency', [line['product']])
    assert differences == [], differences
