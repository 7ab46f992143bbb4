"""The pack station on the scanner app in a real headless Chromium at a
desk's size (1280×800) and at a handheld's (C4, C5, D4).

The demo has one order picked and waiting to be packed.  The demo operator
opens the Pack step, scans the order, scans an item of no order line first
(refused at once with the reason and the error sound, nothing packed),
then every unit of every line; the last unit asks for the weight of the
package, typed as a scale prints it; the order is packed.  The server then
holds the shipment packed in one package with an SSCC, the refused scan in
the pack events, and the page offers the carrier label, which opens as a
PDF.

Screenshots: tests/artifacts/pack-*.png.
"""
import base64
import re
import shutil
import subprocess
import urllib.request

import pytest
from playwright.sync_api import expect

from test_approval import rpc
from test_scanner import (
    PHONE, count_answers, demo_server, message, open_scanner, sign_in,
    start_step, wedge_scan)

__all__ = ['demo_server']  # the fixture, imported for pytest

DESK = {'width': 1280, 'height': 800}


def as_manager(server, method, *params):
    return rpc(server, 'manager', 'manager', method, *params)


def shot(page, artifacts_dir, name):
    page.evaluate('() => document.activeElement?.blur()')
    page.screenshot(path=artifacts_dir / f'pack-{name}.png',
        animations='disabled')
    page.locator('#scan').focus()


def order_to_pack(server):
    "The picked demo shipment: (shipment, [(gtin, lot, quantity)])"
    shipments = as_manager(server, 'model.stock.shipment.out.search_read',
        [('state', '=', 'picked')], 0, 1, [('id', 'ASC')],
        ['number', 'outgoing_moves'])
    assert shipments, "the demo has no picked order to pack"
    shipment, = shipments
    moves = as_manager(server, 'model.stock.move.read',
        shipment['outgoing_moves'],
        ['product.gtin', 'lot.number', 'quantity', 'state'])
    lines = [(m['product.']['gtin'], (m.get('lot.') or {}).get('number'),
            int(m['quantity'])) for m in moves if m['quantity']]
    assert lines and all(g for g, _, _ in lines), lines
    return shipment, lines


def document(server, login, kind, shipment_id):
    "The PDF of the pack station's document route, as login"
    request = urllib.request.Request(
        f'{server.url}{server.name}/scanner/document/{kind}/{shipment_id}',
        headers={'Authorization': 'Basic ' + base64.b64encode(
                f'{login}:{login}'.encode()).decode()})
    with urllib.request.urlopen(request, timeout=60) as response:
        assert response.headers['Content-Type'] == 'application/pdf'
        return response.read()


def item_scan(gtin, lot):
    gtin = gtin.zfill(14)
    return f'(01){gtin}(10){lot}' if lot else gtin


def other_gtin(server, lines):
    "The GTIN of a product of no line of the order"
    ours = {g.lstrip('0') for g, _, _ in lines}
    products = as_manager(server, 'model.product.product.search_read',
        [('type', '=', 'goods')], 0, 50, None, ['gtin'])
    return next(p['gtin'] for p in products
        if p['gtin'] and p['gtin'].lstrip('0') not in ours)


