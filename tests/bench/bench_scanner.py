#!/usr/bin/env python3
"""Server time of the scanner steps and of the putaway recommendation on
large demo data, beside a naive recommendation (issue 5, rule 8).

    .venv/bin/python tests/bench/bench_scanner.py [--scale N] [--rounds N]
        [--naive-rounds N] [--reuse] [--workdir DIR]
        [--postgresql URI|auto] [--keep] [--profile]

It builds the SQLite database ``bench_sN`` as ``tests/bench/run.py`` does
(``trytond-admin`` with the four modules, then ``scripts/demo.py --scale
N``), or reuses it (``--reuse``), then runs the steps in this process, the
way the route ``/<db>/scanner/step`` runs them (``scanner.run_step`` as the
demo operator, with the user's context), without the HTTP round trip:

* receive: open the purchase ``DEMO-PO-2`` by its reference (the demo
  prepares the receipts of processed purchases: its supplier shipment
  waits), one GS1 scan (GTIN, expiry, lot, quantity), a bare GTIN, a typed
  quantity; and, apart, the same order opened when it has no shipment yet
  (its prepared shipment undone first, untimed: the scan creates one);
* putaway (after ``DEMO-DN-1`` is received once, committed): the item scan
  (which computes the recommendation) and the bin scan (the move is done).

Each round is one transaction rolled back at its end, so every round sees
the same data; the transaction cache is cleared between steps, as each step
is its own request.  The recommendation alone (``recommend_bins``: three
set-based queries and the pure scoring of ``putaway.py``) is timed beside a
naive version, the same scoring over bins and stock rows read as ORM
records (the first implementation; quadratic in Tryton's record
instantiation).  It prints p50/p95 in ms and never fails on a figure.

Beside the wall-clock time of each step it prints the CPU time of this
process (``time.process_time``: the Python side of the server and, on
SQLite, the queries; PostgreSQL's own work is in another process) and the
number of SQL statements the step executed (counted by wrapping the
backend's cursor ``execute``).  On a shared machine the wall-clock figures
follow the load; the statement counts do not, and the CPU time much less.
``--postgresql URI`` builds (or reuses) the database on that server
(``auto``: a throwaway cluster of ``scripts/pg.sh``, removed at the end
unless ``--keep``); ``--profile`` prints a cProfile of one round of each
step.
"""
import argparse
import cProfile
import datetime as dt
import os
import pstats
import statistics
import sys
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from run import (  # noqa: E402
    BASE_CONF, ROOT, BenchError, Database, percentile, say,
    start_postgresql, stop_postgresql)

GS = '\x1d'
#: With --profile, print every statement of each step cut to so many
#: characters (0: only the slowest); set by --statements
STATEMENTS = 0


def gtin13(number):
    digits = f'{number:012d}'
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(digits))
    return digits + str((10 - total % 10) % 10)


ORANGE_JUICE = gtin13(590123400003)   # on DEMO-DN-1, lot-tracked
SPAGHETTI = gtin13(590123400009)      # on DEMO-PO-2
PASSATA = gtin13(590123400012)        # on DEMO-PO-2, lot-tracked
LOT = 'BENCH-OJ-1'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog='bench_scanner',
        description=__doc__.splitlines()[0])
    parser.add_argument('--scale', type=int, default=10,
        help="demo data scale: N × 1000 products, × 200 bins, × 10 000 "
        "moves (default: %(default)s)")
    parser.add_argument('--rounds', type=int, default=40,
        help="timed rounds of the steps (default: %(default)s)")
    parser.add_argument('--naive-rounds', type=int, default=2,
        help="timed calls of the naive recommendation (default: "
        "%(default)s)")
    parser.add_argument('--reuse', action='store_true',
        help="reuse the database bench_sN of an earlier run")
    parser.add_argument('--workdir', default=os.path.join(ROOT, 'var',
            'bench'))
    parser.add_argument('--postgresql', metavar='URI',
        help="run on PostgreSQL at URI (postgresql://user@host:port/) "
        "instead of SQLite; 'auto' starts a throwaway cluster")
    parser.add_argument('--keep', action='store_true',
        help="keep the throwaway PostgreSQL cluster of --postgresql auto "
        "(its directory is printed)")
    parser.add_argument('--statements', type=int, default=0, metavar='N',
        help="with --profile, also print every SQL statement of each step "
        "in order, cut to N characters")
    parser.add_argument('--profile', action='store_true',
        help="print a cProfile of one more round of the steps")
    return parser.parse_args(argv)


