"""Inspecting a quarantined lot on the scanner app in a real headless
Chromium at 360×640 (A4, D4).

The demo parks a lot of natural yogurt in the quarantine bin Q-01-1-01 with
a pending inspection (inventory_qc's demo).  The demo inspector opens the
scanner's Inspect step, scans the quarantine bin, sees the ISO 2859-1
instruction, answers the checks (a weight that is not a number is refused
with its reason, nothing changed), enters the defective units and passes
the lot.  The server must then hold the inspection passed with its
measurements and an internal shipment releasing the lot to putaway.

Screenshots: tests/artifacts/qc-*.png.
"""
from playwright.sync_api import expect

from test_approval import rpc
from test_scanner import (
    count_answers, demo_server, message, open_scanner, sign_in, start_step,
    wedge_scan)

__all__ = ['demo_server']  # the fixture, imported for pytest

QUARANTINE_BIN = 'Q-01-1-01'


def shot(page, artifacts_dir, name):
    page.evaluate('() => document.activeElement?.blur()')
    page.screenshot(path=artifacts_dir / f'qc-{name}.png',
        animations='disabled')
    page.locator('#scan').focus()


def test_inspect_quarantined_lot(demo_server, chromium_page, artifacts_dir):
    page = chromium_page
    count_answers(page)
    open_scanner(page, demo_server, 'inspector', 'inspector')
    sign_in(page)
    # The inspector's steps: receiving is not hers, inspecting is
    steps = page.locator('#steps button.step').all_text_contents()
    assert 'Inspect' in steps and 'Receive' not in steps, steps
    start_step(page, 'inspect')

    # A bin without anything to inspect is refused
    wedge_scan(page, 'A-01-1-01')
    expect(message(page)).to_have_attribute('data-error', 'nothing')

    wedge_scan(page, QUARANTINE_BIN)
    expect(message(page)).to_have_text(
        'Inspect 13 units; accept if at most 0 defective.')
    expect(page.locator('#header')).to_contain_text('Natural Yogurt')
    expect(page.locator('#prompt')).to_have_text('Seal intact?')
    shot(page, artifacts_dir, 'instruction')

    wedge_scan(page, 'yes')
    expect(page.locator('#prompt')).to_have_text('Net weight (g)?')

    # A measurement that is not a number is refused, naming the check
    wedge_scan(page, 'heavy')
    expect(message(page)).to_have_attribute('data-error', 'refused')
    expect(message(page)).to_contain_text('is not a number')
    shot(page, artifacts_dir, 'refused')

    wedge_scan(page, '503 g')
    expect(page.locator('#prompt')).to_have_text(
        'Defective units in the sample of 13?')
    wedge_scan(page, '0')
    expect(page.locator('#prompt')).to_have_text('Decide: pass or fail.')
    expect(page.locator('#actions button.action[data-value="__pass__"]')) \
        .to_be_visible()
    shot(page, artifacts_dir, 'decide')

    before = page.evaluate('() => window.__answers || 0')
    page.locator('#actions button.action[data-value="__pass__"]').click()
    page.wait_for_function(
        '(n) => (window.__answers || 0) > n && '
        'document.getElementById("busy").hidden', arg=before)
    expect(message(page)).to_have_attribute('data-level', 'success')
    expect(message(page)).to_contain_text('passed, released to putaway')
    shot(page, artifacts_dir, 'passed')

    # The server holds the decision, the measurements and the release
    inspections = rpc(demo_server, 'manager', 'manager',
        'model.quality.inspection.search_read',
        # test_qc_partial.py decides other lots (partial, concession)
        [('location', '!=', None), ('decision', '=', 'pass')], 0, None, None,
        ['decision', 'points', 'release_shipment', 'decided_by'])
    assert len(inspections) == 1, inspections
    inspection, = inspections
    assert inspection['decision'] == 'pass', inspection
    assert inspection['points']['weight'] == 503.0, inspection
    assert inspection['points']['seal'] is True, inspection
    assert inspection['release_shipment'], inspection
