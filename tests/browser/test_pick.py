"""Picking a batch on the scanner app in a real headless Chromium at
360×640 (C3, B5, D4).

The demo manager builds a wave from the reserved demo shipments with the
default template's "Build Waves Now" and releases it, through JSON-RPC as
the web client would.  The demo operator then opens the scanner's Pick
step, scans the batch barcode, scans a wrong bin first (refused with the
reason, nothing changed), and follows the screen stop after stop: the bin
it names, the product (its GTIN, as a GS1 string with the lot when the
stop names one), the quantity it expects, until the batch is complete.
The server must then hold every pick task picked, the batch and the wave
done and the shipment picked.

Screenshots: tests/artifacts/pick-*.png.
"""
import re

from playwright.sync_api import expect

from test_approval import rpc
from test_scanner import (
    count_answers, demo_server, message, open_scanner, sign_in, start_step,
    wedge_scan)

__all__ = ['demo_server']  # the fixture, imported for pytest

WRONG_BIN = 'Q-01-1-01'  # the demo's quarantine bin: never a pick stop
BIN_PROMPT = re.compile(r'^Go to bin (\S+) and scan it$')
ITEM_PROMPT = re.compile(r'^Scan \[([^\]]+)\] .+?(?: of lot (\S+))?$')
QUANTITY_PROMPT = re.compile(
    r'^How many .+ did you take\? ([\d.,]+)\s*\S* expected$')


def as_manager(server, method, *params):
    return rpc(server, 'manager', 'manager', method, *params)


def shot(page, artifacts_dir, name):
    page.evaluate('() => document.activeElement?.blur()')
    page.screenshot(path=artifacts_dir / f'pick-{name}.png',
        animations='disabled')
    page.locator('#scan').focus()


def prompt_text(page):
    return page.locator('#prompt').text_content().replace('\xa0', ' ')


def build_and_release_wave(server):
    """Build the waves of the active templates now and release the new
    ones; return (shipment ids, batches [{id, code, wave}])"""
    shipments = as_manager(server, 'model.stock.shipment.out.search',
        [('state', '=', 'assigned'), ('wave', '=', None)], 0, None, None)
    assert shipments, "the demo data has no reserved customer shipment"
    templates = as_manager(server, 'model.stock.wave.template.search',
        [], 0, None, None)
    assert templates, "no wave template (inventory_wave's default one)"
    as_manager(server, 'model.stock.wave.template.build_waves', templates)
    waves = as_manager(server, 'model.stock.wave.search_read',
        [('shipments', 'in', shipments)], 0, None, None,
        ['state', 'shipments'])
    assert waves, "Build Waves Now made no wave of the reserved shipments"
    assert all(w['state'] == 'draft' for w in waves), waves
    as_manager(server, 'model.stock.wave.release', [w['id'] for w in waves])
    batches = as_manager(server, 'model.stock.wave.batch.search_read',
        [('wave', 'in', [w['id'] for w in waves])], 0, None, None,
        ['code', 'state', 'wave', 'picker'])
    assert batches and all(b['state'] == 'open' and not b['picker']
        for b in batches), batches
    in_waves = [s for w in waves for s in w['shipments']]
    return in_waves, batches


def tasks(server, batch_id):
    return as_manager(server, 'model.stock.wave.batch.line.search_read',
        [('batch', '=', batch_id)], 0, None, [('sequence', 'ASC')],
        ['sequence', 'state', 'quantity', 'picked_quantity',
            'location.code', 'product.code', 'product.gtin', 'lot.number',
            'shipment'])