# --- SQL statements counted per step ----------------------------------------

class Queries:
    """Counts the SQL statements executed through the backends' cursors;
    with ``timed`` a list, appends (ms, statement) of each to it"""
    count = 0
    timed = None

    @classmethod
    def install(cls):
        from trytond.backend.postgresql.database import LoggingCursor
        from trytond.backend.sqlite.database import SQLiteCursor

        def counting(execute):
            def wrapper(self, *args, **kwargs):
                cls.count += 1
                if cls.timed is None:
                    return execute(self, *args, **kwargs)
                start = time.perf_counter()
                try:
                    return execute(self, *args, **kwargs)
                finally:
                    cls.timed.append(((time.perf_counter() - start) * 1000,
                            str(args[0] if args else '')))
            return wrapper
        for cursor in [LoggingCursor, SQLiteCursor]:
            cursor.execute = counting(cursor.execute)


# --- in the trytond process ---------------------------------------------------

def naive_bin_candidates(warehouse):
    """The bins with their contents as a plain ORM version reads them (the
    first implementation of issue 5): every bin and every row of
    ``stock.bin.quantity`` of the warehouse instantiated as a record, the
    products browsed for their measures."""
    from trytond.modules.inventory_flow import putaway
    from trytond.modules.inventory_flow.receiving import _unit_measures
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    from collections import defaultdict
    pool = Pool()
    Location = pool.get('stock.location')
    StockBin = pool.get('stock.bin.quantity')
    Product = pool.get('product.product')
    bins = Location.search([
            ('parent', 'child_of', [warehouse.storage_location.id]),
            ('zone', '!=', None),
            ])
    with Transaction().set_context(warehouse=warehouse.id, locations=None):
        rows = StockBin.search([])
    measures = _unit_measures(Product.browse(list({r.product.id
                    for r in rows})))
    contents = defaultdict(set)
    used = defaultdict(lambda: [0.0, 0.0])
    for row in rows:
        if row.quantity <= 0:
            continue
        contents[row.location.id].add(
            (row.product.id, row.lot.id if row.lot else None))
        volume, weight = measures[row.product.id]
        used[row.location.id][0] += (volume or 0) * row.quantity
        used[row.location.id][1] += (weight or 0) * row.quantity
    return [putaway.Bin(
            id=b.id, warehouse=b.warehouse.id if b.warehouse else None,
            zone=b.zone, blocked=bool(b.blocked), aisle=b.aisle,
            position=b.position, level=b.level,
            capacity_volume=b.capacity_volume,
            capacity_weight=b.capacity_weight,
            used_volume=used[b.id][0], used_weight=used[b.id][1],
            contents=frozenset(contents[b.id])) for b in bins]


def naive_recommend(move, limit=3):
    "The recommendation over naive_bin_candidates, same scoring as ours"
    from trytond.modules.inventory_flow import putaway
    from trytond.modules.inventory_flow.receiving import putaway_item
    from trytond.pool import Pool
    Strategy = Pool().get('stock.putaway.strategy')
    warehouse = move.shipment.warehouse
    candidates = naive_bin_candidates(warehouse)
    dispatch = [(b.aisle, b.position) for b in candidates
        if b.zone == 'dispatch' and b.aisle is not None]
    ranked = putaway.recommend(
        putaway_item(move, warehouse), candidates,
        Strategy.strategies_for(move.product, warehouse),
        dispatch=dispatch, limit=limit)
    return [r.bin for r in ranked]


