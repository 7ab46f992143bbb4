"""Concurrent orders for the same SKUs never oversell (C2), PostgreSQL only:
SQLite serialises every writer, so only PostgreSQL exercises the row locks
the reservation relies on."""
import json
import random
import threading
import unittest
import uuid
from collections import defaultdict

from trytond import backend
from trytond.pool import Pool
from trytond.tests.test_tryton import Client, RouteTestCase
from trytond.transaction import Transaction
from trytond.wsgi import app
from trytond.protocols.wrappers import Response

from .test_api import API, order_body, setup_order_fixture
from .tools import SuiteDatabaseMixin

THREADS = 8
ORDERS_PER_THREAD = 15
# What a new order can get: the pick and reserve bins; the quarantine and
# blocked bins hold 50 more WATER that must never be promised.
ALLOCATABLE = {'WATER': 40, 'MILK': 30}


@unittest.skipUnless(backend.name == 'postgresql',
    "needs PostgreSQL concurrency")
class ReservationConcurrencyTestCase(SuiteDatabaseMixin, RouteTestCase):
    "Test concurrent reservations"
    module = 'inventory_flow'
    fixture = None

    @classmethod
    def setUpDatabase(cls):
        cls.fixture = setup_order_fixture()

    def _worker(self, number, results, errors):
        client = Client(app, Response)
        rng = random.Random(number)
        try:
            for i in range(ORDERS_PER_THREAD):
                lines = [{'sku': sku, 'quantity': rng.randint(1, 3),
                        'unit_price': '1'}
                    for sku in rng.sample(sorted(ALLOCATABLE), 2)]
                body = order_body(f'C-{number}-{i}', lines=lines)
                body['customer']['email'] = f'buyer{number}@example.com'
                response = client.post(
                    f'/{self.db_name}{API}/orders', data=json.dumps(body),
                    content_type='application/json', headers={
                        'Authorization': f"Bearer {self.fixture['key']}",
                        'Idempotency-Key': str(uuid.uuid4()),
                        })
                results.append(
                    (body, response.status_code, json.loads(response.data)))
        except Exception as exception:  # reported by the test thread
            errors.append(exception)

    def test_no_oversell(self):
        "Concurrent orders for the same SKUs never promise a unit twice"
        results, errors = [], []
        threads = [threading.Thread(target=self._worker,
                args=(n, results, errors)) for n in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual(errors, [])
        self.assertEqual(len(results), THREADS * ORDERS_PER_THREAD)
        statuses = {status for _, status, _ in results}
        self.assertEqual(statuses, {201}, [
                r for _, s, r in results if s != 201][:3])
        demand, reserved = defaultdict(float), defaultdict(float)
        for body, _, order in results:
            for asked, line in zip(body['lines'], order['lines']):
                self.assertEqual(line['sku'], asked['sku'])
                self.assertAlmostEqual(
                    line['reserved'] + line['backorder'], asked['quantity'])
                demand[asked['sku']] += asked['quantity']
                reserved[asked['sku']] += line['reserved']
        for sku, stock in ALLOCATABLE.items():
            # zero oversell, and no unit left idle while an order wanted it
            self.assertEqual(reserved[sku], min(stock, demand[sku]), sku)

        with Transaction().start(self.db_name, 0, readonly=True):
            pool = Pool()
            Availability = pool.get('stock.availability')
            Reservation = pool.get('stock.reservation')
            Sale = pool.get('sale.sale')
            self.assertEqual(Availability.check_consistency(), [])
            for row in Availability.search([]):
                self.assertLessEqual(row.reserved, row.on_hand + 1e-9)
            blocked = [self.fixture['bins']['quarantine'],
                self.fixture['bins']['blocked']]
            self.assertEqual(Reservation.search([
                        ('location', 'in', blocked)]), [])
            self.assertEqual(
                Sale.search([('channel_reference', 'like', 'C-%')],
                    count=True), THREADS * ORDERS_PER_THREAD)
            by_sku = defaultdict(float)
            for reservation in Reservation.search(
                    [('state', '=', 'reserved')]):
                by_sku[reservation.product.code] += reservation.quantity
            self.assertEqual(dict(by_sku), dict(reserved))
