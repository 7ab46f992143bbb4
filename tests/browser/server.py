"""Start a trytond server on a prepared SQLite database for the browser tests.

The database is built the way ``scripts/serve.sh`` builds the demo one:
``trytond-admin --all`` with the four modules, then ``scripts/demo.py`` for
the demo data (users ``manager``, ``operator``… with password = login, a
warehouse with bins holding stock).  When ``scripts/demo.py`` is missing or
fails, a minimal data set is loaded instead by this very file (see
:func:`fallback_setup`), so that the browser tests still exercise the web
client; the reason is reported as a warning.

The prepared SQLite file is cached under ``.cache/browser/`` keyed by a hash
of ``addons/``, ``scripts/demo.py`` and this file, so that a repeated run
skips the install and the demo data (1-2 minutes on a small machine).

Used by ``conftest.py``::

    db = prepare_database(tmp_dir)
    with TrytonServer(tmp_dir, db.name) as server:
        page.goto(server.url)

Run on its own to serve the browser-test database by hand::

    .venv/bin/python tests/browser/server.py serve [PORT]
"""
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = ROOT / '.venv' / 'bin'
PYTHON = VENV_BIN / 'python'
CONFIG = ROOT / 'config' / 'trytond.conf'
SAO_ROOT = ROOT / 'var' / 'sao' / 'package'
DEMO_SCRIPT = ROOT / 'scripts' / 'demo.py'
CACHE_DIR = ROOT / '.cache' / 'browser'
MODULES = ['inventory_flow', 'inventory_qc', 'inventory_wave',
    'inventory_alerts']
HOST = '127.0.0.1'
DB_NAME = 'browser'
# Login = password, as scripts/demo.py creates them; the group of each role.
ROLES = {
    'manager': 'group_manager',
    'operator': 'group_operator',
    'buyer': 'group_buyer',
    'approver': 'group_approver',
    'inspector': 'group_qc_inspector',
    'finance': 'group_finance',
    'integration': 'group_integration',
    }


class ServerError(RuntimeError):
    "The database could not be prepared or the server did not start"


@dataclass
class PreparedDatabase:
    directory: Path   # holds NAME.sqlite and local.conf
    name: str
    source: str       # 'scripts/demo.py' or 'fallback'
    note: str         # why the fallback was used, '' otherwise
    cached: bool      # taken from .cache/browser/

    @property
    def conf(self):
        return self.directory / 'local.conf'


def free_port(host=HOST):
    "Return a TCP port that is free on host right now"
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def source_hash():
    "Hash of everything the prepared database depends on"
    digest = hashlib.sha1()
    files = sorted(
        p for p in (ROOT / 'addons').rglob('*')
        if p.is_file() and '__pycache__' not in p.parts
        and p.suffix not in {'.pyc', '.pyo'}
        and '.egg-info' not in str(p))
    files += [DEMO_SCRIPT, Path(__file__).resolve()]
    for path in files:
        digest.update(str(
                path.relative_to(ROOT) if path.is_relative_to(ROOT)
                else path).encode())
        digest.update(b'\0')
        digest.update(path.read_bytes() if path.exists() else b'<missing>')
        digest.update(b'\0')
    return digest.hexdigest()[:16]


def write_conf(directory, port=None, host=HOST):
    "Write the local configuration (like var/local.conf of serve.sh)"
    conf = Path(directory) / 'local.conf'
    conf.write_text(
        "# Written by tests/browser/server.py\n"
        "[database]\n"
        f"path = {directory}\n\n"
        "[web]\n"
        f"listen = {host}:{port or 8000}\n"
        f"root = {SAO_ROOT}\n")
    return conf


def _environ(**extra):
    """The environment of trytond and its tools: without TRYTOND_* so that
    a caller's TRYTOND_DATABASE__URI (PostgreSQL) cannot redirect them."""
    env = {k: v for k, v in os.environ.items()
        if not k.startswith('TRYTOND_')}
    env.update(extra)
    return env


