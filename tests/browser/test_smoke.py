"""Smoke test of the web client (sao) in a real headless Chromium.

The warehouse manager logs in, opens Inventory > Stock by Bin and sees bins
holding stock, then opens one of these bins under Warehouse Layout > Bins and
its related "Stock in Bin" list.  The operator does not get the "Generate
Rack Layout" menu entry, which is restricted to the manager group.

Screenshots: tests/artifacts/browser-*.png (and, when missing or with
UPDATE_README_IMG=1, docs/img/stock-by-bin.png for the README).
"""
import os
import re
from pathlib import Path

from playwright.sync_api import Page, expect

ROOT = Path(__file__).resolve().parents[2]
README_IMG = ROOT / 'docs' / 'img' / 'stock-by-bin.png'
# Bin codes of the layout generator: prefix-aisle-level-position, A-01-1-01
BIN_CODE = re.compile(r'\b[A-Z0-9]+-\d{2}-\d+-\d{2}\b')


# -- sao helpers -------------------------------------------------------------

def login(page: Page, server, user, password):
    "Log into sao through its two dialogs: database/user name, then password"
    page.goto(server.url)
    dialog = page.locator('.login-dialog')
    user_field = dialog.locator('input#login')
    expect(user_field, "sao's login dialog did not show").to_be_editable()
    # sao shows a read-only input when the server has one database, a
    # select when it lists several: wait until it has chosen
    database = dialog.locator(
        'input#database:visible, select#database:visible')
    expect(database, "the login dialog shows no database field") \
        .to_have_count(1)
    if database.evaluate('e => e.tagName') == 'SELECT':
        database.select_option(server.name)
    expect(database, "the login dialog proposes another database") \
        .to_have_value(server.name)
    user_field.fill(user)
    dialog.locator('button[type=submit]').click()
    ask = page.locator('.ask-dialog')
    password_field = ask.locator('input[name=password]')
    expect(password_field, f"sao did not ask the password of {user}") \
        .to_be_visible()
    password_field.fill(password)
    ask.locator('button.btn-primary').click()
    expect(page.locator('.login-dialog'),
        f"login as {user!r} was refused").to_be_hidden()
    expect(page.locator('#user-preferences'),
        f"sao shows no user after logging in as {user!r}") \
        .to_have_text(re.compile(r'\w'))
    expect(page.locator('#menu tbody tr').first,
        f"sao shows no menu to {user!r}").to_be_visible()


def menu_entry(page, title):
    return page.locator(f'#menu div.column-char[title="{title}"]')


def expand_menu(page, parent, child):
    """Expand the menu entry ``parent`` until ``child`` shows below it.

    sao restores the menu tree as the user left it last time, so the entry
    may be open already (or open while we click): click only while needed.
    """
    parent_entry = menu_entry(page, parent)
    expect(parent_entry, f"menu entry {parent!r} is missing").to_be_visible()
    child_entry = menu_entry(page, child)
    # A click that raced with the restore folds the entry: click again,
    # waiting longer each time in case the machine is just slow.
    for timeout in (20_000, 40_000, 60_000):
        if child_entry.is_visible():
            return
        page.locator('#menu tr').filter(has=page.locator(
                f'div.column-char[title="{parent}"]')) \
            .locator('.expander').click()
        try:
            expect(child_entry).to_be_visible(timeout=timeout)
            return
        except AssertionError:
            continue
    expect(child_entry, f"menu {parent!r} shows no entry {child!r}") \
        .to_be_visible(timeout=1)


def visible_children(page, parent):
    "Titles of the entries shown right below the expanded menu ``parent``"
    return page.evaluate("""(parent) => {
        const rows = [...document.querySelectorAll('#menu tbody tr')];
        const title = r => r.querySelector('div.column-char')?.title;
        const depth = r => parseFloat(
            r.querySelector('.expander img')?.style.marginLeft || '0');
        const i = rows.findIndex(r => title(r) === parent);
        if (i < 0) return null;
        const found = [];
        for (const row of rows.slice(i + 1)) {
            if (depth(row) <= depth(rows[i])) break;
            if (row.offsetParent !== null) found.push(title(row));
        }
        return found;
    }""", parent)


