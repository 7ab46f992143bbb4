"""Fault test of the order intake (C1, C2), PostgreSQL only: a real trytond
server is killed with SIGKILL in the middle of a concurrent load, started
again, and every request sent is replayed with its Idempotency-Key.

Afterwards each acknowledged order exists exactly once and its replay gets
the first answer, every request sent has exactly one order, no reservation
exists without its order, no key is left in flight and the consistency
check passes (also after the queued processing of the orders)."""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request
import uuid
from pathlib import Path

from trytond import backend, config
from trytond.pool import Pool
from trytond.tests.test_tryton import RouteTestCase
from trytond.transaction import Transaction

from .test_api import API, order_body, setup_order_fixture
from .test_reservation_concurrency import SKUS, add_hot_products
from .tools import SuiteDatabaseMixin

CLIENTS = 8
KILL_AFTER = 12      # acknowledged orders before the kill
TRYTOND = Path(sys.executable).parent / 'trytond'


def _free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


class Server:
    "A trytond process serving the test database over HTTP"

    def __init__(self, directory, database_name):
        self.directory = Path(directory)
        self.database_name = database_name
        self.port = _free_port()
        self.conf = self.directory / 'trytond.conf'
        self.conf.write_text(
            "[database]\n"
            f"uri = {config.get('database', 'uri')}\n"
            "[web]\n"
            f"listen = 127.0.0.1:{self.port}\n"
            "[queue]\n"
            "worker = False\n")
        self.log = self.directory / 'trytond.log'
        self.process = None

    @property
    def url(self):
        return f'http://127.0.0.1:{self.port}/{self.database_name}{API}'

    def start(self, key, timeout=180):
        env = {k: v for k, v in os.environ.items()
            if not k.startswith('TRYTOND_')}
        with open(self.log, 'a') as log:
            self.process = subprocess.Popen(
                [str(TRYTOND), '-c', str(self.conf)], env=env,
                stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"trytond exited: {self.log.read_text()[-2000:]}")
            try:
                # Answers once the pool of the database is loaded
                request = urllib.request.Request(
                    f'{self.url}/stock?sku={SKUS[0]}',
                    headers={'Authorization': f'Bearer {key}'})
                with urllib.request.urlopen(request, timeout=60) as response:
                    if response.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.3)
        raise RuntimeError("trytond did not answer")

    def kill(self):
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


def post(url, key, body, api_key, timeout=120):
    "Return (status, answer) or raise OSError when the server is gone"
    request = urllib.request.Request(f'{url}/orders',
        data=json.dumps(body).encode(), method='POST', headers={
            'Content-Type': 'application/json',
            'Authorization': f'Bearer {api_key}',
            'Idempotency-Key': key})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@unittest.skipUnless(backend.name == 'postgresql',
    "needs PostgreSQL: a second process (the trytond server) shares the "
    "database")
