#!/usr/bin/env python3
"""Benchmarks of the inventory suite, each beside its plain-Tryton baseline
measured in the same run (architecture rule 8).  See tests/bench/README.md.

    .venv/bin/python tests/bench/run.py [--scale N] [--calls N]
        [--postgresql URI|auto] [--no-sqlite] [--reuse] [--keep]

For every backend it builds a database (trytond-admin, then scripts/demo.py
--scale N), starts a trytond server on a free 127.0.0.1 port, and times
JSON-RPC round trips over HTTP, alternating our call and the baseline call.
It prints one table; it never fails on a figure (tests never assert on time).
"""
import argparse
import base64
import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from urllib.parse import urlsplit, urlunsplit

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
            os.path.abspath(__file__))))
VENV_BIN = os.path.join(ROOT, '.venv', 'bin')
PYTHON = os.path.join(VENV_BIN, 'python')
TRYTOND = os.path.join(VENV_BIN, 'trytond')
TRYTOND_ADMIN = os.path.join(VENV_BIN, 'trytond-admin')
BASE_CONF = os.path.join(ROOT, 'config', 'trytond.conf')
MODULES = ['inventory_flow', 'inventory_qc', 'inventory_wave',
    'inventory_alerts']
BIN_FIELDS = ['location', 'product', 'lot', 'expiration_date', 'quantity']


class BenchError(Exception):
    pass