def _run(args, log, env=None, timeout=900):
    "Run a command, its output appended to log; raise ServerError on failure"
    with open(log, 'a') as out:
        out.write(f"\n$ {' '.join(map(str, args))}\n")
        out.flush()
        try:
            proc = subprocess.run(
                [str(a) for a in args], cwd=ROOT, stdout=out,
                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env=_environ(**(env or {})), timeout=timeout)
        except subprocess.TimeoutExpired:
            raise ServerError(f"timed out after {timeout}s: {args[0]} "
                f"(see {log})")
    if proc.returncode:
        tail = ''.join(Path(log).read_text().splitlines(True)[-25:])
        raise ServerError(
            f"{Path(args[0]).name} {' '.join(map(str, args[1:3]))}… exited "
            f"with {proc.returncode} (see {log}):\n{tail}")


def _install(directory, name, log):
    conf = write_conf(directory)
    dbfile = Path(directory) / f'{name}.sqlite'
    dbfile.write_bytes(b'')
    passfile = Path(directory) / 'admin.pass'
    passfile.write_text('admin\n')
    try:
        _run([VENV_BIN / 'trytond-admin', '-c', CONFIG, '-c', conf,
                '-d', name, '--all', '--email', 'admin@example.com',
                '-u', *MODULES, '--activate-dependencies'],
            log, env={'TRYTONPASSFILE': str(passfile)})
    finally:
        passfile.unlink()
    return dbfile


def _checkpoint(dbfile):
    "Fold a write-ahead log into the SQLite file, so that a copy is whole"
    import sqlite3
    con = sqlite3.connect(dbfile)
    try:
        con.execute('PRAGMA wal_checkpoint(TRUNCATE)')
    finally:
        con.close()


def _load_data(directory, name, log):
    "Load scripts/demo.py, or the fallback data; return (source, note)"
    conf = Path(directory) / 'local.conf'
    dbfile = Path(directory) / f'{name}.sqlite'
    note = ''
    if DEMO_SCRIPT.exists():
        pristine = dbfile.with_suffix('.pristine')
        _checkpoint(dbfile)
        shutil.copyfile(dbfile, pristine)
        try:
            _run([PYTHON, DEMO_SCRIPT, '-c', CONFIG, '-c', conf, '-d', name],
                log)
            _check_demo(directory, name, log)
        except ServerError as error:
            note = f"scripts/demo.py failed, minimal data used instead: {error}"
            for journal in ('-wal', '-shm'):
                Path(f'{dbfile}{journal}').unlink(missing_ok=True)
            shutil.copyfile(pristine, dbfile)
        else:
            return 'scripts/demo.py', ''
        finally:
            pristine.unlink()
    else:
        note = "scripts/demo.py does not exist, minimal data used instead"
    _run([PYTHON, Path(__file__).resolve(), 'fallback-setup',
            '-c', CONFIG, '-c', conf, '-d', name], log)
    return 'fallback', note


def _check_demo(directory, name, log):
    "The browser tests need the manager and operator logins and bin stock"
    import sqlite3
    con = sqlite3.connect(Path(directory) / f'{name}.sqlite')
    try:
        logins = {r[0] for r in con.execute(
                    'SELECT login FROM res_user WHERE active')}
        stocked = con.execute(
            'SELECT COUNT(DISTINCT m.to_location) FROM stock_move m '
            'JOIN stock_location l ON l.id = m.to_location '
            "WHERE m.state = 'done' AND l.zone IS NOT NULL").fetchone()[0]
    finally:
        con.close()
    missing = {'manager', 'operator'} - logins
    if missing or not stocked:
        raise ServerError(
            f"the demo data lacks what the browser tests need: users "
            f"{sorted(missing) or 'ok'}, bins with done moves: {stocked}")


