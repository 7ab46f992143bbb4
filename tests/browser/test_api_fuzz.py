"""Fuzz the order API against its OpenAPI contract with schemathesis (C1).

A trytond of its own serves a fresh copy of the demo database (so that the
orders the fuzzer creates don't disturb the browser tests), and
``schemathesis run docs/api/openapi.yaml`` calls it with the demo
integration key: explicit examples, the coverage phase (boundary and
invalid values of every field and header) and random fuzzing.  Every
response must be a documented, schema-conformant answer and never a 5xx.
"""
import datetime as dt
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from server import VENV_BIN, ROOT, TrytonServer, prepare_database

API_KEY = 'demo-inventory-api-key'   # scripts/demo.py, user "integration"
SCHEMA = ROOT / 'docs' / 'api' / 'openapi.yaml'
CONFIG = Path(__file__).with_name('schemathesis.toml')
CHECKS = ','.join([
    'not_a_server_error',
    'status_code_conformance',
    'content_type_conformance',
    'response_schema_conformance',
    'negative_data_rejection',
    'missing_required_header',
    'ignored_auth',
    ])


@pytest.fixture(scope='module')
def api_server(tryton_server, tmp_path_factory):
    "A second trytond on a copy of the prepared (demo) database"
    if tryton_server.database.source != 'scripts/demo.py':
        pytest.fail("the API fuzz needs the demo data (its API key)")
    directory = tmp_path_factory.mktemp('fuzz')
    database = prepare_database(directory)
    server = TrytonServer(directory, database.name)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def fuzz_config(directory):
    """tests/browser/schemathesis.toml plus requested ship dates of the
    coming weeks (a valid date depends on the day the test runs)"""
    today = dt.date.today()
    dates = ', '.join(
        f'"{today + dt.timedelta(days=d)}"' for d in range(0, 60, 7))
    config = directory / 'schemathesis.toml'
    config.write_text(CONFIG.read_text() + (
        f'\n[dictionaries.ship-dates]\nvalues = [{dates}]\n'
        '\n[parameters."body.requested_ship_date"]\n'
        'dictionary = "ship-dates"\nprobability = 0.7\n'))
    return config


def test_order_api_fuzz(api_server, artifacts_dir, tmp_path):
    "schemathesis finds no 5xx and no answer outside the contract"
    junit = artifacts_dir / 'api-fuzz.xml'
    log = artifacts_dir / 'api-fuzz.log'
    base = f'{api_server.url}{api_server.name}/inventory/api/v1'
    command = [
        str(VENV_BIN / 'st'), '--config-file', str(fuzz_config(tmp_path)),
        'run', str(SCHEMA),
        '--url', base,
        '-H', f'Authorization: Bearer {API_KEY}',
        '--checks', CHECKS,
        '--phases', 'examples,coverage,fuzzing,stateful',
        '--max-examples', '40',
        '--workers', '1',
        '--seed', '20261126',
        '--request-timeout', '30',
        '--report', 'junit,har', '--report-junit-path', str(junit),
        '--report-har-path', str(artifacts_dir / 'api-fuzz.har'),
        '--generation-database', 'none',
        '--no-color',
        ]
    result = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=900)
    log.write_text(result.stdout + result.stderr)
    assert result.returncode == 0, (
        f"schemathesis found problems (see {log}):\n"
        + result.stdout[-6000:])
    # the run must have exercised every operation of the contract
    cases = ET.parse(junit).getroot().iter('testcase')
    names = {case.get('name') for case in cases}
    for operation in ('POST /orders', 'GET /orders/{id}', 'GET /stock'):
        assert any(operation in name for name in names), (operation, names)
    shutil.copy(api_server.log, artifacts_dir / 'api-fuzz-trytond.log')