def test_pick_a_batch_by_scan(demo_server, chromium_page, artifacts_dir):
    server = demo_server
    shipments, batches = build_and_release_wave(server)
    batch = batches[0]
    before = tasks(server, batch['id'])
    assert before and all(t['state'] == 'pending' for t in before), before
    gtins = {t['product.']['code']: t['product.']['gtin'] for t in before}
    assert all(gtins.values()), f"a product to pick has no GTIN: {gtins}"
    stops = len({t['sequence'] for t in before})

    page = chromium_page
    count_answers(page)
    open_scanner(page, server, 'operator', 'operator')
    sign_in(page)
    expect(page.locator('#steps button.step[data-step="pick"]')) \
        .to_have_text('Pick')
    start_step(page, 'pick')
    expect(page.locator('#prompt')).to_have_text(
        'Scan the pick list of a batch or choose one')
    # the released batch is offered
    expect(page.locator(
            f'#actions button.action[data-value="{batch["code"]}"]')) \
        .to_be_visible()

    # --- the batch barcode of the pick list ---------------------------------
    wedge_scan(page, batch['code'])
    expect(message(page)).to_have_attribute('data-level', 'success')
    expect(message(page)).to_contain_text(f'{stops} stops')
    expect(page.locator('#prompt')).to_have_text(BIN_PROMPT)
    expect(page.locator('#scan')).to_have_attribute('data-input', 'scan')
    first_bin = BIN_PROMPT.match(prompt_text(page)).group(1)
    assert first_bin == before[0]['location.']['code'], (first_bin, before)
    assert first_bin != WRONG_BIN
    # one line per tote of the stop, naming the order
    expect(page.locator('#lines li[data-status="pending"]').first) \
        .to_contain_text('Tote')
    shot(page, artifacts_dir, 'batch')

    # --- a wrong bin is refused with the reason, nothing changes ------------
    wedge_scan(page, WRONG_BIN)
    expect(message(page)).to_have_attribute('data-error', 'wrong_bin')
    expect(message(page)).to_contain_text('Wrong bin')
    expect(message(page)).to_contain_text(WRONG_BIN)
    expect(message(page)).to_contain_text(first_bin)
    expect(page.locator('#prompt')).to_have_text(
        f'Go to bin {first_bin} and scan it')
    shot(page, artifacts_dir, 'wrong-bin')
    after_refusal = tasks(server, batch['id'])
    assert [(t['id'], t['state'], t['sequence']) for t in after_refusal] == [
        (t['id'], t['state'], t['sequence']) for t in before], after_refusal
    picker, = as_manager(server, 'model.stock.wave.batch.read',
        [batch['id']], ['picker.login'])
    assert picker['picker.']['login'] == 'operator', picker

    # --- follow the screen, stop after stop ---------------------------------
    confirmed = 0
    for _ in range(len(before) + 1):
        prompt = prompt_text(page)
        match = BIN_PROMPT.match(prompt)
        if not match:
            break
        wedge_scan(page, match.group(1))
        expect(page.locator('#prompt')).to_have_text(ITEM_PROMPT)
        expect(message(page)).to_have_attribute('data-error', '')
        code, lot = ITEM_PROMPT.match(prompt_text(page)).groups()
        gtin = gtins[code]
        if lot:
            # GS1 element string: GTIN (01), then the lot (10) at the end
            wedge_scan(page, '01' + gtin.zfill(14) + '10' + lot)
        else:
            wedge_scan(page, gtin)
        expect(page.locator('#scan')).to_have_attribute(
            'data-input', 'quantity')
        expect(page.locator('#prompt')).to_have_text(QUANTITY_PROMPT)
        if not confirmed:
            shot(page, artifacts_dir, 'quantity')
        quantity = QUANTITY_PROMPT.match(prompt_text(page)).group(1)
        wedge_scan(page, quantity)
        expect(message(page)).to_have_attribute('data-level', 'success')
        expect(message(page)).to_contain_text('Picked')
        confirmed += 1
        if confirmed == 1 and stops > 1:
            # the next stop is shown
            expect(page.locator('#prompt')).to_have_text(BIN_PROMPT)
            shot(page, artifacts_dir, 'next-stop')
    assert confirmed == stops, (confirmed, stops, prompt_text(page))
    expect(message(page)).to_contain_text('Totes complete')
    expect(message(page)).to_contain_text(re.compile(r'Batch \S+ is complete'))
    expect(page.locator('#prompt')).to_have_text(
        'Scan the pick list of a batch or choose one')
    expect(page.locator(
            f'#actions button.action[data-value="{batch["code"]}"]')) \
        .to_have_count(0)
    shot(page, artifacts_dir, 'done')

    # --- the server: tasks picked, batch and wave done, shipment picked ------
    after = tasks(server, batch['id'])
    assert all(t['state'] == 'picked' for t in after), after
    assert [(t['id'], t['picked_quantity']) for t in after] == [
        (t['id'], t['quantity']) for t in before], after
    batch_after, = as_manager(server, 'model.stock.wave.batch.read',
        [batch['id']], ['state', 'wave.state'])
    assert batch_after['state'] == 'done', batch_after
    if len(batches) == 1:
        assert batch_after['wave.']['state'] == 'done', batch_after
    picked = {t['shipment'] for t in before}
    states = as_manager(server, 'model.stock.shipment.out.read',
        sorted(picked), ['state'])
    assert {s['state'] for s in states} == {'picked'}, states
    assert picked <= set(shipments)