def open_tab(page, entry, title):
    "Open a menu entry and return the pane of the tab it opens"
    menu_entry(page, entry).click()
    pane = page.locator('#tabcontent .tab-pane.active')
    expect(pane.locator(f'.title[title="{title}"]'),
        f"menu entry {entry!r} did not open the tab {title!r}") \
        .to_be_visible()
    return pane


def list_rows(pane):
    return pane.locator('.treeview tbody tr:visible')


def column(pane, label):
    "The cells of the list column ``label`` in the active tab"
    return pane.locator(f'.treeview tbody tr:visible td[data-title="{label}: "]')


def read_rows(pane, *labels):
    """The text of the columns ``labels`` of every record row shown, read in
    one go (None where the column is hidden).  sao draws a long list 20 rows
    at a time; the row that loads more has no column and is skipped."""
    return list_rows(pane).evaluate_all("""(rows, labels) => rows
        .filter(row => row.querySelector('td[data-title]'))
        .map(row => labels.map(label => {
            const td = row.querySelector(`td[data-title="${label}: "]`);
            return td && td.offsetParent !== null
                ? td.innerText.trim() : null;
        }))""", list(labels))


def wait_for_rows(pane, what):
    rows = list_rows(pane)
    expect(rows.first, f"{what}: the list shows no row").to_be_visible()
    return rows


# -- tests -------------------------------------------------------------------

def test_manager_sees_stock_by_bin_and_bin_stock(
        tryton_server, chromium_page, artifacts_dir):
    page = chromium_page
    login(page, tryton_server, 'manager', 'manager')
    expand_menu(page, 'Inventory', 'Stock by Bin')
    expand_menu(page, 'Warehouse Layout', 'Bins')
    page.screenshot(path=artifacts_dir / 'browser-manager-menu.png')

    # Inventory > Stock by Bin: rows of bins holding stock
    pane = open_tab(page, 'Stock by Bin', 'Inventory / Stock by Bin')
    wait_for_rows(pane, "Stock by Bin")
    expect(column(pane, 'Bin').first,
        "Stock by Bin shows no bin code like A-01-1-01").to_have_text(BIN_CODE)
    rows = read_rows(pane, 'Bin', 'Zone', 'Product', 'Quantity')
    stock = [(BIN_CODE.search(b or ''), z, p, _number(q))
        for b, z, p, q in rows]
    assert all(code for code, *_ in stock), (
        f"rows of Stock by Bin without a bin code: {rows}")
    assert all(quantity > 0 for *_, quantity in stock), (
        f"Stock by Bin should list only bins holding stock: {rows}")
    # A bin of the zone the Bins list opens on (its first domain tab)
    picks = [code.group(0) for code, zone, *_ in stock if zone == 'Pick Face']
    assert picks, f"Stock by Bin shows no stock in a Pick Face bin: {rows}"
    code = picks[0]
    page.screenshot(path=artifacts_dir / 'browser-stock-by-bin.png')
    readme_screenshot(page, pane, artifacts_dir)

    # Warehouse Layout > Bins: find that bin, open it, relate Stock in Bin
    pane = open_tab(page, 'Bins', 'Inventory / Warehouse Layout / Bins')
    expect(pane.locator('.nav-tabs li.active'),
        "Bins does not open on its 'Pick Face' tab").to_contain_text(
        'Pick Face')
    wait_for_rows(pane, "Bins")
    # Pick the row out of the list as it opens rather than searching or
    # changing tabs: sao 8.0 opens a duplicate tab when a record is opened
    # right after a search (see tabs_open below), and a row clicked while
    # the list reloads loses its selection.
    row = list_rows(pane).filter(has=page.locator(
            f'td[data-title="Code: "] [title="{code}"]'))
    expect(row, f"Bins (Pick Face) does not list bin {code}") \
        .to_have_count(1)
    tabs_open = page.locator('#tablist > li').count()
    # Select the row, then switch to the form: a double-click is two clicks
    # that toggle the selection, and sao may then switch without a record.
    row.locator('td[data-title="Code: "]').click()
    expect(row.locator('td.selection-state input'),
        f"Bins: clicking bin {code} does not select it").to_be_checked()
    pane.locator('button#switch_').click()
    form = pane.locator('.form')
    expect(form, f"bin {code} did not open in a form").to_be_visible()
    expect(form.locator('input[name="code"]'),
        f"the form does not show bin {code}").to_have_value(code)
    expect(page.locator('#tablist > li'),
        "opening the bin opened another tab").to_have_count(tabs_open)
    page.screenshot(path=artifacts_dir / 'browser-bin-form.png')

    relate = pane.locator('button#relate')
    expect(relate, "the relate button of the bin form stays disabled") \
        .to_be_enabled()
    relate.click()
    entry = pane.locator('ul[aria-labelledby="relate"] a',
        has_text='Stock in Bin')
    expect(entry, "the bin form has no relate action 'Stock in Bin'") \
        .to_be_visible()
    entry.click()

    pane = page.locator('#tabcontent .tab-pane.active')
    title = pane.locator('.title[title^="Stock in Bin"]')
    expect(title, "'Stock in Bin' did not open its tab").to_be_visible()
    expect(title, "the 'Stock in Bin' tab does not name the bin") \
        .to_have_attribute('title', re.compile(re.escape(code)))
    wait_for_rows(pane, f"Stock in Bin of {code}")
    # sao hides the Bin column when the domain fixes it to this one bin
    rows = read_rows(pane, 'Bin', 'Product', 'Quantity')
    others = [b for b, *_ in rows if b is not None and code not in b]
    assert not others, f"Stock in Bin of {code} lists other bins: {others}"
    shown = sorted((p, _number(q)) for _, p, q in rows)
    expected = sorted((p, q) for c, _, p, q in stock if c.group(0) == code)
    assert shown == expected, (
        f"Stock in Bin of {code} shows {shown}, Stock by Bin showed "
        f"{expected} for it")
    page.screenshot(path=artifacts_dir / 'browser-bin-stock.png')