def forget_cache():
    "What a new request would not have: the records read by the last one"
    from trytond.transaction import Transaction
    transaction = Transaction()
    transaction.counter += 1
    for cache in transaction.cache.values():
        cache.clear()


class Timings(dict):
    "{label: [ms]} with the CPU ms and SQL statements of each call"

    def __init__(self):
        super().__init__()
        self.cpu = {}
        self.queries = {}

    def add(self, label, seconds, cpu=None, queries=None):
        self.setdefault(label, []).append(seconds * 1000)
        if cpu is not None:
            self.cpu.setdefault(label, []).append(cpu * 1000)
        if queries is not None:
            self.queries.setdefault(label, []).append(queries)


class measured:
    "with measured(timings, label): … adds wall, CPU time and statements"

    def __init__(self, timings, label):
        self.timings, self.label = timings, label

    def __enter__(self):
        self.queries = Queries.count
        self.cpu = time.process_time()
        self.start = time.perf_counter()

    def __exit__(self, *exc):
        wall = time.perf_counter() - self.start
        self.timings.add(self.label, wall, time.process_time() - self.cpu,
            Queries.count - self.queries)


def user_session(name, login):
    "(user id, context) of login"
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    with Transaction().start(name, 0, readonly=True):
        User = Pool().get('res.user')
        user, = User.search([('login', '=', login)])
        with Transaction().set_user(user.id):
            context = User.get_preferences(context_only=True)
        return user.id, context


def timed_steps(name, user, context, steps, timings, profile=False):
    """Run [(label, step, scan or callable(state))] in one transaction as
    user, rolled back; return the last screen.  With profile, print the
    cProfile of each step (the 25 costliest functions, cumulative)."""
    from trytond.modules.inventory_flow.scanner import run_step
    from trytond.transaction import Transaction
    screen = {'state': {}}
    with Transaction().start(name, user, context=context) as transaction:
        for label, step, scan in steps:
            if callable(scan):
                scan = scan(screen)
            forget_cache()
            profiler = cProfile.Profile() if profile else None
            Queries.timed = [] if profile else None
            with measured(timings, label):
                if profiler:
                    profiler.enable()
                screen = run_step(
                    step, screen['state'], scan, str(uuid.uuid4()))
                if profiler:
                    profiler.disable()
            if profiler:
                print(f"\n--- profile: {label}")
                stats = pstats.Stats(profiler).sort_stats('cumulative')
                stats.print_stats(25)
                stats.print_stats('addons/inventory_', 30)
                print(f"--- slowest SQL statements: {label}")
                for ms, sql in sorted(Queries.timed, reverse=True)[:6]:
                    print(f"{ms:8.1f} ms  {sql[:300]}")
                if STATEMENTS:
                    print(f"--- every SQL statement, in order: {label}")
                    for ms, sql in Queries.timed:
                        print(f"{ms:8.1f} ms  {sql[:STATEMENTS]}")
                Queries.timed = None
        transaction.rollback()
    return screen


def receive_once(name, context):
    "Receive DEMO-DN-1 in full as the administrator (committed), once"
    from trytond.pool import Pool
    from trytond.transaction import Transaction, TransactionError
    extras = {}
    while True:
        # the receipt posts to the books: the accounting sequence asks for
        # its lock, which trytond takes by restarting the transaction
        with Transaction().start(name, 0, context=context,
                **extras) as transaction:
            pool = Pool()
            Shipment = pool.get('stock.shipment.in')
            Date = pool.get('ir.date')
            shipment, = Shipment.search([('reference', '=', 'DEMO-DN-1')])
            if shipment.state != 'draft':
                return
            expiry = Date.today() + dt.timedelta(days=100)
            try:
                for product, quantity in (
                        shipment.expected_quantities().items()):
                    lot = LOT if product.lot_required else None
                    shipment.count(product, quantity, lot_number=lot,
                        expiration_date=expiry if lot else None)
                Shipment.finish_receiving([Shipment(shipment.id)])
                transaction.commit()
                return
            except TransactionError as error:
                transaction.rollback()
                error.fix(extras)


