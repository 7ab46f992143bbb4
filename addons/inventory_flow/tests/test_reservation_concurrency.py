"""Concurrent orders for the same SKUs never oversell (C2), PostgreSQL only:
SQLite serialises every writer, so only PostgreSQL exercises the row locks
the reservation relies on.

16 clients send 2 000 order attempts for the same 5 SKUs whose stock covers
only a few dozen orders, through the HTTP API, while a queue worker turns the
acknowledged orders into shipments: most attempts go to the all-or-nothing
channel (refused once the stock is gone, cheap), some to the back-order
channel (always taken, short lines back-ordered), some are idempotent
replays or duplicate channel references.  Afterwards every unit is accounted
for and the consistency check passes."""
import json
import random
import threading
import time
import unittest
import uuid
from collections import defaultdict
from decimal import Decimal

from trytond import backend
from trytond.modules.company.tests import set_company
from trytond.pool import Pool
from trytond.protocols.wrappers import Response
from trytond.tests.test_tryton import Client, RouteTestCase
from trytond.transaction import Transaction
from trytond.wsgi import app

from .test_api import API, order_body, setup_order_fixture
from .tools import QueueWorkers, SuiteDatabaseMixin

CLIENTS = 16
ATTEMPTS = 2000
SKUS = [f'HOT{i}' for i in range(5)]
# Allocatable stock per SKU: a pick bin and a reserve bin; the quarantine
# and the blocked bin hold 50 more of each that must never be promised.
PICK, RESERVE = 8, 12
STOCK = PICK + RESERVE


def add_hot_products(fixture):
    "The 5 hot SKUs with their limited stock"
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
    bins = fixture['bins']
    with set_company(company):
        templates = Template.create([{
                    'name': sku, 'code': sku, 'type': 'goods',
                    'default_uom': unit.id, 'sale_uom': unit.id,
                    'salable': True, 'list_price': Decimal(1),
                    'account_category': category.id,
                    'products': [('create', [{}])],
                    } for sku in SKUS])
        moves = Move.create([{
                    'product': t.products[0].id, 'unit': unit.id,
                    'quantity': quantity, 'from_location': supplier.id,
                    'to_location': bin_, 'company': company.id,
                    'unit_price': Decimal(1),
                    'currency': company.currency.id,
                    } for t in templates for bin_, quantity in [
                    (bins['pick'][0], PICK), (bins['reserve'][0], RESERVE),
                    (bins['quarantine'], 50), (bins['blocked'], 50)]])
        with Transaction().set_context(_skip_warnings=True):
            Move.do(moves)
    return {t.code: t.products[0].id for t in templates}


@unittest.skipUnless(backend.name == 'postgresql',
    "needs PostgreSQL: SQLite serialises every writer, so concurrent "
    "reservations cannot race there")
