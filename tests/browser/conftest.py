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