def prepare_database(directory, name=DB_NAME, cache_dir=CACHE_DIR,
        use_cache=True):
    """Create NAME.sqlite (modules + demo data) and local.conf in directory.

    Reuse the cached copy when addons/, scripts/demo.py and this file did not
    change since it was made.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    log = directory / 'prepare.log'
    key = source_hash()
    cache_dir = Path(cache_dir)
    cached_db = cache_dir / f'{key}.sqlite'
    cached_meta = cache_dir / f'{key}.json'
    dbfile = directory / f'{name}.sqlite'
    if use_cache and cached_db.exists() and cached_meta.exists():
        shutil.copyfile(cached_db, dbfile)
        write_conf(directory)
        meta = json.loads(cached_meta.read_text())
        return PreparedDatabase(
            directory, name, meta['source'], meta['note'], cached=True)

    _install(directory, name, log)
    source, note = _load_data(directory, name, log)
    if use_cache:
        cache_dir.mkdir(parents=True, exist_ok=True)
        for old in cache_dir.glob('*'):
            if old.suffix in {'.sqlite', '.json', '.tmp'}:
                old.unlink(missing_ok=True)
        tmp = cache_dir / f'.{key}.{os.getpid()}.tmp'
        _checkpoint(dbfile)
        shutil.copyfile(dbfile, tmp)
        os.replace(tmp, cached_db)
        cached_meta.write_text(json.dumps({'source': source, 'note': note}))
    return PreparedDatabase(directory, name, source, note, cached=False)


def _die_with_parent():
    "In the child: get SIGTERM when the test process dies (Linux)"
    try:
        import ctypes
        import signal
        PR_SET_PDEATHSIG = 1
        ctypes.CDLL('libc.so.6', use_errno=True).prctl(
            PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


class TrytonServer:
    """A trytond process serving one database and sao on HOST:port.

    ``start()`` returns once the web client answers and a login of
    ``ready_login`` succeeds (the pool is loaded), ``stop()`` ends it.
    """

    def __init__(self, directory, name=DB_NAME, port=None, host=HOST,
            ready_login=('manager', 'manager')):
        self.directory = Path(directory)
        self.name = name
        self.host = host
        self.port = port or free_port(host)
        self.ready_login = ready_login
        self.log = self.directory / 'trytond.log'
        self.process = None

    @property
    def url(self):
        return f'http://{self.host}:{self.port}/'

    def start(self, timeout=180):
        conf = write_conf(self.directory, self.port, self.host)
        self._log_file = open(self.log, 'a')
        self.process = subprocess.Popen(
            [str(VENV_BIN / 'trytond'), '-c', str(CONFIG), '-c', str(conf),
                '-d', self.name],
            cwd=ROOT, env=_environ(), stdout=self._log_file,
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent)
        try:
            self._wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerError(
                    f"trytond exited with {self.process.returncode} "
                    f"before answering:\n{self.tail()}")
            try:
                with urllib.request.urlopen(self.url, timeout=10) as resp:
                    page = resp.read()
                if b'sao' not in page.lower():
                    raise ServerError(
                        f"{self.url} does not serve the web client "
                        f"([web] root = {SAO_ROOT})")
                if self.ready_login:
                    self.rpc('common.db.login', self.ready_login[0],
                        {'password': self.ready_login[1]}, 'en',
                        timeout=max(10, deadline - time.monotonic()))
                return
            except urllib.error.HTTPError as error:
                if error.code not in {502, 503, 504}:
                    raise ServerError(
                        f"{error.url} answered {error.code} {error.reason} "
                        f"while checking the server (login "
                        f"{self.ready_login[0]!r}):\n{self.tail()}")
                last = error
                time.sleep(0.3)
            except (OSError, urllib.error.URLError) as error:
                last = error
                time.sleep(0.3)
        raise ServerError(
            f"trytond did not answer on {self.url} within {timeout}s "
            f"({last}):\n{self.tail()}")

    def rpc(self, method, *params, timeout=30):
        "Call a JSON-RPC method on the database; return its result"
        request = urllib.request.Request(
            f'http://{self.host}:{self.port}/{self.name}/rpc/',
            data=json.dumps(
                {'id': 1, 'method': method, 'params': list(params)}).encode(),
            headers={'Content-Type': 'application/json'})
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            answer = json.loads(resp.read())
        if answer.get('error'):
            raise ServerError(f"{method} failed: {answer['error']}")
        return answer['result']

    def tail(self, lines=30):
        try:
            return ''.join(self.log.read_text().splitlines(True)[-lines:])
        except OSError:
            return ''

    def stop(self, timeout=15):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        if getattr(self, '_log_file', None):
            self._log_file.close()
            self._log_file = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def fallback_setup(database):
    """Minimal data for the browser tests, used while scripts/demo.py is
    missing or broken: a company, one user per role (password = login), a
    2-aisle rack block A-01…A-02 of pick bins in the default warehouse and
    done moves putting four products into some of them."""
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    from trytond.modules.inventory_flow.layout import RackBlock
    from trytond.modules.inventory_flow.location import generate_layout

    Pool.start()
    pool = Pool(database)
    pool.init()
    with Transaction().start(database, 0, context={'language': 'en'}):
        ModelData = pool.get('ir.model.data')
        Currency = pool.get('currency.currency')
        Party = pool.get('party.party')
        Company = pool.get('company.company')
        User = pool.get('res.user')

        currency, = Currency.create([{
                    'name': 'Euro', 'code': 'EUR', 'symbol': '€'}])
        party, = Party.create([{'name': 'Inventory Demo Ltd'}])
        company, = Company.create([{
                    'party': party.id, 'currency': currency.id}])
        admin, = User.search([('login', '=', 'admin')])
        User.write([admin], {
                'companies': [('add', [company.id])],
                'company': company.id})
        users = User.create([{
                    'name': login.capitalize(), 'login': login,
                    'companies': [('add', [company.id])],
                    'company': company.id,
                    'groups': [('add', [ModelData.get_id(
                                    'inventory_flow', group)])],
                    } for login, group in ROLES.items()])
        # Password = login is refused by validate_password (on purpose, for
        # real users): write the hash directly for these demo logins.
        for user in users:
            User.write([user], {
                    'password_hash': User.hash_password(user.login)})
        company = company.id
        Transaction().commit()

    with Transaction().start(database, 0, context={
            'language': 'en', 'company': company,
            '_skip_warnings': True}):
        Company = pool.get('company.company')
        company = Company(company)
        ModelData = pool.get('ir.model.data')
        Location = pool.get('stock.location')
        Template = pool.get('product.template')
        Uom = pool.get('product.uom')
        Move = pool.get('stock.move')

        warehouse = Location(ModelData.get_id('stock', 'location_warehouse'))
        supplier = Location(ModelData.get_id('stock', 'location_supplier'))
        bins = generate_layout(
            warehouse, RackBlock('A', 1, 2, 4, 2), zone='pick',
            capacity_volume=1.2, capacity_weight=500)
        unit = Uom(ModelData.get_id('product', 'uom_unit'))
        templates = Template.create([{
                    'name': name, 'default_uom': unit.id, 'type': 'goods',
                    'list_price': price,
                    'products': [('create', [{'suffix_code': code}])],
                    } for name, code, price in [
                    ("Mineral Water 1.5 L", 'WAT-15', 1),
                    ("Olive Oil 750 ml", 'OIL-75', 9),
                    ("Espresso Beans 1 kg", 'COF-1K', 18),
                    ("Paper Towels 6-pack", 'TOW-6', 5),
                    ]])
        products = [t.products[0] for t in templates]
        by_code = {b.code: b for b in bins}
        stock = [
            ('A-01-1-01', 0, 120), ('A-01-1-02', 1, 36),
            ('A-01-1-03', 2, 24), ('A-01-2-01', 3, 60),
            ('A-02-1-01', 0, 80), ('A-02-1-02', 2, 12),
            ('A-02-2-04', 1, 48),
            ]
        moves = Move.create([{
                    'product': products[p].id, 'unit': unit.id,
                    'quantity': q, 'from_location': supplier.id,
                    'to_location': by_code[code].id,
                    'company': company.id, 'unit_price': 1,
                    'currency': company.currency.id,
                    } for code, p, q in stock])
        Move.do(moves)
        Transaction().commit()


def _main(argv):
    import argparse
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    sub = parser.add_subparsers(dest='command', required=True)
    setup = sub.add_parser('fallback-setup',
        help="load the minimal data set into an installed database")
    setup.add_argument('-c', dest='configs', action='append', default=[])
    setup.add_argument('-d', dest='database', required=True)
    serve = sub.add_parser('serve',
        help="prepare the browser-test database and serve it")
    serve.add_argument('port', nargs='?', type=int, default=None)
    args = parser.parse_args(argv)
    if args.command == 'fallback-setup':
        from trytond.config import update_etc
        update_etc(args.configs)
        fallback_setup(args.database)
    else:
        directory = Path(tempfile.mkdtemp(prefix='browser-serve.'))
        db = prepare_database(directory)
        print(f"database: {db.directory} ({db.source}) {db.note}")
        with TrytonServer(directory, db.name, port=args.port) as server:
            print(f"serving {server.url} (Ctrl-C to stop)")
            try:
                server.process.wait()
            except KeyboardInterrupt:
                pass


if __name__ == '__main__':
    _main(sys.argv[1:])