class ReservationConcurrencyTestCase(SuiteDatabaseMixin, RouteTestCase):
    "Test concurrent reservations"
    module = 'inventory_flow'
    fixture = None

    @classmethod
    def setUpDatabase(cls):
        cls.fixture = setup_order_fixture()
        cls.fixture['hot'] = add_hot_products(cls.fixture)

    def _worker(self, number, attempts, results, errors):
        client = Client(app, Response)
        rng = random.Random(number)
        url = f'/{self.db_name}{API}/orders'
        sent = []

        def post(body, key):
            response = client.post(url, data=json.dumps(body),
                content_type='application/json', headers={
                    'Authorization': f"Bearer {self.fixture['key']}",
                    'Idempotency-Key': key,
                    })
            results.append((number, key, body, response.status_code,
                    json.loads(response.data)))

        try:
            for i in range(attempts):
                draw = rng.random()
                if sent and draw < 0.04:
                    # a replay: same key, same body
                    post(*rng.choice(sent))
                    continue
                if sent and draw < 0.06:
                    # the same channel order again under another key
                    body, _ = rng.choice(sent)
                    post(body, str(uuid.uuid4()))
                    continue
                channel = 'SHOP' if draw < 0.12 else 'STRICT'
                lines = [{'sku': sku, 'quantity': rng.randint(1, 3),
                        'unit_price': '1'}
                    for sku in rng.sample(SKUS, rng.randint(1, 2))]
                body = order_body(f'C-{number}-{i}', lines=lines,
                    channel=channel)
                body['customer']['email'] = f'buyer{number}@example.com'
                key = str(uuid.uuid4())
                sent.append((body, key))
                post(body, key)
        except Exception as exception:  # reported by the test thread
            errors.append(exception)

    def test_no_oversell(self):
        "2000 concurrent attempts never promise a unit twice"
        results, errors = [], []
        per_client = [ATTEMPTS // CLIENTS] * CLIENTS
        per_client[0] += ATTEMPTS - sum(per_client)
        start = time.monotonic()
        with QueueWorkers(self.db_name, count=1) as workers:
            threads = [threading.Thread(target=self._worker,
                    args=(n, per_client[n], results, errors))
                for n in range(CLIENTS)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            # The invariant holds while orders are still being processed
            with Transaction().start(self.db_name, 0, readonly=True):
                self.assertEqual(Pool().get(
                        'stock.availability').check_consistency(), [])
        elapsed = time.monotonic() - start
        self.assertEqual(errors, [])
        self.assertEqual(workers.errors, [])
        self.assertEqual(len(results), ATTEMPTS)

        # Every answer is a 201 or a refusal that names its reason
        acknowledged, firsts = {}, {}
        for number, key, body, status, answer in results:
            reason = answer.get('error')
            self.assertIn((status, reason), {(201, None),
                    (409, 'insufficient_stock'), (409, 'duplicate_order')},
                answer)
            if status != 201:
                continue
            if key in firsts:
                # a replay returns the first answer
                self.assertEqual(answer, firsts[key])
            firsts.setdefault(key, answer)
            reference = body['channel_reference']
            if reference in acknowledged:
                self.assertEqual(answer['id'], acknowledged[reference][1]['id'])
            acknowledged[reference] = (body, answer)

        reserved = defaultdict(float)
        short_skus = set()
        for body, order in acknowledged.values():
            for asked, line in zip(body['lines'], order['lines']):
                self.assertEqual(line['sku'], asked['sku'])
                self.assertAlmostEqual(
                    line['reserved'] + line['backorder'], asked['quantity'])
                if body['channel'] == 'STRICT':
                    self.assertEqual(line['backorder'], 0)
                elif line['backorder']:
                    short_skus.add(asked['sku'])
                reserved[asked['sku']] += line['reserved']
        ids = {order['id'] for _, order in acknowledged.values()}

        with Transaction().start(self.db_name, 0, readonly=True):
            pool = Pool()
            Availability = pool.get('stock.availability')
            Reservation = pool.get('stock.reservation')
            ApiOrder = pool.get('inventory.api.order')
            Idempotency = pool.get('inventory.api.idempotency')
            self.assertEqual(Availability.check_consistency(), [])
            hot = list(self.fixture['hot'].values())
            stock = defaultdict(lambda: [0.0, 0.0])
            bins = self.fixture['bins']
            allocatable = {bins['pick'][0], bins['reserve'][0]}
            for row in Availability.search([('product', 'in', hot)]):
                self.assertLessEqual(row.reserved, row.on_hand + 1e-9)
                if row.location.id in allocatable:
                    stock[row.product.code][0] += row.on_hand
                    stock[row.product.code][1] += row.reserved
                else:
                    # quarantine and blocked stock is never promised
                    self.assertEqual(row.reserved, 0, row.location.code)
            by_sku = defaultdict(float)
            for reservation in Reservation.search([
                        ('product', 'in', hot)]):
                self.assertEqual(reservation.state, 'reserved')
                # no reservation without an acknowledged order, and the
                # sale made from the order is the one it promises to
                self.assertIn(reservation.api_order.id, ids)
                self.assertEqual(reservation.sale, reservation.api_order.sale)
                by_sku[reservation.product.code] += reservation.quantity
            for sku in SKUS:
                on_hand, held = stock[sku]
                # zero oversell, every unit accounted for
                self.assertEqual(on_hand, STOCK, sku)
                self.assertLessEqual(held, STOCK, sku)
                self.assertAlmostEqual(held, reserved[sku], msg=sku)
                self.assertAlmostEqual(by_sku[sku], reserved[sku], msg=sku)
                if sku in short_skus:
                    # a back-ordered line took everything left
                    self.assertAlmostEqual(held, STOCK, msg=sku)
            # each acknowledged order exists exactly once, and so does its
            # sale once made
            orders = ApiOrder.search([('channel_reference', 'like', 'C-%')])
            self.assertEqual({o.id for o in orders}, ids)
            sales = [o.sale for o in orders if o.sale]
            self.assertEqual(len({s.id for s in sales}), len(sales))
            self.assertEqual(
                {s.channel_reference for s in sales},
                {o.channel_reference for o in orders if o.sale})
            self.assertEqual(
                Idempotency.search([('state', '=', 'in_flight')]), [])
            processed = len([s for s in sales if s.state == 'processing'])
            for sale in sales:
                if sale.state == 'processing':
                    # processed by the worker: every reservation has its
                    # assigned move
                    for reservation in sale.reservations:
                        self.assertEqual(reservation.move.state, 'assigned')
        print(f"\nconcurrency: {ATTEMPTS} attempts by {CLIENTS} clients in "
            f"{elapsed:.0f} s, {len(ids)} orders, {processed} processed in "
            f"{workers.ran} queue tasks, "
            f"reserved {dict(reserved)}", flush=True)
