"""Partial and concession decisions on the scanner's Inspect step, in a
real headless Chromium at 360×640 (A4, D4; issue 6).

Two more lots of the demo's natural yogurt are parked in quarantine with
their pending inspections (``inventory_qc.demo_qc.quarantine_lot``, run
against the test database).  The inspector answers the checks of the first
one and decides *partial*: the quantity to reject is typed (the whole lot is
refused with its reason), 4 units go to the rejection bin and a supplier
return, the rest to putaway.  She is not offered a concession, and the
server refuses one she would send all the same.  The warehouse manager
then releases the second lot by concession: an empty comment is refused,
the deviation typed is kept.  The server must hold both decisions, the
split quantities and the comment, and the lot trace shows them.

Screenshots: tests/artifacts/qc-partial-*.png.
"""
import json
import subprocess
import urllib.request

from playwright.sync_api import expect

from server import CONFIG, PYTHON, ROOT, _environ
from test_approval import rpc
from test_scanner import (
    count_answers, demo_server, message, open_scanner, sign_in, start_step,
    wedge_scan)

__all__ = ['demo_server']  # the fixture, imported for pytest

PARK = r'''
import sys
from trytond import config
config.update_etc(sys.argv[1:3])
from trytond.pool import Pool
from trytond.transaction import Transaction
database = sys.argv[3]
pool = Pool(database)
with Transaction().start(database, 0, readonly=True):
    pool.init()
from trytond.modules.inventory_qc.demo_qc import quarantine_lot
from trytond.transaction import TransactionError
extras = {}
while True:
    # the receipt posts to the books: the accounting configuration asks for
    # its lock, which trytond takes by restarting the transaction
    with Transaction().start(database, 0, **extras) as transaction:
        try:
            for argument in sys.argv[4:]:
                number, quantity = argument.split('=')
                quarantine_lot(number, float(quantity))
            transaction.commit()
            break
        except TransactionError as error:
            transaction.rollback()
            error.fix(extras)
'''
LOTS = {'QCP-PARTIAL': 24, 'QCP-CONCESSION': 30}


def park(server):
    "Park the two lots in quarantine in the server's database"
    subprocess.run([str(PYTHON), '-c', PARK, str(CONFIG),
            str(server.directory / 'local.conf'), server.name]
        + [f'{n}={q}' for n, q in LOTS.items()],
        cwd=ROOT, env=_environ(), check=True, timeout=300,
        capture_output=True)


def shot(page, artifacts_dir, name):
    page.evaluate('() => document.activeElement?.blur()')
    page.screenshot(path=artifacts_dir / f'qc-partial-{name}.png',
        animations='disabled')
    page.locator('#scan').focus()


def click(page, value):
    "Click an action button of the screen and wait for the answer"
    before = page.evaluate('() => window.__answers || 0')
    page.locator(f'#actions button.action[data-value="{value}"]').click()
    page.wait_for_function(
        '(n) => (window.__answers || 0) > n && '
        'document.getElementById("busy").hidden', arg=before)


def answer_checks(page, lot):
    wedge_scan(page, lot)
    expect(page.locator('#header')).to_contain_text(lot)
    expect(page.locator('#prompt')).to_have_text('Seal intact?')
    wedge_scan(page, 'yes')
    wedge_scan(page, '501 g')
    expect(page.locator('#prompt')).to_contain_text('Defective units')
    wedge_scan(page, '2')
    expect(page.locator('#prompt')).to_have_text('Decide: pass or fail.')


def scanner_post(server, login, password, body):
    "A raw call of the scanner's step route, as a modified client would"
    user_id, session, *_ = _login(server, login, password)
    import base64
    token = base64.b64encode(
        f'{login}:{user_id}:{session}'.encode()).decode()
    request = urllib.request.Request(
        f'{server.url}{server.name}/scanner/step',
        data=json.dumps(body).encode(), method='POST',
        headers={'Content-Type': 'application/json',
            'Authorization': f'Session {token}'})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def _login(server, login, password):
    request = urllib.request.Request(f'{server.url}{server.name}/rpc/',
        data=json.dumps({'id': 1, 'method': 'common.db.login',
                'params': [login, {'password': password}, 'en']}).encode(),
        headers={'Content-Type': 'application/json'})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.load(response)['result']


