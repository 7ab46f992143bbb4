#!/usr/bin/env python3
"""Order intake + reservation throughput on PostgreSQL, beside plain Tryton
(issue 7, architecture rule 8).  Standalone:

    .venv/bin/python tests/bench/bench_reservation.py \\
        --uri postgresql://USER@127.0.0.1:PORT [--clients 1,4,16] \\
        [--orders 40] [--history 0,10000] [--skus 5]

For each move-history size it builds a database with the ``inventory_flow``
test fixture (trytond's test machinery; DB_CACHE may point at a cache),
adds ``history`` done moves of the hot SKUs, then for each client count:

* ``api``: that many threads POST orders of one line (1 to 3 units of one of
  ``skus`` hot SKUs) over real HTTP with fresh Idempotency-Keys to
  ``--server-processes`` ``trytond`` servers started for the run (as
  deployed: ``[queue] worker`` on, their own processes, clients spread over
  them as a load balancer would), while a ``trytond-worker`` process with
  ``--workers`` workers processes the orders (quote, confirm, process,
  moves).  The latency is the request's (the order is reserved and
  acknowledged); ``e2e lines/s`` counts until the queue is drained, i.e.
  every order has its assigned shipment.  ``--in-process`` runs the server
  and the queue workers as threads of the bench process instead (one GIL
  shared with the clients: the figures of the first versions);
* ``tryton``: that many threads do what plain Tryton does for the same order:
  sale create, quote, confirm, process, then ``stock.shipment.out``
  ``assign_try`` (with trytond's own retry of 5 on lock errors).

It prints order lines per second, p50/p99 latency and failures; it never
fails on a figure.  The stock is large enough never to run out.
"""
import argparse
import json
import os
import random
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from decimal import Decimal

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
            os.path.abspath(__file__))))


def percentile(values, p):
    if not values:
        return float('nan')
    values = sorted(values)
    k = max(0, min(len(values) - 1, int(round(p / 100 * (len(values) - 1)))))
    return values[k]


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--uri', default=os.environ.get(
            'TRYTOND_DATABASE_URI'), help="PostgreSQL URI of a server")
    parser.add_argument('--clients', default='1,4,16')
    parser.add_argument('--orders', type=int, default=40,
        help="orders per client count and mode")
    parser.add_argument('--tryton-orders', type=int, default=0,
        help="orders per client count for plain Tryton (default: --orders;"
        " plain Tryton is two orders of magnitude slower)")
    parser.add_argument('--history', default='0,10000',
        help="sizes of done-move history of the hot SKUs")
    parser.add_argument('--skus', type=int, default=5)
    parser.add_argument('--modes', default='api,tryton')
    parser.add_argument('--workers', type=int, default=1,
        help="queue workers processing the API orders")
    parser.add_argument('--server-processes', type=int, default=1,
        help="trytond server processes taking the API requests")
    parser.add_argument('--worker-nice', type=int, default=0,
        help="CPU niceness of the trytond-worker process (the document "
        "work yields the CPU to the requests)")
    parser.add_argument('--worker-after', action='store_true',
        help="pause the trytond-worker during the requests (SIGSTOP) and "
        "let it drain the queue after them: the request path alone")
    parser.add_argument('--in-process', action='store_true',
        help="server and queue workers as threads of this process")
    return parser.parse_args()


def main():
    args = parse_args()
    if not args.uri or not args.uri.startswith('postgresql'):
        sys.exit("bench_reservation: give --uri postgresql://… "
            "(e.g. URI=$(scripts/pg.sh start /tmp/benchpg))")
    results = []
    for history in [int(h) for h in args.history.split(',')]:
        results += run_history(args, history)
    print()
    print(f"{'mode':8} {'history':>8} {'clients':>7} {'lines/s':>8} "
        f"{'p50 ms':>7} {'p99 ms':>7} {'failed':>7} {'e2e lines/s':>11}")
    for r in results:
        print(f"{r['mode']:8} {r['history']:8d} {r['clients']:7d} "
            f"{r['rate']:8.1f} {r['p50']:7.0f} {r['p99']:7.0f} "
            f"{r['failed']:7d} {r['e2e']:11.1f}")
    return 0


