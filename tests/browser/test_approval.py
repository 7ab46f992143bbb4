"""Approving a purchase from a phone (A2, D4): the demo approver opens the
purchase waiting for them in the web client at 390×844 and approves it with
a comment through the "Approve or Reject" button.

Screenshots: tests/artifacts/browser-approval-*.png and, when missing or with
UPDATE_README_IMG=1, docs/img/approval-phone.png.
"""
import base64
import json
import os
import shutil
import urllib.request
from pathlib import Path

from playwright.sync_api import expect

from test_smoke import login

ROOT = Path(__file__).resolve().parents[2]
README_IMG = ROOT / 'docs' / 'img' / 'approval-phone.png'
PHONE = {'width': 390, 'height': 844}


def rpc(server, login_, password, method, *params):
    "A JSON-RPC call to the test server as the given user"
    url = f'{server.url}{server.name}/rpc/'

    def call(method, params, auth=None):
        request = urllib.request.Request(url, data=json.dumps({
                    'id': 1, 'method': method, 'params': params,
                    }).encode(), headers={'Content-Type': 'application/json'})
        if auth:
            request.add_header('Authorization', auth)
        with urllib.request.urlopen(request, timeout=60) as response:
            answer = json.load(response)
        assert 'error' not in answer or not answer['error'], answer
        return answer['result']
    user_id, session, *_ = call('common.db.login',
        [login_, {'password': password}, 'en'])
    token = base64.b64encode(
        f'{login_}:{user_id}:{session}'.encode()).decode()
    return call(method, list(params) + [{}], f'Session {token}')


def test_approver_approves_on_a_phone(
        tryton_server, chromium_page, artifacts_dir):
    server = tryton_server
    pending = rpc(server, 'approver', 'approver',
        'model.purchase.purchase.search',
        [('approval_state', '=', 'pending')], 0, None, None)
    assert pending, "the demo data has no purchase waiting for approval"
    purchase_id = pending[0]

    page = chromium_page
    login(page, server, 'approver', 'approver')
    page.set_viewport_size(PHONE)
    page.evaluate(
        "url => { window.location.hash = url; }",
        f'{server.name}/model/purchase.purchase/{purchase_id}')
    pane = page.locator('#tabcontent .tab-pane.active')
    form = pane.locator('.form')
    expect(form, "the purchase did not open in a form").to_be_visible()
    button = form.locator('button[name="approval_decide"]')
    expect(button, "no 'Approve or Reject' button for the approver") \
        .to_be_visible()
    # the button fits in the phone's width
    box = button.bounding_box()
    assert box and box['x'] >= 0 and box['x'] + box['width'] <= PHONE['width'], (
        f"the button is off screen at 390 px: {box}")
    page.screenshot(path=artifacts_dir / 'browser-approval-purchase.png')

    button.click()
    dialog = page.locator('.modal-dialog:visible').last
    comment = dialog.locator('textarea[name="comment"]')
    expect(comment, "the decision dialog asks no comment").to_be_visible()
    comment.fill("OK from my phone")
    page.screenshot(path=artifacts_dir / 'browser-approval-dialog.png')
    if os.environ.get('UPDATE_README_IMG') or not README_IMG.exists():
        README_IMG.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(artifacts_dir / 'browser-approval-dialog.png', README_IMG)
    dialog.locator('button', has_text='Approve').last.click()
    expect(page.locator('.modal-dialog:visible'),
        "the decision dialog did not close").to_have_count(0)

    # the server recorded the decision; the purchase may now be confirmed
    state, = rpc(server, 'approver', 'approver',
        'model.purchase.purchase.read', [purchase_id], ['approval_state'])
    assert state['approval_state'] == 'approved', state
    trail = rpc(server, 'approver', 'approver',
        'model.purchase.approval.trail.search_read',
        [('purchase', '=', purchase_id), ('action', '=', 'approve')],
        0, None, None, ['comment', 'user.login'])
    assert [(t['comment'], t['user.']['login']) for t in trail] == [
        ("OK from my phone", 'approver')], trail
    page.screenshot(path=artifacts_dir / 'browser-approval-done.png')
