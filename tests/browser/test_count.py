"""A blind cycle count on the scanner app in a real headless Chromium at
360×640 (B4, D4).

The demo data plans four weeks of cycle counts whose first day is the last
working day.  The demo operator opens the scanner's Count step: the bins
due are listed; they scan one that holds stock, and the screen asks for the
products without ever showing what the bin should hold.  A word typed for a
quantity is refused with the reason; a product of another bin is refused;
then each product is scanned and its quantity typed (the book quantity,
read by the test through JSON-RPC, so the count is within tolerance) and
the count is finished: the server holds the task done and accurate.

Screenshots: tests/artifacts/count-*.png.
"""
import datetime as dt

from playwright.sync_api import expect

from test_pick import as_manager
from test_scanner import (
    count_answers, demo_server, message, open_scanner, sign_in, start_step,
    wedge_scan)

__all__ = ['demo_server']  # the fixture, imported for pytest


def shot(page, artifacts_dir, name):
    page.evaluate('() => document.activeElement?.blur()')
    page.screenshot(path=artifacts_dir / f'count-{name}.png',
        animations='disabled')
    page.locator('#scan').focus()


def stock_of(server, location_id):
    return as_manager(server, 'model.stock.bin.quantity.search_read',
        [('location', '=', location_id)], 0, None, None,
        ['product', 'product.gtin', 'lot.number', 'quantity'])


def test_blind_count_on_the_scanner(demo_server, chromium_page,
        artifacts_dir):
    server = demo_server
    due = as_manager(server, 'model.stock.count.task.search_read',
        [('state', '=', 'draft'), ('kind', '=', 'cycle'),
            ('planned_date', '<=', dt.date.today().isoformat())],
        0, None, None, ['location', 'location.code'])
    assert due, "the demo data plans no count due today"
    task = stock = None
    for candidate in due:
        stock = stock_of(server, candidate['location'])
        if stock and all(s['product.']['gtin'] for s in stock):
            task = candidate
            break
    assert task, "no bin due today holds stock with GTINs"
    code = task['location.']['code']
    other = as_manager(server, 'model.product.product.search_read',
        [('id', 'not in', [s['product'] for s in stock]),
            ('gtin', '!=', None)], 0, 1, None, ['gtin'])[0]['gtin']

    page = chromium_page
    count_answers(page)
    open_scanner(page, server, 'operator', 'operator')
    sign_in(page)
    expect(page.locator('#steps button.step[data-step="count"]')) \
        .to_have_text('Count')
    start_step(page, 'count')
    expect(page.locator('#prompt')).to_have_text('Scan the bin to count.')
    expect(page.locator('#lines li').first).to_be_visible()
    shot(page, artifacts_dir, 'due')

    # --- the bin: the count starts, nothing tells what it holds -------------
    wedge_scan(page, code)
    expect(page.locator('#prompt')).to_have_text(
        f'Bin {code}: scan each product, then Finish.')
    expect(page.locator('#lines li')).to_have_count(0)

    # --- a product of another bin is refused -------------------------------
    wedge_scan(page, other)
    expect(message(page)).to_have_attribute('data-error', 'wrong_bin')
    expect(message(page)).to_contain_text(f'is not stored in bin {code}')

    for i, line in enumerate(stock):
        gtin = line['product.']['gtin']
        lot = (line.get('lot.') or {}).get('number')
        wedge_scan(page, '01' + gtin.zfill(14) + '10' + lot if lot else gtin)
        expect(page.locator('#scan')).to_have_attribute(
            'data-input', 'quantity')
        if not i:
            shot(page, artifacts_dir, 'quantity')
            # --- a word is not a quantity -----------------------------------
            wedge_scan(page, 'twelve')
            expect(message(page)).to_have_attribute(
                'data-error', 'quantity_not_numeric')
            expect(page.locator('#scan')).to_have_attribute(
                'data-input', 'quantity')
        quantity = line['quantity']
        wedge_scan(page, f'{quantity:g}')
        expect(message(page)).to_have_attribute('data-level', 'success')
        expect(message(page)).to_contain_text('Counted')
    expect(page.locator('#lines li')).to_have_count(len(stock))
    shot(page, artifacts_dir, 'counted')

    page.locator('#actions button.action[data-value="__finish__"]').click()
    expect(message(page)).to_contain_text(
        f'Bin {code} counted: within tolerance')
    expect(page.locator('#prompt')).to_have_text('Scan the bin to count.')
    shot(page, artifacts_dir, 'done')

    after, = as_manager(server, 'model.stock.count.task.read',
        [task['id']], ['state', 'accurate', 'counted_by.login'])
    assert after['state'] == 'done', after
    assert after['accurate'], after
    assert after['counted_by.']['login'] == 'operator', after