def say(*args):
    print('bench:', *args, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def clean_env(**extra):
    "The environment of a child process: our configuration files only"
    env = {k: v for k, v in os.environ.items()
        if not k.startswith('TRYTOND_DATABASE')}
    env.update(extra)
    return env


def tail(path, lines=15):
    try:
        with open(path, errors='replace') as file:
            return ''.join(file.readlines()[-lines:])
    except OSError:
        return ''


# --- databases --------------------------------------------------------------

class Database:
    "A benchmark database on one backend, with its configuration file"

    def __init__(self, backend, name, workdir, uri=None):
        self.backend = backend
        self.name = name
        self.workdir = workdir
        self.uri = uri
        self.conf = os.path.join(workdir, f'{name}.conf')
        self.log = os.path.join(workdir, f'{name}.log')

    @property
    def path(self):
        return os.path.join(self.workdir, f'{self.name}.sqlite')

    def write_conf(self, port=None):
        lines = ['[database]']
        if self.backend == 'sqlite':
            lines += ['uri = sqlite://', f'path = {self.workdir}']
        else:
            lines += [f'uri = {self.uri}']
        if port:
            lines += ['', '[web]', f'listen = 127.0.0.1:{port}']
        with open(self.conf, 'w') as file:
            file.write('\n'.join(lines) + '\n')

    def exists(self):
        if self.backend == 'sqlite':
            return os.path.exists(self.path)
        with self._connect() as connection:
            return bool(connection.execute(
                    "SELECT 1 FROM pg_database WHERE datname = %s",
                    (self.name,)).fetchone())

    def _connect(self):
        import psycopg
        parts = urlsplit(self.uri)
        return psycopg.connect(
            urlunsplit(parts._replace(path='/postgres')), autocommit=True)

    def create_empty(self):
        if self.backend == 'sqlite':
            if os.path.exists(self.path):
                os.remove(self.path)
            open(self.path, 'w').close()
        else:
            with self._connect() as connection:
                connection.execute(f'DROP DATABASE IF EXISTS "{self.name}"')
                connection.execute(f'CREATE DATABASE "{self.name}"')

    def drop(self):
        if self.backend == 'sqlite':
            if os.path.exists(self.path):
                os.remove(self.path)
        else:
            with self._connect() as connection:
                connection.execute(f'DROP DATABASE IF EXISTS "{self.name}"')

    def run(self, command, what, env=None):
        with open(self.log, 'a') as log:
            log.write(f'\n$ {" ".join(command)}\n')
            log.flush()
            process = subprocess.run(command, cwd=ROOT, stdout=log,
                stderr=subprocess.STDOUT, env=env or clean_env())
        if process.returncode:
            raise BenchError(f"{what} failed on {self.backend} (see "
                f"{self.log}):\n{tail(self.log)}")

    def build(self, scale):
        "Create the database with the suite and the demo data of ``scale``"
        self.write_conf()
        self.create_empty()
        start = time.monotonic()
        with tempfile.NamedTemporaryFile('w', suffix='.pw') as password:
            password.write('admin\n')
            password.flush()
            env = clean_env(TRYTONPASSFILE=password.name)
            self.run([TRYTOND_ADMIN, '-c', BASE_CONF, '-c', self.conf,
                    '-d', self.name, '--all', '--email', 'admin@example.com',
                    '-u', *MODULES, '--activate-dependencies'],
                "trytond-admin", env=env)
        installed = time.monotonic() - start
        self.run([PYTHON, os.path.join(ROOT, 'scripts', 'demo.py'),
                '-c', BASE_CONF, '-c', self.conf, '-d', self.name,
                '--scale', str(scale)], "scripts/demo.py")
        return installed, time.monotonic() - start - installed


# --- server and JSON-RPC client ----------------------------------------------

class Server:
    "A trytond server started on a free port for one database"

    def __init__(self, database):
        self.database = database
        self.port = free_port()
        self.process = None

    def __enter__(self):
        self.database.write_conf(self.port)
        env = clean_env()
        self.logfile = open(self.database.log, 'a')
        self.process = subprocess.Popen(
            [TRYTOND, '-c', BASE_CONF, '-c', self.database.conf,
                '-d', self.database.name],
            cwd=ROOT, stdout=self.logfile, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BenchError("trytond stopped at start (see "
                    f"{self.database.log}):\n{tail(self.database.log)}")
            try:
                with socket.create_connection(('127.0.0.1', self.port), 1):
                    return self
            except OSError:
                time.sleep(0.2)
        raise BenchError(f"trytond did not listen on port {self.port}")

    def __exit__(self, *exc):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.logfile.close()


class Client:
    "JSON-RPC over one keep-alive HTTP connection, as the web client does"

    def __init__(self, port, database):
        self.connection = http.client.HTTPConnection('127.0.0.1', port,
            timeout=300)
        self.path = f'/{database}/rpc/'
        self.headers = {'Content-Type': 'application/json'}
        self.id = 0
        self.context = {}

    def call(self, method, *params):
        self.id += 1
        body = json.dumps({'id': self.id, 'method': method,
                'params': list(params)})
        self.connection.request('POST', self.path, body, self.headers)
        response = self.connection.getresponse()
        data = response.read()
        if response.status != 200:
            raise BenchError(f"{method}: HTTP {response.status} "
                f"{data[:200]!r}")
        result = json.loads(data)
        if result.get('error'):
            raise BenchError(f"{method}: {result['error']}")
        return result['result']

    def login(self, login, password):
        user_id, session, _ = self.call(
            'common.db.login', login, {'password': password})
        token = base64.b64encode(
            f'{login}:{user_id}:{session}'.encode()).decode()
        self.headers['Authorization'] = f'Session {token}'
        self.context = self.call('model.res.user.get_preferences', True, {})

    def model(self, model, method, *args, context=None):
        return self.call(f'model.{model}.{method}', *args,
            {**self.context, **(context or {})})


# --- the benchmarks ----------------------------------------------------------

def percentile(values, fraction):
    "Nearest-rank percentile"
    values = sorted(values)
    index = max(0, min(len(values) - 1,
            int(round(fraction * len(values) + 0.5)) - 1))
    return values[index]


def measure(pairs, calls, warmup=1):
    """Time each ``(label, ours, plain)`` pair ``calls`` times, alternating
    the two calls so that a load change of the machine hits both alike.
    Return rows of (label, ours_ms, plain_ms, ours_rows, plain_rows)."""
    results = []
    for label, ours, plain in pairs:
        for _ in range(warmup):
            ours_rows = len(ours())
            plain_rows = len(plain())
        ours_ms, plain_ms = [], []
        for _ in range(calls):
            start = time.perf_counter()
            ours()
            ours_ms.append((time.perf_counter() - start) * 1000)
            start = time.perf_counter()
            plain()
            plain_ms.append((time.perf_counter() - start) * 1000)
        results.append((label, ours_ms, plain_ms, ours_rows, plain_rows))
        say(f"  {label}: ours {statistics.median(ours_ms):.0f} ms, "
            f"plain {statistics.median(plain_ms):.0f} ms (p50)")
    return results


def stock_by_bin_pairs(client):
    """Our stock by bin (``stock.bin.quantity``) against the plain-Tryton
    listings of stock by location (``stock.products_by_locations`` and
    ``stock.lots_by_locations`` with the ``locations`` context)."""
    location = 'stock.location'
    warehouse, = client.model(location, 'search_read',
        [('code', '=', 'WH'), ('type', '=', 'warehouse')], 0, 1, None, ['id'])
    bins = client.model(location, 'search_read',
        [('code', 'in', ['B-01-1-01', 'A-01-1-01'])], 0, 2,
        [('code', 'DESC')], ['id', 'code'])
    bin_ = bins[0]
    page = 100

    def ours_bin_domain():
        return client.model('stock.bin.quantity', 'search_read',
            [('location', '=', bin_['id'])], 0, page, None, BIN_FIELDS)

    def ours_bin_context():
        return client.model('stock.bin.quantity', 'search_read',
            [], 0, page, None, BIN_FIELDS,
            context={'locations': [bin_['id']]})

    def ours_warehouse():
        return client.model('stock.bin.quantity', 'search_read',
            [], 0, page, None, BIN_FIELDS,
            context={'warehouse': warehouse['id']})

    def plain_products(location_id):
        def call():
            return client.model('stock.products_by_locations', 'search_read',
                [('quantity', '!=', 0)], 0, page, None,
                ['product', 'quantity'],
                context={'locations': [location_id], 'with_childs': True})
        return call

    def plain_lots(location_id):
        def call():
            return client.model('stock.lots_by_locations', 'search_read',
                [('quantity', '!=', 0)], 0, page, None,
                ['lot', 'product', 'quantity'],
                context={'locations': [location_id], 'with_childs': True})
        return call

    code = bin_['code']
    return [
        (f"one bin {code} (domain) vs products_by_locations",
            ours_bin_domain, plain_products(bin_['id'])),
        (f"one bin {code} (context) vs products_by_locations",
            ours_bin_context, plain_products(bin_['id'])),
        (f"one bin {code} (context) vs lots_by_locations",
            ours_bin_context, plain_lots(bin_['id'])),
        ("warehouse WH, page of 100 vs products_by_locations",
            ours_warehouse, plain_products(warehouse['id'])),
        ]


def data_size(client):
    counts = {}
    for label, model, domain in [
            ('products', 'product.product', []),
            ('bins', 'stock.location', [('zone', '!=', None)]),
            ('moves', 'stock.move', [('state', '=', 'done')]),
            ]:
        counts[label] = client.model(model, 'search_count', domain)
    return counts


def run_backend(database, args):
    results = {'backend': database.backend}
    if args.reuse and database.exists():
        say(f"{database.backend}: reusing database {database.name}")
    else:
        say(f"{database.backend}: building database {database.name} "
            f"(scale {args.scale}; log in {database.log})")
        installed, loaded = database.build(args.scale)
        say(f"{database.backend}: modules in {installed:.0f}s, "
            f"demo data in {loaded:.0f}s")
        results['build'] = (installed, loaded)
    with Server(database) as server:
        client = Client(server.port, database.name)
        client.login('admin', 'admin')
        results['size'] = data_size(client)
        say(f"{database.backend}: timing {args.calls} calls per query "
            f"on {results['size']}")
        results['rows'] = measure(stock_by_bin_pairs(client), args.calls)
    return results


def print_table(all_results, args):
    header = (f"{'backend':<11}{'query (search_read, RPC round trip)':<54}"
        f"{'ours p50':>9}{'p95':>8}{'plain p50':>11}{'p95':>8}"
        f"{'plain/ours':>11}{'rows':>10}")
    print(f"\nStock by bin, scale {args.scale}, {args.calls} calls each, "
        "times in ms (JSON-RPC over HTTP to a local trytond)")
    for results in all_results:
        size = results.get('size', {})
        print(f"  {results['backend']}: {size.get('products', '?')} products, "
            f"{size.get('bins', '?')} bins, {size.get('moves', '?')} done "
            "moves")
    print(header)
    print('-' * len(header))
    for results in all_results:
        for label, ours, plain, ours_rows, plain_rows in results['rows']:
            ours50, plain50 = statistics.median(ours), statistics.median(plain)
            print(f"{results['backend']:<11}{label:<54}"
                f"{ours50:>9.1f}{percentile(ours, 0.95):>8.1f}"
                f"{plain50:>11.1f}{percentile(plain, 0.95):>8.1f}"
                f"{plain50 / ours50:>10.1f}x"
                f"{f'{ours_rows}/{plain_rows}':>10}")
    print("plain: Tryton's own listing of stock by location for the same "
        "filter; rows: rows returned (ours/plain).")
    try:
        load = ', '.join(f'{l:.1f}' for l in os.getloadavg())
        print(f"machine: {os.cpu_count()} CPUs, load average {load} "
            "(figures are noisy on a busy machine)")
    except OSError:
        pass


def start_postgresql(workdir):
    pg_dir = tempfile.mkdtemp(prefix='bench-pg.', dir='/tmp')
    process = subprocess.run(
        [os.path.join(ROOT, 'scripts', 'pg.sh'), 'start', pg_dir],
        capture_output=True, text=True)
    if process.returncode:
        shutil.rmtree(pg_dir, ignore_errors=True)
        raise BenchError("could not start a throwaway PostgreSQL: "
            + process.stderr.strip())
    return process.stdout.strip().splitlines()[-1] + '/', pg_dir


def stop_postgresql(pg_dir):
    subprocess.run([os.path.join(ROOT, 'scripts', 'pg.sh'), 'stop', pg_dir],
        capture_output=True)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog='bench',
        description=__doc__.splitlines()[0])
    parser.add_argument('--scale', type=int, default=5,
        help="demo data scale: N × 1000 products, × 200 bins, × 10 000 "
        "moves (default: %(default)s)")
    parser.add_argument('--calls', type=int, default=50,
        help="timed calls per query (default: %(default)s)")
    parser.add_argument('--postgresql', metavar='URI',
        default=os.environ.get('TRYTOND_DATABASE_URI'),
        help="also run on PostgreSQL at URI (default: $TRYTOND_DATABASE_URI)"
        "; 'auto' starts a throwaway cluster with scripts/pg.sh")
    parser.add_argument('--no-sqlite', action='store_true',
        help="skip SQLite")
    parser.add_argument('--workdir', default=os.path.join(ROOT, 'var',
            'bench'), help="where the SQLite databases, configuration and "
        "logs go (default: var/bench)")
    parser.add_argument('--reuse', action='store_true',
        help="reuse a database of the same scale built by an earlier run")
    parser.add_argument('--keep', action='store_true',
        help="keep the PostgreSQL database (the SQLite file always stays)")
    parser.add_argument('--no-scanner', action='store_true',
        help="skip the scanner steps bench (tests/bench/bench_scanner.py, "
        "run on the SQLite database after the table)")
    args = parser.parse_args(argv)
    if args.scale < 1 or args.calls < 1:
        parser.error("--scale and --calls must be positive")
    return args


def main(argv=None):
    args = parse_args(argv)
    os.makedirs(args.workdir, exist_ok=True)
    name = f'bench_s{args.scale}'
    pg_dir = None
    all_results = []
    try:
        backends = []
        if not args.no_sqlite:
            backends.append(Database('sqlite', name, args.workdir))
        if args.postgresql:
            uri = args.postgresql
            if uri == 'auto':
                uri, pg_dir = start_postgresql(args.workdir)
                say(f"started a throwaway PostgreSQL at {uri}")
            backends.append(Database('postgresql', name, args.workdir, uri))
        if not backends:
            raise BenchError("nothing to run: --no-sqlite without "
                "--postgresql")
        for database in backends:
            try:
                all_results.append(run_backend(database, args))
            finally:
                if (database.backend == 'postgresql' and not args.keep
                        and not args.reuse and pg_dir is None):
                    database.drop()
    except BenchError as error:
        print(f"bench: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("bench: error: interrupted", file=sys.stderr)
        return 130
    finally:
        if pg_dir:
            stop_postgresql(pg_dir)
    print_table(all_results, args)
    if not args.no_scanner and not args.no_sqlite:
        # In its own process: it runs trytond in-process on bench_sN
        process = subprocess.run([PYTHON, os.path.join(ROOT, 'tests',
                    'bench', 'bench_scanner.py'), '--scale', str(args.scale),
                '--reuse', '--workdir', args.workdir])
        if process.returncode:
            return process.returncode
    return 0


if __name__ == '__main__':
    sys.exit(main())
