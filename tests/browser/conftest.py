"""Shared pytest hooks of the browser tests."""


def pytest_addoption(parser):
    parser.addoption(
        '--label-line', default=None,
        help="print a closing line 'LABEL: N passed, N failed, N skipped'")


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    label = config.getoption('--label-line')
    if not label:
        return
    stats = terminalreporter.stats
    passed = len(stats.get('passed', []))
    failed = len(stats.get('failed', [])) + len(stats.get('error', []))
    skipped = len(stats.get('skipped', []))
    terminalreporter.write_line(
        f"{label}: {passed} passed, {failed} failed, {skipped} skipped")


# ---------------------------------------------------------------------------
# Fixtures: a trytond server on its own SQLite database, and a fresh
# headless Chromium (Debian's, never a downloaded one) per test.
# ---------------------------------------------------------------------------
import shutil
import tempfile
import time
import warnings
from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parents[1] / 'artifacts'
CHROMIUM = '/usr/bin/chromium'
CHROMIUM_ARGS = [
    '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update',
    '--disable-sync']
VIEWPORT = {'width': 1280, 'height': 800}
# The machine may have two slow cores: be generous, never sleep.
TIMEOUT_MS = 60_000


@pytest.fixture(scope='session')
def artifacts_dir():
    "tests/artifacts/: screenshots and logs of the browser tests"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for stale in ARTIFACTS.glob('browser-FAILED-*'):
        stale.unlink()
    return ARTIFACTS


@pytest.fixture(scope='session')
def tryton_server(tmp_path_factory, artifacts_dir):
    """A trytond serving sao and the database of ``server.prepare_database``
    (the four modules and the demo data) on a free 127.0.0.1 port."""
    from server import ServerError, TrytonServer, prepare_database

    directory = tmp_path_factory.mktemp('tryton')

    def keep_logs():
        for name in ('prepare.log', 'trytond.log'):
            if (directory / name).exists():
                shutil.copy(directory / name,
                    artifacts_dir / f'browser-{name}')

    start = time.monotonic()
    try:
        database = prepare_database(directory)
    except ServerError as error:
        keep_logs()
        pytest.fail(f"could not prepare the browser-test database: {error}",
            pytrace=False)
    prepared = time.monotonic() - start
    if database.note:
        warnings.warn(database.note)
    server = TrytonServer(directory, database.name)
    try:
        server.start()
    except ServerError as error:
        keep_logs()
        pytest.fail(f"could not start trytond: {error}", pytrace=False)
    server.database = database
    print(f"\nbrowser: database from {database.source}"
        f"{' (cached)' if database.cached else ''} in {prepared:.0f}s, "
        f"trytond on {server.url}")
    try:
        yield server
    finally:
        server.stop()
        keep_logs()


@pytest.fixture(scope='session')
def playwright_sync():
    from playwright.sync_api import expect, sync_playwright
    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture
def new_chromium_page(playwright_sync, request, artifacts_dir):
    """Factory: a page of a new headless Chromium with a fresh profile
    (user-data-dir), so that each login is a separate browser.

    On failure every page is saved as tests/artifacts/
    browser-FAILED-<test>[-N].png with its browser console beside it."""
    opened = []

    def new_page():
        profile = tempfile.mkdtemp(prefix='chromium-profile.')
        context = playwright_sync.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, headless=True,
            args=CHROMIUM_ARGS, viewport=VIEWPORT, locale='en-US',
            timezone_id='UTC')
        context.set_default_timeout(TIMEOUT_MS)
        page = context.pages[0] if context.pages else context.new_page()
        console = []
        page.on('console', lambda m: console.append(f"{m.type}: {m.text}"))
        page.on('pageerror', lambda e: console.append(f"pageerror: {e}"))
        opened.append((profile, context, page, console))
        return page

    failed_before = request.session.testsfailed
    try:
        yield new_page
    finally:
        failed = request.session.testsfailed > failed_before
        name = request.node.name.replace('/', '_')
        for n, (profile, context, page, console) in enumerate(opened):
            if failed:
                stem = f'browser-FAILED-{name}' + (f'-{n + 1}' if n else '')
                try:
                    page.screenshot(
                        path=artifacts_dir / f'{stem}.png', full_page=True)
                except Exception as error:  # the page may be gone
                    console.append(f"(no failure screenshot: {error})")
                (artifacts_dir / f'{stem}.console.log').write_text(
                    '\n'.join(console) + '\n')
            context.close()
            shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def chromium_page(new_chromium_page):
    "A page of a headless Chromium with a fresh profile"
    return new_chromium_page()