def run_history(args, history):
    # One database per history size: the test machinery names it DB_NAME
    os.environ['TRYTOND_DATABASE_URI'] = args.uri.rstrip('/') + '/'
    os.environ['DB_NAME'] = f'bench_reservation_{history}'
    os.environ.setdefault('DB_CACHE', args.uri)
    import importlib
    import trytond.tests.test_tryton as test_tryton
    from trytond.config import config
    config.set('database', 'uri', os.environ['TRYTOND_DATABASE_URI'])
    importlib.reload(test_tryton)
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    db_name = os.environ['DB_NAME']
    test_tryton.drop_db(db_name)
    test_tryton.activate_module(['inventory_flow'])
    from trytond.modules.inventory_flow.tests.test_api import (
        setup_order_fixture)
    skus = [f'HOT{i}' for i in range(args.skus)]
    with Transaction().start(db_name, 0) as transaction:
        fixture = setup_order_fixture(stock={'WATER': 10 ** 6})
        products = add_hot_products(fixture, skus, history)
        transaction.commit()
    print(f"bench: database {db_name} ready, {history} moves of history",
        file=sys.stderr, flush=True)
    results = []
    for clients in [int(c) for c in args.clients.split(',')]:
        for mode in args.modes.split(','):
            if mode == 'api' and not args.in_process:
                latencies, failed, elapsed, drained = run_api_servers(
                    args, db_name, fixture, skus, clients)
            else:
                run = {'api': run_api, 'tryton': run_tryton}[mode]
                orders = args.orders
                if mode == 'tryton' and args.tryton_orders:
                    orders = args.tryton_orders
                latencies, failed, elapsed, drained = run(
                    db_name, fixture, products, skus, clients, orders,
                    args.workers)
            lines = len(latencies)
            results.append({
                    'mode': mode, 'history': history, 'clients': clients,
                    'rate': lines / elapsed if elapsed else 0,
                    'e2e': lines / drained if drained else 0,
                    'p50': percentile(latencies, 50) * 1000,
                    'p99': percentile(latencies, 99) * 1000,
                    'failed': failed,
                    })
            print('bench:', results[-1], file=sys.stderr, flush=True)
    with Transaction().start(db_name, 0, readonly=True):
        differences = Pool().get('stock.availability').check_consistency()
        pending = Pool().get('stock.reservation').search(
            [('state', '=', 'reserved'), ('move', '=', None)], count=True)
        print(f"bench: reservation rows without move: {pending}",
            file=sys.stderr, flush=True)
        print(f"bench: consistency check: {len(differences)} differences",
            file=sys.stderr, flush=True)
    return results


