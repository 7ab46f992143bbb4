"""The scanner app in a real headless Chromium at 360×640, driven as a
keyboard-wedge scanner drives it: characters typed into the focused scan
field, then Enter (A3, A5, D4).

The demo operator receives the announced shipment DEMO-DN-1 (one GS1-128
scan with the GS character carrying GTIN, expiry, lot and quantity; one bare
GTIN and a typed quantity; one line left short), finishes the receipt, then
puts the lot away: a quarantine bin is refused with its reason, the
recommended bin is accepted.  A Chinese-speaking operator reads the page in
Chinese.  The camera cannot be tested headless (no camera device); its
decoder files are checked by the route test of the module.

Screenshots: tests/artifacts/scanner-*.png; docs/img/scanner-receive.png for
the README when missing or with UPDATE_README_IMG=1.
"""
import datetime as dt
import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

ROOT = Path(__file__).resolve().parents[2]
README_IMG = ROOT / 'docs' / 'img' / 'scanner-receive.png'
PHONE = {'width': 360, 'height': 640}
GS = '\x1d'


def gtin13(number):
    "GTIN-13 of a 12-digit number (as addons/inventory_flow/demo.py)"
    digits = f'{number:012d}'
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(digits))
    return digits + str((10 - total % 10) % 10)


# The demo catalogue: DEMO-0001 mineral water, DEMO-0002 sparkling water,
# DEMO-0003 orange juice (lot-tracked, 120 days shelf life); DEMO-DN-1
# expects 48, 96 and 144 of them.
WATER = gtin13(590123400001)
ORANGE_JUICE = gtin13(590123400003)


@pytest.fixture
def demo_server(tryton_server):
    if tryton_server.database.source != 'scripts/demo.py':
        pytest.fail("the scanner test needs the demo data of scripts/demo.py "
            f"(DEMO-DN-1): {tryton_server.database.note}", pytrace=False)
    return tryton_server


def open_scanner(page: Page, server, user, password):
    page.set_viewport_size(PHONE)
    # The finish action asks "Finish receipt?": the operator says yes
    page.on('dialog', lambda dialog: dialog.accept())
    page.goto(f'{server.url}{server.name}/scanner/')
    expect(page.locator('#login-user'), "the scanner shows no login form") \
        .to_be_visible()
    page.locator('#login-user').fill(user)
    page.locator('#login-password').fill(password)


def sign_in(page):
    page.locator('#login-submit').click()
    expect(page.locator('#steps'), "the login was refused").to_be_visible()


def start_step(page, name):
    page.locator(f'#steps button.step[data-step="{name}"]').click()
    expect(page.locator('#screen')).to_be_visible()
    expect(page.locator('#screen')).to_have_attribute('data-step', name)


def wedge_scan(page, text):
    """Type text into the focused field and press Enter, as a wedge scanner
    does (it does not click anything first); wait for the answer"""
    expect(page.locator('#scan'), "the scan field lost the focus") \
        .to_be_focused()
    before = page.evaluate('() => window.__answers || 0')
    page.keyboard.type(text)
    page.keyboard.press('Enter')
    page.wait_for_function(
        '(n) => (window.__answers || 0) > n && '
        'document.getElementById("busy").hidden', arg=before)


def message(page):
    return page.locator('#message')


def lines(page):
    "[(name, quantities, status)] of the lines shown"
    return page.locator('#lines li').evaluate_all("""items => items.map(li => [
        li.querySelector('.name').textContent,
        li.querySelector('.quantities')?.textContent || null,
        li.dataset.status])""")


def shot(page, artifacts_dir, name):
    # no caret blinking into the picture
    page.evaluate('() => document.activeElement?.blur()')
    path = artifacts_dir / f'scanner-{name}.png'
    # the green/red flash of the answer is finished, not half-way
    page.screenshot(path=path, animations='disabled')
    page.locator('#scan').focus()
    return path


def count_answers(page):
    "Count the server's answers in window.__answers (the page is not changed)"
    page.add_init_script("""(() => {
        const fetch = window.fetch;
        window.fetch = async (...args) => {
            try { return await fetch(...args); }
            finally { setTimeout(() => {
                window.__answers = (window.__answers || 0) + 1; }, 0); }
        };
    })()""")