def inspection_of(server, lot):
    inspection, = rpc(server, 'manager', 'manager',
        'model.quality.inspection.search_read',
        [('lot.number', '=', lot)], 0, None, None,
        ['state', 'decision', 'decided_by', 'decision_comment',
            'defective_quantity', 'release_shipment', 'return_shipment'])
    return inspection


def test_partial_then_concession(demo_server, chromium_page, artifacts_dir):
    server = demo_server
    park(server)
    page = chromium_page
    count_answers(page)

    # --- partial, by the inspector -------------------------------------------
    open_scanner(page, server, 'inspector', 'inspector')
    sign_in(page)
    start_step(page, 'inspect')
    answer_checks(page, 'QCP-PARTIAL')
    actions = page.locator('#actions button.action')
    expect(actions).to_have_count(4)     # pass, fail, partial, cancel
    expect(page.locator(
        '#actions button.action[data-value="__concession__"]')) \
        .to_have_count(0)
    shot(page, artifacts_dir, 'decide')

    # A concession sent all the same is refused by the server
    inspection = inspection_of(server, 'QCP-PARTIAL')
    status, answer = scanner_post(server, 'inspector', 'inspector', {
            'step': 'inspect', 'scan': '__concession__',
            'state': {'inspection': inspection['id'], 'ask': '__decide__'},
            'key': 'qc-partial-concession-refused'})
    assert status == 403, (status, answer)
    assert 'QC lead or warehouse manager' in json.dumps(answer), answer

    click(page, '__partial__')
    expect(page.locator('#prompt')).to_have_text(
        "Quantity to reject of the lot's 24 u?")
    expect(page.locator('#scan')).to_have_attribute('inputmode', 'decimal')
    # The whole lot is not a partial: refused, naming why
    wedge_scan(page, '24')
    expect(message(page)).to_have_attribute('data-error', 'refused')
    expect(message(page)).to_contain_text('less than the lot')
    shot(page, artifacts_dir, 'refused')
    wedge_scan(page, '4')
    expect(message(page)).to_have_attribute('data-level', 'success')
    expect(message(page)).to_contain_text(
        'partially passed: 4 u rejected for return to the supplier, '
        '20 u released to putaway')
    shot(page, artifacts_dir, 'done')

    inspection = inspection_of(server, 'QCP-PARTIAL')
    assert (inspection['state'], inspection['decision']) == (
        'partial', 'partial'), inspection
    assert inspection['defective_quantity'] == 4, inspection
    assert inspection['release_shipment'] and inspection['return_shipment']
    moves = rpc(server, 'manager', 'manager', 'model.stock.move.search_read',
        [('shipment', 'in', [
                    f"stock.shipment.in.return,{inspection['return_shipment']}",
                    f"stock.shipment.internal,"
                    f"{inspection['release_shipment']}"])],
        0, None, None, ['quantity', 'shipment'])
    split = sorted((m['shipment'].split(',')[0], m['quantity']) for m in moves)
    assert split == [('stock.shipment.in.return', 4.0),
        ('stock.shipment.internal', 20.0)], split

    # --- concession, by the warehouse manager --------------------------------
    page.locator('#logout').click()
    open_scanner(page, server, 'manager', 'manager')
    sign_in(page)
    start_step(page, 'inspect')
    answer_checks(page, 'QCP-CONCESSION')
    click(page, '__concession__')
    expect(page.locator('#prompt')).to_have_text(
        'Concession: describe the deviation accepted.')
    # An empty comment is refused
    wedge_scan(page, ' ')
    expect(message(page)).to_have_attribute('data-error', 'refused')
    expect(message(page)).to_contain_text('needs a comment')
    wedge_scan(page, 'Label misprint, content conforming')
    expect(message(page)).to_have_attribute('data-level', 'success')
    expect(message(page)).to_contain_text('released by concession')
    shot(page, artifacts_dir, 'concession')

    inspection = inspection_of(server, 'QCP-CONCESSION')
    assert inspection['decision'] == 'concession', inspection
    assert inspection['decision_comment'] == (
        'Label misprint, content conforming'), inspection
    assert inspection['release_shipment'], inspection
    assert not inspection['return_shipment'], inspection