def bench(name, args):
    from trytond.modules.inventory_flow.receiving import (
        pending_putaway, recommend_bins)
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    operator, context = user_session(name, 'operator')
    _, admin_context = user_session(name, 'admin')
    today = dt.date.today()
    expiry = (today + dt.timedelta(days=100)).strftime('%y%m%d')
    gs1 = (']C101' + PASSATA.zfill(14) + '17' + expiry + '10BENCH-P-1'
        + GS + '3012')
    steps = Timings()
    # DEMO-PO-2's receipt was prepared when it was processed: the scan
    # opens it
    receive = [
        ('receive: open DEMO-PO-2 (prepared receipt)', 'receive',
            'DEMO-PO-2'),
        ('receive: GS1 item with lot, expiry, qty', 'receive', gs1),
        ('receive: bare GTIN (asks quantity)', 'receive', SPAGHETTI),
        ('receive: typed quantity', 'receive', '5'),
        ]

    def unprepared(screen):
        "Undo DEMO-PO-2's prepared receipt (untimed, rolled back)"
        Shipment = Pool().get('stock.shipment.in')
        Move = Pool().get('stock.move')
        shipment, = Shipment.search([('reference', '=', 'DEMO-PO-2')])
        Move.write(list(shipment.moves), {'shipment': None})
        Shipment.delete([shipment])
        return 'DEMO-PO-2'
    create = [
        ('receive: open DEMO-PO-2 (creates the receipt)',
            'receive', unprepared),
        ]
    timed_steps(name, operator, context, receive, Timings())  # warm-up
    timed_steps(name, operator, context, create, Timings())
    say(f"receive: {args.rounds} rounds")
    for _ in range(args.rounds):
        timed_steps(name, operator, context, receive, steps)
        timed_steps(name, operator, context, create, steps)
    if args.profile:
        timed_steps(name, operator, context, receive, Timings(), True)
        timed_steps(name, operator, context, create, Timings(), True)

    receive_once(name, admin_context)

    def recommended(screen):
        return screen['lines'][0]['product']
    putaway = [
        ('putaway: item scan (recommendation)', 'putaway',
            '01' + ORANGE_JUICE.zfill(14) + '10' + LOT),
        ('putaway: bin scan (move done)', 'putaway', recommended),
        ]
    timed_steps(name, operator, context, putaway, Timings())
    say(f"putaway: {args.rounds} rounds")
    for _ in range(args.rounds):
        timed_steps(name, operator, context, putaway, steps)
    if args.profile:
        timed_steps(name, operator, context, putaway, Timings(), True)

    recommend = Timings()
    with Transaction().start(name, operator, context=context,
            readonly=True):
        Product = Pool().get('product.product')
        product, = Product.search([('gtin', '=', ORANGE_JUICE)])
        move = pending_putaway(product)[0]
        ours = [b.id for b in recommend_bins(move)]
        if args.naive_rounds:
            naive = naive_recommend(move)
            if ours != naive:
                raise BenchError(f"the naive recommendation differs: "
                    f"{ours} against {naive}")
        say(f"recommendation: {args.rounds} rounds, naive "
            f"{args.naive_rounds}")
        for _ in range(args.rounds):
            forget_cache()
            with measured(recommend, 'ours'):
                recommend_bins(move)
        for _ in range(args.naive_rounds):
            forget_cache()
            with measured(recommend, 'naive'):
                naive_recommend(move)
        Location = Pool().get('stock.location')
        bins = Location.search_count([('zone', '!=', None)])
        products = Product.search_count([])
    return steps, recommend, {'bins': bins, 'products': products}


def _row(label, timings, key):
    values = timings[key]
    cpu = timings.cpu.get(key) or [0]
    queries = timings.queries.get(key) or [0]
    return (f"{label:<44}{len(values):>5}{statistics.median(values):>9.1f}"
        f"{percentile(values, 0.95):>9.1f}{max(values):>9.1f}"
        f"{statistics.median(cpu):>9.1f}{percentile(cpu, 0.95):>9.1f}"
        f"{statistics.median(queries):>7.0f}")