class OrderFaultTestCase(SuiteDatabaseMixin, RouteTestCase):
    "Test the order intake when its server is killed"
    module = 'inventory_flow'
    fixture = None

    @classmethod
    def setUpDatabase(cls):
        cls.fixture = setup_order_fixture()
        cls.fixture['hot'] = add_hot_products(cls.fixture)

    def test_kill_and_replay(self):
        "kill -9 under load, restart, replay: each order exactly once"
        api_key = self.fixture['key']
        directory = tempfile.mkdtemp(prefix='order-fault-')
        self.addCleanup(shutil.rmtree, directory, ignore_errors=True)
        server = Server(directory, self.db_name)
        sent, acknowledged, lock = [], {}, threading.Lock()
        stop = threading.Event()

        def client(number):
            for i in range(1000):
                if stop.is_set():
                    return
                key = str(uuid.uuid4())
                body = order_body(f'F-{number}-{i}', lines=[
                        {'sku': SKUS[(number + i) % len(SKUS)],
                            'quantity': 1 + i % 3, 'unit_price': '1'}])
                body['customer']['email'] = f'fault{number}@example.com'
                with lock:
                    sent.append((key, body))
                try:
                    status, answer = post(server.url, key, body, api_key)
                except OSError:
                    return  # the server is gone
                if status == 201:
                    with lock:
                        acknowledged[key] = answer

        with Transaction().start(self.db_name, 0, readonly=True) as t:
            cursor = t.connection.cursor()
            cursor.execute('SELECT COALESCE(MAX(id), 0) FROM ir_queue')
            last_task, = cursor.fetchone()
        try:
            server.start(api_key)
            threads = [threading.Thread(target=client, args=(n,))
                for n in range(CLIENTS)]
            for thread in threads:
                thread.start()
            deadline = time.monotonic() + 120
            while (len(acknowledged) < KILL_AFTER
                    and time.monotonic() < deadline):
                time.sleep(0.05)
            stop.set()
            server.kill()
            for thread in threads:
                thread.join()
            self.assertGreaterEqual(len(acknowledged), KILL_AFTER)

            server.start(api_key)
            replies = {}
            for key, body in sent:
                for _ in range(100):
                    status, answer = post(server.url, key, body, api_key)
                    # a transaction of the dead server may still be
                    # rolling back
                    if answer.get('error') != 'request_in_flight':
                        break
                    time.sleep(0.1)
                self.assertEqual(status, 201, answer)
                replies[key] = answer
        finally:
            server.stop()

        for key, answer in acknowledged.items():
            # the replay of an acknowledged order gets its first answer
            self.assertEqual(replies[key], answer)
        # Process what the killed server had queued but not run
        from trytond.worker import run_task
        with Transaction().start(self.db_name, 0, readonly=True):
            Queue = Pool().get('ir.queue')
            left = Queue.search([
                    ('finished_at', '=', None), ('id', '>', last_task)])
            tasks = [t.id for t in left]
            kinds = sorted({f"{t.data['model']}|{t.data['method']}"
                    for t in left})
        for task in tasks:
            run_task(self.db_name, task)

        with Transaction().start(self.db_name, 0, readonly=True):
            pool = Pool()
            ApiOrder = pool.get('inventory.api.order')
            Sale = pool.get('sale.sale')
            Reservation = pool.get('stock.reservation')
            Idempotency = pool.get('inventory.api.idempotency')
            Availability = pool.get('stock.availability')
            orders = ApiOrder.search([('channel_reference', 'like', 'F-%')])
            by_reference = {}
            for order in orders:
                by_reference.setdefault(order.channel_reference, []).append(
                    order.id)
            for key, body in sent:
                # every request sent has exactly one order: its reply's
                self.assertEqual(by_reference[body['channel_reference']],
                    [replies[key]['id']])
            self.assertEqual(len(orders), len(sent))
            ids = {o.id for o in orders}
            # and exactly one sale each, once the tasks have run
            sales = Sale.search([('channel_reference', 'like', 'F-%')])
            self.assertEqual(sorted(s.id for s in sales),
                sorted(o.sale.id for o in orders))
            for reservation in Reservation.search([
                        ('product.code', 'in', SKUS)]):
                self.assertIn(reservation.api_order.id, ids)
                self.assertEqual(
                    reservation.sale, reservation.api_order.sale)
                self.assertIsNotNone(reservation.move)
            self.assertEqual({o.state for o in orders}, {'processed'})
            self.assertEqual({s.state for s in sales}, {'processing'})
            self.assertEqual(
                Idempotency.search([('state', '=', 'in_flight')]), [])
            self.assertEqual(Idempotency.search(
                    [('key', 'in', [k for k, _ in sent])], count=True),
                len(sent))
            self.assertEqual(Availability.check_consistency(), [])
        print(f"\nfault: {len(sent)} sent, {len(acknowledged)} acknowledged "
            f"before the kill, {len(tasks)} tasks left by the dead server "
            f"{kinds}",
            flush=True)