def test_pack_an_order_at_the_desk(demo_server, chromium_page, artifacts_dir):
    server = demo_server
    shipment, lines = order_to_pack(server)
    wrong = other_gtin(server, lines)

    page = chromium_page
    count_answers(page)
    open_scanner(page, server, 'operator', 'operator')
    page.set_viewport_size(DESK)
    sign_in(page)
    expect(page.locator('#steps button.step[data-step="pack"]')) \
        .to_have_text('Pack')
    start_step(page, 'pack')
    expect(page.locator('#prompt')).to_have_text(
        'Scan the tote or the order of a picked shipment')
    # the picked order is offered
    expect(page.locator(
            f'#actions button.action[data-value="{shipment["number"]}"]')) \
        .to_be_visible()

    wedge_scan(page, shipment['number'])
    expect(message(page)).to_have_attribute('data-level', 'success')
    expect(message(page)).to_contain_text('Packing')
    expect(page.locator('#prompt')).to_have_text(
        'Scan every item of the order')
    expect(page.locator('#lines li')).to_have_count(len(lines))
    expect(page.locator('#links a.document')).to_have_count(2)
    # at a desk the lines stand beside the scan field
    scan_box = page.locator('#scan').bounding_box()
    lines_box = page.locator('#lines').bounding_box()
    assert lines_box['x'] > scan_box['x'] + scan_box['width'] / 2, (
        scan_box, lines_box)

    # --- an item of no line is refused at once, nothing packed -------------
    wedge_scan(page, wrong)
    expect(message(page)).to_have_attribute('data-error', 'wrong_item')
    expect(message(page)).to_have_class('message error')
    expect(message(page)).to_contain_text('Wrong item')
    expect(message(page)).to_contain_text(shipment['number'])
    expect(page.locator('#lines li[data-status="match"]')).to_have_count(0)
    shot(page, artifacts_dir, 'wrong-item')

    # --- every unit of every line --------------------------------------------
    units = [(gtin, lot) for gtin, lot, quantity in lines
        for _ in range(quantity)]
    for gtin, lot in units[:-1]:
        wedge_scan(page, item_scan(gtin, lot))
        expect(message(page)).to_have_attribute('data-level', 'success')
    shot(page, artifacts_dir, 'scanning')
    wedge_scan(page, item_scan(*units[-1]))
    expect(page.locator('#lines li[data-status="match"]')) \
        .to_have_count(len(lines))
    expect(page.locator('#scan')).to_have_attribute('data-input', 'quantity')
    expect(page.locator('#prompt')).to_contain_text('Weigh package')

    # --- a scale's reading closes the package and packs the order ----------
    wedge_scan(page, 'ST,GS,+0001.40kg')
    expect(message(page)).to_have_attribute('data-level', 'success')
    expect(message(page)).to_contain_text('is packed')
    expect(page.locator('#links a.document')).to_have_count(2)
    shot(page, artifacts_dir, 'packed')

    # --- the server ----------------------------------------------------------
    state, = as_manager(server, 'model.stock.shipment.out.read',
        [shipment['id']], ['state'])
    assert state['state'] == 'packed', state
    packages = as_manager(server, 'model.stock.package.search_read',
        [('shipment', '=', f'stock.shipment.out,{shipment["id"]}')], 0, None,
        None, ['sscc', 'gross_weight', 'moves'])
    assert len(packages) == 1 and packages[0]['gross_weight'] == 1.4, packages
    assert len(packages[0]['sscc']) == 18, packages
    events = as_manager(server, 'model.stock.pack.event.search_read',
        [('shipment', '=', shipment['id'])], 0, None, None,
        ['result', 'code', 'user.login'])
    assert sorted(e['result'] for e in events) == sorted(
        ['ok'] * len(units) + ['refused', 'packed']), events
    refused, = [e for e in events if e['result'] == 'refused']
    assert refused['code'] == 'wrong_item'
    assert refused['user.']['login'] == 'operator'

    # --- the carrier label opens as a PDF ------------------------------------
    link = page.locator('#links a.document').nth(1)
    expect(link).to_have_text('Carrier labels')
    with page.context.expect_page() as popup:
        link.click()
    label = popup.value
    # a PDF viewer tab never fires "load" headless: the navigation is enough
    label.wait_for_url(re.compile(r'^blob:'), wait_until='commit')
    head = page.evaluate('''async (url) => {
        const bytes = new Uint8Array(await (await fetch(url)).arrayBuffer());
        return [String.fromCharCode(...bytes.slice(0, 4)), bytes.length];
        }''', label.url)
    assert head[0] == '%PDF' and head[1] > 1000, head
    label.close()

    # --- the label's barcode is the package's SSCC ---------------------------
    pdf = document(server, 'operator', 'carrier_label', shipment['id'])
    (artifacts_dir / 'pack-carrier-label.pdf').write_bytes(pdf)
    if shutil.which('pdftoppm'):
        subprocess.run(['pdftoppm', '-r', '100', '-png', '-singlefile',
                artifacts_dir / 'pack-carrier-label.pdf',
                artifacts_dir / 'pack-carrier-label'], check=True)
        zxingcpp = pytest.importorskip('zxingcpp')
        from PIL import Image
        subprocess.run(['pdftoppm', '-r', '200', '-png', '-singlefile',
                artifacts_dir / 'pack-carrier-label.pdf',
                artifacts_dir / 'pack-carrier-label-200'], check=True)
        with Image.open(artifacts_dir / 'pack-carrier-label-200.png') as image:
            codes = [r.text for r in zxingcpp.read_barcodes(image)]
        assert codes == ['(00)' + packages[0]['sscc']], codes

    # --- the same page on a handheld -----------------------------------------
    page.set_viewport_size(PHONE)
    page.locator('#home').click()
    start_step(page, 'pack')
    shot(page, artifacts_dir, 'phone')