def test_generate_rack_layout_menu_only_for_manager(
        tryton_server, chromium_page, new_chromium_page, artifacts_dir):
    page = chromium_page
    login(page, tryton_server, 'operator', 'operator')
    expand_menu(page, 'Inventory', 'Warehouse Layout')
    expand_menu(page, 'Warehouse Layout', 'Bins')
    children = visible_children(page, 'Warehouse Layout')
    page.screenshot(path=artifacts_dir / 'browser-operator-menu.png')
    assert children is not None and 'Bins' in children, (
        f"operator: Warehouse Layout shows {children}")
    assert 'Generate Rack Layout' not in children, (
        "the operator sees 'Generate Rack Layout', which is restricted to "
        "the Inventory Warehouse Manager group")
    expect(menu_entry(page, 'Generate Rack Layout')).to_have_count(0)

    # The manager, in a browser of their own, does see it
    page = new_chromium_page()
    login(page, tryton_server, 'manager', 'manager')
    expand_menu(page, 'Inventory', 'Warehouse Layout')
    expand_menu(page, 'Warehouse Layout', 'Generate Rack Layout')
    children = visible_children(page, 'Warehouse Layout')
    assert 'Generate Rack Layout' in children, (
        f"manager: Warehouse Layout shows {children}")


def readme_screenshot(page, pane, artifacts_dir):
    """The Stock by Bin list at 1280x800 with the side menu folded away, for
    the README; docs/img/ is only rewritten when asked (UPDATE_README_IMG=1)
    or when the image is missing, so that a test run leaves git clean."""
    page.locator('a.navbar-brand[data-toggle="menu"]').click()
    expect(page.locator('#menu')).to_be_hidden()
    expect(column(pane, 'Quantity').first).to_be_visible()
    # no focus ring on the button just clicked, no hover highlight
    page.evaluate('() => document.activeElement?.blur()')
    page.mouse.move(1279, 799)
    shot = artifacts_dir / 'browser-readme-stock-by-bin.png'
    page.screenshot(path=shot)
    if os.environ.get('UPDATE_README_IMG') == '1' or not README_IMG.exists():
        README_IMG.parent.mkdir(parents=True, exist_ok=True)
        README_IMG.write_bytes(shot.read_bytes())
    page.locator('a.navbar-brand[data-toggle="menu"]').click()
    expect(page.locator('#menu')).to_be_visible()


def _number(text):
    "Parse a quantity as sao shows it in English: 1,234.5"
    try:
        return float(re.sub(r'[^\d.\-]', '', text or ''))
    except ValueError:
        return 0.0