def add_hot_products(fixture, skus, history):
    "Create the hot SKUs with plenty of stock and a done-move history"
    from trytond.modules.company.tests import set_company
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    pool = Pool()
    Template = pool.get('product.template')
    Category = pool.get('product.category')
    Uom = pool.get('product.uom')
    Move = pool.get('stock.move')
    Location = pool.get('stock.location')
    Company = pool.get('company.company')
    company = Company(fixture['company'])
    unit, = Uom.search([('name', '=', 'Unit')])
    category, = Category.search([('accounting', '=', True)], limit=1)
    supplier, = Location.search([('code', '=', 'SUP')])
    customer, = Location.search([('code', '=', 'CUS')])
    bin_ = Location(fixture['bins']['pick'][0])
    with set_company(company):
        templates = Template.create([{
                    'name': sku, 'code': sku, 'type': 'goods',
                    'default_uom': unit.id, 'sale_uom': unit.id,
                    'salable': True, 'list_price': Decimal(1),
                    'account_category': category.id,
                    'products': [('create', [{}])],
                    } for sku in skus])
        products = [t.products[0] for t in templates]
        moves = Move.create([{
                    'product': p.id, 'unit': unit.id, 'quantity': 10 ** 6,
                    'from_location': supplier.id, 'to_location': bin_.id,
                    'company': company.id, 'unit_price': Decimal(1),
                    'currency': company.currency.id,
                    } for p in products])
        with Transaction().set_context(_skip_warnings=True):
            Move.do(moves)
    if history:
        # Pairs in/out of the bin: the balance is unchanged, the history grows
        cursor = Transaction().connection.cursor()
        per_product = max(1, history // (2 * len(products)))
        for product in products:
            for from_, to in [(supplier, bin_), (bin_, customer)]:
                cursor.execute(
                    'INSERT INTO stock_move (product, unit, quantity, '
                    'internal_quantity, from_location, to_location, company, '
                    'state, effective_date, planned_date, create_uid, '
                    'create_date, unit_price, currency) '
                    'SELECT %s, %s, 1, 1, %s, %s, %s, \'done\', '
                    'CURRENT_DATE - 30, CURRENT_DATE - 30, 0, NOW(), 1, %s '
                    'FROM generate_series(1, %s)',
                    (product.id, unit.id, from_.id, to.id, company.id,
                        company.currency.id, per_product))
    return {p.code: p.id for p in products}


def _threads(clients, orders, work):
    latencies, failures = [], []
    lock = threading.Lock()
    counter = iter(range(orders))

    def worker(number):
        rng = random.Random(number)
        while True:
            with lock:
                index = next(counter, None)
            if index is None:
                return
            start = time.monotonic()
            try:
                ok = work(rng, index)
            except Exception as exception:
                ok = False
                print('bench: failure', repr(exception)[:200],
                    file=sys.stderr)
            duration = time.monotonic() - start
            with lock:
                (latencies if ok else failures).append(duration)

    threads = [threading.Thread(target=worker, args=(n,))
        for n in range(clients)]
    for number, thread in enumerate(threads):
        thread.client = number
    start = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, len(failures), time.monotonic() - start


def order_poster(urls, fixture, skus, run_id):
    """Return work(rng, index) posting one order to one of the urls: each
    client keeps to one server (its keep-alive connection through a load
    balancer), the clients spread evenly over the servers"""

    def work(rng, index):
        client = getattr(threading.current_thread(), 'client', index)
        url = urls[client % len(urls)]
        body = {
            'channel': 'SHOP', 'channel_reference': f'{run_id}-{index}',
            'customer': {'name': 'Bench', 'email': f'b{index % 50}@ex.com',
                'address': {'street': 'Road 1', 'city': 'Town'}},
            'lines': [{'sku': rng.choice(skus),
                    'quantity': rng.randint(1, 3), 'unit_price': '1'}],
            }
        request = urllib.request.Request(url, data=json.dumps(body).encode(),
            method='POST', headers={
                'Content-Type': 'application/json',
                'Authorization': f"Bearer {fixture['key']}",
                'Idempotency-Key': str(uuid.uuid4())})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                order = json.loads(response.read())
                return (response.status == 201
                    and order['lines'][0]['backorder'] == 0)
        except urllib.error.HTTPError as error:
            print('bench: api', error.code, error.read()[:200],
                file=sys.stderr)
            return False
    return work


def _free_port():
    import socket
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _wait_port(port, process, timeout=120):
    import socket
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if process.poll() is not None:
            raise RuntimeError(f"server on {port} exited")
        try:
            socket.create_connection(('127.0.0.1', port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"server on {port} did not start")


def _queue_pending(db_name):
    """The API orders still waiting for their sale (the end of the
    document work; a task trytond re-queued after a lock error leaves its
    first row unfinished for good, so the queue rows cannot tell)"""
    import psycopg
    uri = os.environ['TRYTOND_DATABASE_URI'].rstrip('/') + '/' + db_name
    with psycopg.connect(uri) as connection:
        return connection.execute(
            "SELECT COUNT(*) FROM inventory_api_order "
            "WHERE state = 'received'").fetchone()[0]


def _process_cpu(pid):
    "User + system CPU seconds of a process and its reaped children"
    try:
        with open(f'/proc/{pid}/stat') as fp:
            fields = fp.read().rsplit(')', 1)[1].split()
    except OSError:
        return 0.0
    ticks = os.sysconf('SC_CLK_TCK')
    return sum(int(f) for f in fields[11:15]) / ticks


def _group_cpu(predicate):
    total = 0.0
    for name in os.listdir('/proc'):
        if not name.isdigit():
            continue
        try:
            with open(f'/proc/{name}/stat') as fp:
                stat = fp.read()
        except OSError:
            continue
        if predicate(int(name), stat):
            total += _process_cpu(int(name))
    return total


def _postmaster():
    "The pid of the PostgreSQL server of the URI (if local), else None"
    from urllib.parse import urlparse
    port = urlparse(os.environ['TRYTOND_DATABASE_URI']).port or 5432
    for name in os.listdir('/proc'):
        if not name.isdigit():
            continue
        try:
            with open(f'/proc/{name}/cmdline', 'rb') as fp:
                args = fp.read().split(b'\0')
        except OSError:
            continue
        if (args and args[0].endswith(b'postgres')
                and str(port).encode() in args):
            return int(name)


def _of_postmaster(postmaster):
    def predicate(pid, stat):
        fields = stat.rsplit(')', 1)[1].split()
        return pid == postmaster or int(fields[1]) == postmaster
    return predicate


def _cpu_times(servers, worker):
    """CPU seconds so far of the servers, the worker (with their process
    groups), PostgreSQL and this process (the clients)"""
    def in_groups(groups):
        def predicate(pid, stat):
            fields = stat.rsplit(')', 1)[1].split()
            return int(fields[2]) in groups
        return predicate
    return {
        'servers': _group_cpu(in_groups(set(servers))),
        'worker': _group_cpu(in_groups({worker})),
        'postgresql': _group_cpu(_of_postmaster(_postmaster())),
        'clients': time.process_time(),
        }


def run_api_servers(args, db_name, fixture, skus, clients):
    """The API as deployed: trytond server processes (queue worker mode
    on) and a trytond-worker process, started for this run"""
    import subprocess
    binary = os.path.dirname(sys.executable)
    env = {**os.environ, 'TRYTOND_DATABASE__URI': os.environ[
            'TRYTOND_DATABASE_URI'], 'TRYTOND_QUEUE__WORKER': 'True'}
    os.makedirs(os.path.join(ROOT, 'var'), exist_ok=True)
    log = open(os.path.join(ROOT, 'var', 'bench_reservation.log'), 'a')
    processes, urls = [], []
    try:
        for _ in range(args.server_processes):
            port = _free_port()
            process = subprocess.Popen(
                [os.path.join(binary, 'trytond'), '-d', db_name],
                env={**env, 'TRYTOND_WEB__LISTEN': f'127.0.0.1:{port}'},
                stdout=log, stderr=log, start_new_session=True)
            processes.append(process)
            _wait_port(port, process)
            urls.append(f'http://127.0.0.1:{port}/{db_name}'
                '/inventory/api/v1/orders')
        worker = [os.path.join(binary, 'trytond-worker'), '-d', db_name,
            '-n', str(args.workers)]
        if args.worker_nice:
            worker = ['nice', '-n', str(args.worker_nice)] + worker
        worker = subprocess.Popen(worker,
            env=env, stdout=log, stderr=log, start_new_session=True)
        processes.append(worker)
        run_id = uuid.uuid4().hex[:8]
        work = order_poster(urls, fixture, skus, run_id)
        # Warm up: every server loads its pool before the timed orders
        rng = random.Random(0)
        for index in range(2 * len(urls)):
            work(rng, -1 - index)
        start = time.monotonic()
        while _queue_pending(db_name):
            if time.monotonic() - start > 600:
                raise TimeoutError("ir.queue not drained")
            time.sleep(0.1)
        import signal
        if args.worker_after:
            # The document work waits until the requests are answered
            os.killpg(worker.pid, signal.SIGSTOP)
        servers = [p.pid for p in processes if p is not worker]
        cpu_before = _cpu_times(servers, worker.pid)
        try:
            latencies, failed, elapsed = _threads(clients, args.orders, work)
        finally:
            if args.worker_after:
                os.killpg(worker.pid, signal.SIGCONT)
        cpu_after = _cpu_times(servers, worker.pid)
        done = max(len(latencies), 1)
        print('bench: CPU ms per request during the load: ' + ', '.join(
                f'{k} {(cpu_after[k] - cpu_before[k]) * 1000 / done:.1f}'
                for k in cpu_after), file=sys.stderr, flush=True)
        start = time.monotonic()
        while _queue_pending(db_name):
            if time.monotonic() - start > 1200:
                raise TimeoutError("ir.queue not drained")
            time.sleep(0.05)
        return latencies, failed, elapsed, elapsed + (
            time.monotonic() - start)
    finally:
        # Each in its own process group: the worker's pool processes too
        import signal
        for process in processes:
            os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        log.close()


def run_api(db_name, fixture, products, skus, clients, orders, workers=1):
    from werkzeug.serving import make_server
    from trytond.modules.inventory_flow.tests.tools import QueueWorkers
    from trytond.wsgi import app
    server = make_server('127.0.0.1', 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = (f'http://127.0.0.1:{server.server_port}/{db_name}'
        '/inventory/api/v1/orders')
    work = order_poster([url], fixture, skus, uuid.uuid4().hex[:8])

    try:
        with QueueWorkers(db_name, count=workers) as queue:
            latencies, failed, elapsed = _threads(clients, orders, work)
            drained = elapsed + queue.drain()
            if queue.errors:
                print('bench: task errors', queue.errors[:3],
                    file=sys.stderr)
        return latencies, failed, elapsed, drained
    finally:
        server.shutdown()


def run_tryton(db_name, fixture, products, skus, clients, orders,
        workers=None):
    from trytond import backend
    from trytond.config import config
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    retry = config.getint('database', 'retry')
    run_id = uuid.uuid4().hex[:8]

    def work(rng, index):
        product_id = products[rng.choice(skus)]
        quantity = rng.randint(1, 3)
        for count in range(retry + 1):
            if count:
                time.sleep(0.02 * count)
            with Transaction().start(db_name, 0, context={
                        'company': fixture['company']}) as transaction:
                try:
                    assigned = plain_order(
                        fixture, product_id, quantity, f'{run_id}-{index}')
                    transaction.commit()
                    return assigned
                except backend.DatabaseOperationalError:
                    transaction.rollback()
                    continue
        return False

    latencies, failed, elapsed = _threads(clients, orders, work)
    return latencies, failed, elapsed, elapsed


def plain_order(fixture, product_id, quantity, reference):
    "Plain Tryton: sale → quote → confirm → process → assign_try"
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    pool = Pool()
    Sale = pool.get('sale.sale')
    Line = pool.get('sale.line')
    Party = pool.get('party.party')
    Product = pool.get('product.product')
    Location = pool.get('stock.location')
    Shipment = pool.get('stock.shipment.out')
    Queue = pool.get('ir.queue')
    transaction = Transaction()
    party, = Party.create([{'name': 'Bench',
                'addresses': [('create', [{'street': 'Road 1'}])]}])
    sale = Sale(party=party, warehouse=Location(fixture['warehouse']),
        reference=reference)
    sale.on_change_party()
    sale.invoice_method = 'manual'
    product = Product(product_id)
    line = Line(sale=sale, type='line', product=product)
    line.on_change_product()
    line.quantity = quantity
    line.unit_price = Decimal(1)
    sale.lines = [line]
    sale.save()
    Sale.quote([sale])
    tasks = list(transaction.tasks)
    Sale.confirm([sale])
    queued = [t for t in transaction.tasks if t not in tasks]
    Queue.delete(Queue.browse(queued))
    transaction.tasks[:] = tasks
    Sale.process([sale])
    sale = Sale(sale.id)
    shipments = list(sale.shipments)
    Shipment.assign_try(shipments)
    return all(Shipment(s.id).state == 'assigned' for s in shipments)


if __name__ == '__main__':
    sys.exit(main())