def host_speed():
    "ms for a million additions in a plain Python loop (median of 5)"
    times = []
    for _ in range(5):
        start = time.perf_counter()
        total = 0
        for i in range(1_000_000):
            total += i
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def report(steps, recommend, size, args, build, backend):
    print(f"\nScanner steps, scale {args.scale}: {size['products']} "
        f"products, {size['bins']} bins; server time in ms, in process "
        f"(no HTTP), {backend}; cpu = CPU time of this process, sql = "
        "statements executed (median)")
    if build:
        print(f"database built in {build[0]:.0f}s (modules) + "
            f"{build[1]:.0f}s (demo data)")
    header = (f"{'step':<44}{'n':>5}{'p50':>9}{'p95':>9}{'max':>9}"
        f"{'cpu p50':>9}{'cpu p95':>9}{'sql':>7}")
    print(header)
    print('-' * len(header))
    everything = Timings()
    for label, values in steps.items():
        for i, value in enumerate(values):
            everything.add('all', value / 1000, steps.cpu[label][i] / 1000,
                steps.queries[label][i])
        print(_row(label, steps, label))
    print(_row('all scan steps', everything, 'all'))
    print(f"\nPutaway recommendation over {size['bins']} bins (same "
        "ranking)")
    print(header.replace('step', 'version', 1))
    for label in recommend:
        name = {'ours': 'ours: set-based (recommend_bins)',
            'naive': 'naive: ORM records per bin and row'}[label]
        print(_row(name, recommend, label))
    if recommend.get('naive'):
        ratio = (statistics.median(recommend['naive'])
            / statistics.median(recommend['ours']))
        print(f"naive/ours (p50): {ratio:.0f}x")
    try:
        load = ', '.join(f'{l:.1f}' for l in os.getloadavg())
        print(f"machine: {os.cpu_count()} CPUs, load average {load}")
    except OSError:
        pass


def main(argv=None):
    global STATEMENTS
    args = parse_args(argv)
    STATEMENTS = args.statements
    workdir = os.path.abspath(args.workdir)
    os.makedirs(workdir, exist_ok=True)
    pg_dir = None
    build = None
    try:
        if args.postgresql:
            uri = args.postgresql
            if uri == 'auto':
                uri, pg_dir = start_postgresql(workdir)
                say(f"started a throwaway PostgreSQL at {uri} ({pg_dir})")
            database = Database('postgresql', f'bench_s{args.scale}',
                workdir, uri)
        else:
            database = Database('sqlite', f'bench_s{args.scale}', workdir)
        if args.reuse and database.exists():
            say(f"reusing {database.name} ({database.backend})")
        else:
            say(f"building {database.name} on {database.backend} (scale "
                f"{args.scale}; log in {database.log})")
            build = database.build(args.scale)
            say(f"modules in {build[0]:.0f}s, demo data in {build[1]:.0f}s")
        database.write_conf()
        from trytond import config
        config.update_etc([BASE_CONF, database.conf])
        from trytond.pool import Pool
        from trytond.transaction import Transaction
        Queries.install()
        pool = Pool(database.name)
        with Transaction().start(database.name, 0, readonly=True):
            pool.init()
        speed = host_speed()
        steps, recommend, size = bench(database.name, args)
        speed = min(speed, host_speed())
    except BenchError as error:
        print(f"bench: error: {error}", file=sys.stderr)
        return 1
    finally:
        if pg_dir and not args.keep:
            stop_postgresql(pg_dir)
    report(steps, recommend, size, args, build, database.backend)
    print(f"host speed: {speed:.0f} ms for a million steps of a plain "
        "Python loop (the faster of before and after the rounds, median "
        "of 5; compare hosts by it: the steps' CPU time follows it)")
    return 0


if __name__ == '__main__':
    sys.exit(main())