def test_receive_with_variance_then_put_away(
        demo_server, chromium_page, artifacts_dir):
    page = chromium_page
    count_answers(page)
    open_scanner(page, demo_server, 'operator', 'operator')
    page.screenshot(path=artifacts_dir / 'scanner-login.png')
    sign_in(page)
    expect(page.locator('#user')).to_have_text('Olivia Operator')
    # Move: internal moves (tests/browser/test_move.py); Pick and Pack: the
    # steps of inventory_wave (tests/browser/test_pick.py, test_pack.py);
    # Count: cycle counts (tests/browser/test_count.py)
    expect(page.locator('#steps button.step')).to_have_text(
        ['Receive', 'Put Away', 'Move', 'Pick', 'Pack', 'Count'])
    shot(page, artifacts_dir, 'steps')

    # --- receive (A3) --------------------------------------------------------
    start_step(page, 'receive')
    expect(page.locator('#prompt')).to_have_text(
        'Scan a PO number, a delivery note or an item')
    wedge_scan(page, 'DEMO-DN-1')
    expect(message(page)).to_have_attribute('data-level', 'success')
    expect(page.locator('#header')).to_contain_text('Northwind Beverages')
    assert [status for *_, status in lines(page)] == ['short'] * 3, \
        lines(page)

    # One GS1-128 label: AIM prefix ]C1, GTIN (01), expiry (17), lot (10)
    # ended by the GS character, quantity (30)
    expiry = dt.date.today() + dt.timedelta(days=100)
    wedge_scan(page, ']C101' + ORANGE_JUICE.zfill(14)
        + '17' + expiry.strftime('%y%m%d') + '10BRW-OJ-1' + GS + '30144')
    expect(message(page)).to_have_attribute('data-level', 'success')
    expect(message(page)).to_contain_text('144')
    expect(message(page)).to_contain_text('Orange Juice 1 L')

    # A bad scan is refused with its reason and changes nothing
    wedge_scan(page, WATER[:-1] + str((int(WATER[-1]) + 1) % 10))
    expect(message(page)).to_have_attribute('data-error', 'check_digit')
    expect(message(page)).to_contain_text('check digit')
    shot(page, artifacts_dir, 'receive-bad-check-digit')

    # A bare GTIN asks for the quantity, typed on the keypad: 40 of 48
    wedge_scan(page, WATER)
    expect(page.locator('#scan')).to_have_attribute('data-input', 'quantity')
    expect(page.locator('#prompt')).to_contain_text('Mineral Water')
    wedge_scan(page, 'abc')
    expect(message(page)).to_have_attribute(
        'data-error', 'quantity_not_numeric')
    wedge_scan(page, '40')
    expect(message(page)).to_contain_text('Short')
    shown = {name: (quantities.replace('\xa0', ' '), status)
        for name, quantities, status in lines(page)}
    assert shown == {
        '[DEMO-0001] Mineral Water Still 1.5 L': ('40 u / 48 u', 'short'),
        '[DEMO-0002] Sparkling Water 1 L': ('0 u / 96 u', 'short'),
        '[DEMO-0003] Orange Juice 1 L': ('144 u / 144 u', 'match'),
        }, shown
    path = shot(page, artifacts_dir, 'receive')
    if os.environ.get('UPDATE_README_IMG') == '1' or not README_IMG.exists():
        README_IMG.parent.mkdir(parents=True, exist_ok=True)
        README_IMG.write_bytes(path.read_bytes())

    # Finish: the short lines stay on order as a back-order
    page.locator('#actions button.action[data-value="__finish__"]').click()
    expect(message(page)).to_contain_text('received')
    expect(message(page)).to_have_attribute('data-level', 'success')
    expect(page.locator('#lines li')).to_have_count(0)
    shot(page, artifacts_dir, 'receive-finished')

    # --- put away (A5) ---------------------------------------------------------
    page.locator('#home').click()
    start_step(page, 'putaway')
    wedge_scan(page, '01' + ORANGE_JUICE.zfill(14) + '10BRW-OJ-1')
    recommended = page.locator('#lines li[data-status="recommended"] .name')
    expect(recommended.first).to_have_text(re.compile(r'^A-\d{2}-\d-\d{2}$'))
    bin_code = recommended.first.text_content()
    expect(page.locator('#prompt')).to_contain_text(bin_code)
    expect(page.locator('#header')).to_contain_text('BRW-OJ-1')

    # The quarantine bin is refused, naming why
    wedge_scan(page, 'Q-01-1-01')
    expect(message(page)).to_have_attribute('data-error', 'refused')
    expect(message(page)).to_contain_text('quarantine')
    shot(page, artifacts_dir, 'putaway-refused')

    # The recommended bin is accepted: the stock is there at once
    wedge_scan(page, bin_code)
    expect(message(page)).to_have_attribute('data-level', 'success')
    expect(message(page)).to_contain_text(f'put away in {bin_code}')
    shot(page, artifacts_dir, 'putaway-done')
    # Nothing of that lot is left to put away
    wedge_scan(page, '01' + ORANGE_JUICE.zfill(14) + '10BRW-OJ-1')
    expect(message(page)).to_have_attribute('data-error', 'nothing')


def test_scanner_speaks_chinese(demo_server, chromium_page, artifacts_dir):
    "The demo operator Li Wei works in zh_CN: the page answers in Chinese"
    page = chromium_page
    count_answers(page)
    open_scanner(page, demo_server, 'operator_zh', 'operator_zh')
    sign_in(page)
    expect(page.locator('#steps button.step')).to_have_text(
        ['收货', '上架', '移库', '拣货', '包装', '盘点'])
    expect(page.locator('html')).to_have_attribute('lang', 'zh-CN')
    start_step(page, 'receive')
    expect(page.locator('#prompt')).to_have_text('请扫描采购单号、送货单或物品')
    wedge_scan(page, '4006381333938')
    expect(message(page)).to_have_attribute('data-error', 'check_digit')
    expect(message(page)).to_contain_text('校验位错误')
    wedge_scan(page, 'NO-SUCH-PO')
    expect(message(page)).to_have_attribute('data-error', 'unknown')
    assert re.search(r'[\u4e00-\u9fff]', message(page).text_content()), \
        message(page).text_content()
    expect(page.locator('#camera')).to_have_attribute('title', '用相机扫描')
    shot(page, artifacts_dir, 'zh_CN')
