"""Route tests of the order intake API (C1, C2, D2): the happy path,
idempotency, and a corpus of bad requests that each get a JSON 4xx and leave
the database unchanged (architecture rule 7)."""
import datetime as dt
import json
import os
import unittest
import uuid
from decimal import Decimal

import yaml

from trytond import backend
from trytond.modules.company.tests import create_company, set_company
from trytond.modules.inventory_flow.layout import RackBlock
from trytond.modules.inventory_flow.location import generate_layout
from trytond.modules.inventory_flow.tests.tools import (
    QueueWorkers, SuiteDatabaseMixin)
from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME, RouteTestCase
from trytond.transaction import Transaction

API = '/inventory/api/v1'
TABLES = [
    'sale_sale', 'sale_line', 'party_party', 'party_address',
    'party_contact_mechanism', 'stock_shipment_out', 'stock_move',
    'stock_reservation', 'inventory_api_idempotency', 'inventory_api_order',
    'ir_queue', 'stock_availability']


def setup_order_fixture(stock=None):
    """Create a company, API users and keys, channels, products with GTIN and
    lots, bins and stock received through done moves.

    Return a dict of the keys and ids the tests need.  ``stock`` overrides
    the quantity received per product code."""
    pool = Pool()
    User = pool.get('res.user')
    ModelData = pool.get('ir.model.data')
    Application = pool.get('res.user.application')
    Location = pool.get('stock.location')
    Template = pool.get('product.template')
    Uom = pool.get('product.uom')
    Lot = pool.get('stock.lot')
    Move = pool.get('stock.move')
    Channel = pool.get('inventory.channel')
    Availability = pool.get('stock.availability')

    company = create_company()
    integration = ModelData.get_id('inventory_flow', 'group_integration')
    api_user, clerk = User.create([{
                'login': 'api', 'name': "Shop Integration",
                'groups': [('add', [integration])],
                'companies': [('add', [company.id])],
                'company': company.id,
                }, {
                'login': 'clerk', 'name': "Clerk",
                'companies': [('add', [company.id])],
                'company': company.id,
                }])
    keys = Application.create([
            {'user': api_user.id, 'application': 'inventory'},
            {'user': clerk.id, 'application': 'inventory'},
            {'user': api_user.id, 'application': 'inventory'},
            {'user': api_user.id, 'application': 'rest'},
            ])
    Application.cancel([keys[2]])
    Category = pool.get('product.category')
    category, = Category.create([{'name': "Goods", 'accounting': True}])
    unit, = Uom.search([('name', '=', 'Unit')])
    kg, = Uom.search([('name', '=', 'Kilogram')])
    stock = {'WATER': 40, 'MILK': 30, 'FLOUR': 100, **(stock or {})}
    with set_company(company):
        warehouse, = Location.search([('type', '=', 'warehouse')])
        supplier, = Location.search([('code', '=', 'SUP')])
        pick = generate_layout(warehouse, RackBlock('P', 1, 1, 3, 1),
            zone='pick')
        reserve = generate_layout(warehouse, RackBlock('R', 1, 1, 2, 1),
            zone='reserve')
        quarantine, = generate_layout(
            warehouse, RackBlock('Q', 1, 1, 1, 1), zone='quarantine')
        blocked, = generate_layout(warehouse, RackBlock('X', 1, 1, 1, 1),
            zone='pick')
        blocked.blocked = True
        blocked.save()
        templates = Template.create([{
                    'name': name, 'code': code, 'type': 'goods',
                    'default_uom': uom.id, 'sale_uom': uom.id,
                    'salable': salable, 'list_price': Decimal('1'),
                    'expiration_state': expiration,
                    'account_category': category.id,
                    'products': [('create', [{
                                    'identifiers': [('create', [{
                                                    'type': 'ean',
                                                    'code': gtin}])],
                                    }])],
                    } for name, code, uom, salable, expiration, gtin in [
                    ("Water 0.5 l", 'WATER', unit, True, 'none',
                        '4006381333931'),
                    ("Milk 1 l", 'MILK', unit, True, 'optional',
                        '5901234123457'),
                    ("Flour", 'FLOUR', kg, True, 'none', '4012345678901'),
                    ("Pallet Jack", 'TOOL', unit, False, 'none',
                        '9780201379624'),
                    ]])
        water, milk, flour, tool = [t.products[0] for t in templates]
        today = dt.date.today()
        expired, soon, later = Lot.create([
                {'number': 'M-EXP', 'product': milk.id,
                    'expiration_date': today - dt.timedelta(days=1)},
                {'number': 'M-SOON', 'product': milk.id,
                    'expiration_date': today + dt.timedelta(days=10)},
                {'number': 'M-LATER', 'product': milk.id,
                    'expiration_date': today + dt.timedelta(days=60)},
                ])
        half = stock['MILK'] // 2
        receipts = [
            (water, None, pick[0], stock['WATER'] // 4),
            (water, None, reserve[0], stock['WATER'] - stock['WATER'] // 4),
            (water, None, quarantine, 50),
            (water, None, blocked, 50),
            (milk, expired, pick[1], 20),
            (milk, later, pick[1], half),
            (milk, soon, reserve[1], stock['MILK'] - half),
            (flour, None, pick[2], stock['FLOUR']),
            (tool, None, pick[2], 5),
            ]
        moves = Move.create([{
                    'product': p.id, 'unit': p.default_uom.id,
                    'quantity': q, 'lot': lot.id if lot else None,
                    'from_location': supplier.id, 'to_location': b.id,
                    'company': company.id, 'unit_price': Decimal('1'),
                    'currency': company.currency.id,
                    } for p, lot, b, q in receipts if q])
        with Transaction().set_context(_skip_warnings=True):
            Move.do(moves)
        shop, strict = Channel.create([{
                    'code': 'SHOP', 'name': "Web Shop", 'company': company.id,
                    'warehouse': warehouse.id,
                    'reservation_policy': 'backorder',
                    'owner': clerk.id,
                    }, {
                    'code': 'STRICT', 'name': "Marketplace",
                    'company': company.id, 'warehouse': warehouse.id,
                    'reservation_policy': 'all_or_nothing',
                    'minimum_shelf_life': 30,
                    }])
        # Two carriers: "SF Express" names one; "Post" names none
        Party = pool.get('party.party')
        Carrier = pool.get('carrier')
        sf, post = Party.create([{'name': "SF Express"}, {'name': "Post"}])
        service, = Template.create([{
                    'name': "Parcel", 'type': 'service',
                    'default_uom': unit.id, 'salable': True,
                    'sale_uom': unit.id,
                    'list_price': Decimal('5'),
                    'products': [('create', [{}])]}])
        Carrier.create([
                {'party': sf.id, 'carrier_product': service.products[0].id},
                ])
        assert not Availability.check_consistency()
    return {
        'key': keys[0].key, 'clerk_key': keys[1].key, 'clerk': clerk.id,
        'revoked_key': keys[2].key, 'rest_key': keys[3].key,
        'company': company.id, 'warehouse': warehouse.id,
        'products': {p.code: p.id for p in [water, milk, flour, tool]},
        'lots': {l.number: l.id for l in [expired, soon, later]},
        'bins': {
            'pick': [b.id for b in pick], 'reserve': [b.id for b in reserve],
            'quarantine': quarantine.id, 'blocked': blocked.id},
        }


def order_body(reference, lines=None, channel='SHOP', **extra):
    return {
        'channel': channel,
        'channel_reference': reference,
        'customer': {
            'name': "Li Wei", 'email': 'li.wei@example.com',
            'address': {'street': "1 Nanjing Road", 'postal_code': '200000',
                'city': "Shanghai"},
            },
        'lines': lines or [{'sku': 'WATER', 'quantity': 2,
                'unit_price': '0.80'}],
        **extra,
        }


def table_counts(database=DB_NAME):
    "Return the row counts and reserved total the corpus must not change"
    with Transaction().start(database, 0, readonly=True) as transaction:
        cursor = transaction.connection.cursor()
        counts = {}
        for table in TABLES:
            cursor.execute(f'SELECT COUNT(*) FROM "{table}"')
            counts[table] = cursor.fetchone()[0]
        cursor.execute(
            'SELECT COALESCE(SUM(reserved), 0) FROM "stock_availability"')
        counts['reserved'] = round(cursor.fetchone()[0], 6)
        return counts


class OrderAPITestCase(SuiteDatabaseMixin, RouteTestCase):
    "Test the order intake API"
    module = 'inventory_flow'
    fixture = None

    @classmethod
    def setUpDatabase(cls):
        cls.fixture = setup_order_fixture()

    def post(self, body, key=None, token=None, headers=None, raw=None,
            content_type='application/json'):
        all_headers = {
            'Authorization': f"Bearer {token or self.fixture['key']}",
            'Idempotency-Key': key or str(uuid.uuid4()),
            }
        all_headers.update(headers or {})
        all_headers = {k: v for k, v in all_headers.items() if v is not None}
        data = raw if raw is not None else json.dumps(body)
        return self.client().post(f'/{self.db_name}{API}/orders',
            data=data, headers=all_headers, content_type=content_type)

    def get(self, path, token=None):
        return self.client().get(f'/{self.db_name}{API}{path}', headers={
                'Authorization': f"Bearer {token or self.fixture['key']}"})

    def locking(self, func):
        "Run func in a transaction restarted for the locks it asks for"
        from trytond.transaction import TransactionError
        extras = {}
        while True:
            with Transaction().start(self.db_name, 0, **extras) as transaction:
                try:
                    result = func()
                except TransactionError as error:
                    transaction.rollback()
                    error.fix(extras)
                    continue
                transaction.commit()
                return result

    def sale_of(self, order_id):
        "The id of the sale made from the API order"
        with Transaction().start(self.db_name, 0, readonly=True):
            sale = Pool().get('inventory.api.order')(order_id).sale
            return sale.id if sale else None

    def consistency(self):
        with Transaction().start(self.db_name, 0, readonly=True):
            return Pool().get('stock.availability').check_consistency()

    def assertError(self, response, status, code=None):
        self.assertEqual(response.status_code, status, response.data)
        self.assertEqual(response.content_type, 'application/json')
        body = json.loads(response.data)
        self.assertEqual(set(body) >= {'error', 'message'}, True, body)
        if code:
            self.assertEqual(body['error'], code, body)
        self.assertTrue(body['message'])
        return body

    def test_order_reserved_fefo_and_shipment_assigned(self):
        "An order is created, reserved FEFO by bin and lot, ready to pick"
        body = order_body('T-1', lines=[
                {'sku': 'MILK', 'quantity': 12, 'unit_price': '1.20'},
                {'gtin': '04006381333931', 'quantity': 12,
                    'unit_price': 0.8},
                ], requested_ship_date=dt.date.today().isoformat(),
            carrier='SF Express')
        response = self.post(body)
        self.assertEqual(response.status_code, 201, response.data)
        received = json.loads(response.data)
        # The answer is sent once the order is taken in and reserved; the
        # sale documents are made by the queued task (run at commit here)
        self.assertEqual(received['state'], 'received')
        self.assertEqual(received['shipments'], [])
        response = self.get(f"/orders/{received['id']}")
        self.assertEqual(response.status_code, 200)
        order = json.loads(response.data)
        self.assertEqual(order['state'], 'processing')
        self.assertEqual(order['carrier'], 'SF Express')
        for before, after in zip(received['lines'], order['lines']):
            self.assertEqual(
                {k: v for k, v in before.items() if k != 'reservations'},
                {k: v for k, v in after.items() if k != 'reservations'})
            self.assertEqual(before['reservations'], after['reservations'])
        milk, water = order["lines"]
        # The expired lot is skipped, the lot expiring first is taken first
        self.assertEqual(
            [(r['lot'], r['quantity']) for r in milk['reservations']],
            [('M-SOON', 12)])
        # The pick face first, then the reserve; never quarantine/blocked
        bins = [r['bin'] for r in water['reservations']]
        self.assertIn(bins, [['P-01-1-01'], ['P-01-1-01', 'R-01-1-01'],
                ['R-01-1-01']])
        self.assertEqual(sum(r['quantity'] for r in water['reservations']), 12)
        self.assertEqual((water['reserved'], water['backorder']), (12, 0))
        shipment, = order['shipments']
        self.assertEqual(shipment['state'], 'assigned')
        # the requested carrier's text is matched to the carrier record
        self.assertEqual(shipment['carrier'], "SF Express - Parcel")
        expected = sorted(
            [('MILK', 'R-01-1-02', 'M-SOON', 12, 'assigned')]
            + [('WATER', r['bin'], None, r['quantity'], 'assigned')
                for r in water['reservations']])
        with Transaction().start(self.db_name, 0, readonly=True):
            Shipment = Pool().get('stock.shipment.out')
            shipment = Shipment(shipment['id'])
            self.assertEqual(sorted(
                    (m.product.code, m.from_location.code,
                        m.lot.number if m.lot else None, m.quantity,
                        m.state) for m in shipment.inventory_moves),
                expected)
        self.assertEqual(self.consistency(), [])

    def test_backorder_and_stock(self):
        "A short line reserves what is available and back-orders the rest"
        response = self.post(order_body('T-2', lines=[
                    {'sku': 'FLOUR', 'quantity': 60.5, 'unit_price': 2}]))
        self.assertEqual(response.status_code, 201, response.data)
        response = self.post(order_body('T-3', lines=[
                    {'sku': 'FLOUR', 'quantity': 50, 'unit_price': 2}],
                carrier="Post"))
        self.assertEqual(response.status_code, 201, response.data)
        order = json.loads(response.data)
        line, = order['lines']
        self.assertEqual((line['reserved'], line['backorder']), (39.5, 10.5))
        order = json.loads(self.get(f"/orders/{order['id']}").data)
        line, = order['lines']
        self.assertEqual((line['reserved'], line['backorder']), (39.5, 10.5))
        shipment, = order['shipments']
        self.assertEqual(shipment['state'], 'waiting')
        # "Post" names no carrier: the packer chooses, the text stays
        self.assertEqual(
            (order['carrier'], shipment['carrier']), ("Post", None))
        # The channel's owner is told (C2); the back-order stays a draft
        # move of the shipment, demand for the purchase suggestions
        sale_id = self.sale_of(order['id'])
        with Transaction().start(self.db_name, 0, readonly=True):
            pool = Pool()
            Notification = pool.get('res.notification')
            Shipment = pool.get('stock.shipment.out')
            notifications = Notification.search([
                    ('user', '=', self.fixture['clerk']),
                    ('model', '=', 'sale.sale'),
                    ('records', '=', json.dumps([sale_id])),
                    ])
            self.assertEqual(len(notifications), 1)
            self.assertIn('FLOUR 10.5', notifications[0].description)
            self.assertEqual(sorted((m.state, m.quantity) for m in
                    Shipment(shipment['id']).inventory_moves),
                [('assigned', 39.5), ('draft', 10.5)])
        response = self.get('/stock?sku=FLOUR')
        self.assertEqual(response.status_code, 200)
        stock, = json.loads(response.data)['warehouses']
        self.assertEqual(
            (stock['on_hand'], stock['reserved'], stock['available']),
            (100, 100, 0))
        response = self.get('/stock?gtin=4006381333931')
        stock, = json.loads(response.data)['warehouses']
        # quarantine and the blocked bin are on hand but not available
        self.assertEqual(stock['on_hand'] - stock['available'],
            100 + stock['reserved'])
        self.assertEqual(self.consistency(), [])

    def run_queue(self):
        "Run the queued tasks as a worker would"
        from trytond.worker import run_task
        with Transaction().start(self.db_name, 0, readonly=True):
            Queue = Pool().get('ir.queue')
            tasks = [t.id for t in Queue.search([('finished_at', '=', None)])]
        for task in tasks:
            run_task(self.db_name, task)
        return len(tasks)

    def test_queued_processing(self):
        "The order is answered once reserved; a queued task makes the rest"
        with QueueWorkers(self.db_name, count=0):
            response = self.post(order_body('Q-1', lines=[
                        {'sku': 'WATER', 'quantity': 3, 'unit_price': 1}]))
            self.assertEqual(response.status_code, 201, response.data)
            order = json.loads(response.data)
            got = json.loads(self.get(f"/orders/{order['id']}").data)
            self.assertEqual(got, order)
            self.assertEqual(got['state'], 'received')
            # The reservation rows without move count as reserved
            self.assertEqual(self.consistency(), [])
            self.assertEqual(order['lines'][0]['reserved'], 3)
        self.assertEqual(self.run_queue(), 1)
        got = json.loads(self.get(f"/orders/{order['id']}").data)
        self.assertEqual(got['state'], 'processing')
        self.assertEqual(got['shipments'][0]['state'], 'assigned')
        self.assertEqual(got['lines'][0]['reservations'],
            order['lines'][0]['reservations'])
        self.assertEqual(self.consistency(), [])
        # Running the task again changes nothing
        with Transaction().start(self.db_name, 0) as transaction:
            pool = Pool()
            ApiOrder = pool.get('inventory.api.order')
            Sale = pool.get('sale.sale')
            ApiOrder.process([ApiOrder(order['id'])])
            Sale.process_api_order([ApiOrder(order['id']).sale])
            transaction.commit()
        self.assertEqual(json.loads(self.get(f"/orders/{order['id']}").data),
            got)
        self.assertEqual(self.consistency(), [])

    def set_salable(self, code, salable):
        with Transaction().start(self.db_name, 0) as transaction:
            Product = Pool().get('product.product')
            product = Product(self.fixture['products'][code])
            product.template.salable = salable
            product.template.save()
            transaction.commit()

    def test_processing_refused_holds_order(self):
        "An order its sale cannot be made of is held; its stock given back"
        before = table_counts()
        with QueueWorkers(self.db_name, count=0):
            response = self.post(order_body('Q-HELD', lines=[
                        {'sku': 'WATER', 'quantity': 5, 'unit_price': 1}]))
            self.assertEqual(response.status_code, 201, response.data)
        order = json.loads(response.data)
        self.assertEqual(table_counts()['reserved'], before['reserved'] + 5)
        # Before the task runs, the product is withdrawn from sale: Tryton
        # refuses the sale line, and would at every retry
        self.set_salable('WATER', False)
        try:
            self.assertEqual(self.run_queue(), 1)
        finally:
            self.set_salable('WATER', True)
        got = json.loads(self.get(f"/orders/{order['id']}").data)
        self.assertEqual(got['state'], 'held')
        self.assertIn('Product', got['error'])
        self.assertEqual(got['shipments'], [])
        self.assertEqual(
            {r['state'] for r in got['lines'][0]['reservations']},
            {'released'})
        self.assertEqual(got['lines'][0]['reserved'], 0)
        self.assertEqual(table_counts()['reserved'], before['reserved'])
        self.assertEqual(self.sale_of(order['id']), None)
        self.assertEqual(self.consistency(), [])
        with Transaction().start(self.db_name, 0, readonly=True):
            pool = Pool()
            Notification = pool.get('res.notification')
            ApiOrder = pool.get('inventory.api.order')
            api_order = ApiOrder(order['id'])
            held, = Notification.search([
                    ('model', '=', 'inventory.api.order'),
                    ('records', '=', json.dumps([api_order.id]))])
            self.assertIn('Q-HELD', held.label)
            self.assertEqual(held.user, api_order.channel.owner)
        # The product is salable again: a manager retries the order, its
        # sale is made; the stock it gave back is assigned by Tryton
        with Transaction().start(self.db_name, 0) as transaction:
            ApiOrder = Pool().get('inventory.api.order')
            ApiOrder.retry([ApiOrder(order['id'])])
            transaction.commit()
        self.run_queue()
        got = json.loads(self.get(f"/orders/{order['id']}").data)
        self.assertEqual(got['state'], 'processing')
        self.assertEqual(got['error'], None)
        self.assertEqual(got['lines'][0]['backorder'], 5)
        self.assertEqual(self.consistency(), [])

    def test_processing_refused_after_sale_holds_order(self):
        "An order whose sale the processing refuses is held with its sale"
        from unittest import mock

        from trytond.exceptions import UserError
        before = table_counts()
        with QueueWorkers(self.db_name, count=0):
            response = self.post(order_body('Q-HELD2', lines=[
                        {'sku': 'WATER', 'quantity': 2, 'unit_price': 1}]))
            self.assertEqual(response.status_code, 201, response.data)
        order = json.loads(response.data)
        with Transaction().start(self.db_name, 0, readonly=True):
            Sale = Pool().get('sale.sale')

        def refuse(cls, sales):
            raise UserError("The credit limit of the customer is exceeded.")
        with mock.patch.object(Sale, 'quote', classmethod(refuse)):
            self.assertEqual(self.run_queue(), 1)
        got = json.loads(self.get(f"/orders/{order['id']}").data)
        self.assertEqual(got['state'], 'held')
        self.assertIn('credit limit', got['error'])
        self.assertEqual(table_counts()['reserved'], before['reserved'])
        self.assertEqual(self.consistency(), [])
        with Transaction().start(self.db_name, 0, readonly=True):
            pool = Pool()
            ApiOrder = pool.get('inventory.api.order')
            api_order = ApiOrder(order['id'])
            self.assertEqual(api_order.state, 'held')
            self.assertEqual(api_order.sale.state, 'draft')
            self.assertIn('credit limit', api_order.sale.api_error)

    def test_api_order_access(self):
        "Managers cancel API orders; sale users read them; operators not"
        from trytond.model.exceptions import AccessError
        from trytond.model.modelview import AccessButtonError
        with QueueWorkers(self.db_name, count=0):
            response = self.post(order_body('Q-ACL', lines=[
                        {'sku': 'WATER', 'quantity': 1, 'unit_price': 1}]))
            self.assertEqual(response.status_code, 201, response.data)
        order_id = json.loads(response.data)['id']
        with Transaction().start(self.db_name, 0) as transaction:
            pool = Pool()
            User = pool.get('res.user')
            ModelData = pool.get('ir.model.data')
            users = {}
            for login, group in [
                    ('acl-operator', ('inventory_flow', 'group_operator')),
                    ('acl-manager', ('inventory_flow', 'group_manager')),
                    ('acl-seller', ('sale', 'group_sale')),
                    ]:
                user, = User.create([{
                            'login': login, 'name': login,
                            'groups': [('add', [ModelData.get_id(*group)])],
                            'companies': [('add',
                                    [self.fixture['company']])],
                            'company': self.fixture['company'],
                            }])
                users[login] = user.id
            transaction.commit()

        def as_user(login):
            return Transaction().start(self.db_name, users[login],
                context={'_check_access': True,
                    'company': self.fixture['company']})
        with as_user('acl-operator'):
            ApiOrder = Pool().get('inventory.api.order')
            with self.assertRaises(AccessError):
                ApiOrder.read([order_id], ['state'])
        with as_user('acl-seller'):
            ApiOrder = Pool().get('inventory.api.order')
            self.assertEqual(
                ApiOrder.read([order_id], ['state'])[0]['state'], 'received')
            with self.assertRaises(AccessButtonError):
                ApiOrder.cancel([ApiOrder(order_id)])

        def cancel():
            ApiOrder = Pool().get('inventory.api.order')
            with Transaction().set_user(users['acl-manager']), \
                    Transaction().set_context(_check_access=True,
                        company=self.fixture['company']):
                ApiOrder.cancel([ApiOrder(order_id)])
        self.locking(cancel)
        self.assertEqual(self.run_queue(), 1)
        got = json.loads(self.get(f"/orders/{order_id}").data)
        self.assertEqual(got['state'], 'cancelled')
        self.assertEqual(self.consistency(), [])

    def test_lost_task_processed_by_cron(self):
        "An order whose task was lost is processed by the scheduled action"
        import datetime as dt_
        with QueueWorkers(self.db_name, count=0):
            response = self.post(order_body('Q-LOST', lines=[
                        {'sku': 'WATER', 'quantity': 1, 'unit_price': 1}]))
            self.assertEqual(response.status_code, 201, response.data)
        order_id = json.loads(response.data)['id']
        with Transaction().start(self.db_name, 0) as transaction:
            pool = Pool()
            Queue = pool.get('ir.queue')
            Cron = pool.get('ir.cron')
            ModelData = pool.get('ir.model.data')
            Queue.delete(Queue.search([('finished_at', '=', None)]))
            cron = Cron(ModelData.get_id(
                    'inventory_flow', 'cron_process_waiting_api_orders'))
            self.assertEqual(
                cron.method, 'inventory.api.order|process_waiting')
            transaction.commit()

        def waiting():
            Pool().get('inventory.api.order').process_waiting()
        # Received just now: left to its task
        self.locking(waiting)
        got = json.loads(self.get(f"/orders/{order_id}").data)
        self.assertEqual(got['state'], 'received')
        # Ten minutes later, still waiting: the scheduled action takes it
        with Transaction().start(self.db_name, 0) as transaction:
            ApiOrder = Pool().get('inventory.api.order')
            ApiOrder.write([ApiOrder(order_id)], {
                    'received_at': dt_.datetime.now()
                    - dt_.timedelta(minutes=10)})
            transaction.commit()
        self.locking(waiting)
        got = json.loads(self.get(f"/orders/{order_id}").data)
        self.assertEqual(got['state'], 'processing')
        self.assertEqual(got['shipments'][0]['state'], 'assigned')
        self.assertEqual(self.consistency(), [])

    def test_assign_by_hand_before_processing(self):
        "Tryton's assign_try leaves alone the stock of an unprocessed order"
        with QueueWorkers(self.db_name, count=0):
            response = self.post(order_body('Q-HAND', lines=[
                        {'sku': 'WATER', 'quantity': 3, 'unit_price': 1}]))
            self.assertEqual(response.status_code, 201, response.data)
        reservation, = json.loads(response.data)['lines'][0]['reservations']
        on_hand = {'P-01-1-01': 10, 'R-01-1-01': 30}[reservation['bin']]
        # Before the queued task runs, someone ships the whole bin by hand
        # (assign_try locks the move table, as the RPC retry would)
        with Transaction().start(self.db_name, 0,
                _lock_tables=['stock_move']) as transaction:
            pool = Pool()
            Move = pool.get('stock.move')
            Location = pool.get('stock.location')
            bin_, = Location.search([('code', '=', reservation['bin'])])
            customer, = Location.search([('code', '=', 'CUS')])
            water = pool.get('product.product')(
                self.fixture['products']['WATER'])
            company = pool.get('company.company')(self.fixture['company'])
            with set_company(company):
                move, = Move.create([{
                            'product': water.id,
                            'unit': water.default_uom.id,
                            'quantity': on_hand, 'from_location': bin_.id,
                            'to_location': customer.id,
                            'company': company.id,
                            'unit_price': Decimal('1'),
                            'currency': company.currency.id,
                            }])
                self.assertFalse(Move.assign_try([move], with_childs=False))
                assigned = Move.search([('product', '=', water.id),
                        ('from_location', '=', bin_.id),
                        ('to_location', '=', customer.id),
                        ('state', '=', 'assigned')])
            # only what the order did not promise
            self.assertEqual(
                sum(m.quantity for m in assigned), on_hand - 3)
            transaction.commit()
        self.assertEqual(self.run_queue(), 1)
        got = json.loads(self.get(
                f"/orders/{json.loads(response.data)['id']}").data)
        self.assertEqual(got['shipments'][0]['state'], 'assigned')
        self.assertEqual(self.consistency(), [])

    def test_cancel_before_processing(self):
        "An order cancelled before its processing gives its stock back"
        before = table_counts()
        with QueueWorkers(self.db_name, count=0):
            response = self.post(order_body('Q-2', lines=[
                        {'sku': 'WATER', 'quantity': 4, 'unit_price': 1}]))
            self.assertEqual(response.status_code, 201, response.data)
            order = json.loads(response.data)
        self.assertEqual(table_counts()['reserved'], before['reserved'] + 4)
        def cancel():
            pool = Pool()
            ApiOrder = pool.get('inventory.api.order')
            Reservation = pool.get('stock.reservation')
            ApiOrder.cancel([ApiOrder(order['id'])])
            self.assertEqual({r.state for r in Reservation.search(
                            [('api_order', '=', order['id'])])},
                {'released'})
        self.locking(cancel)
        self.assertEqual(table_counts()['reserved'], before['reserved'])
        self.assertEqual(self.consistency(), [])
        self.assertEqual(self.run_queue(), 1)
        got = json.loads(self.get(f"/orders/{order['id']}").data)
        self.assertEqual(got['state'], 'cancelled')
        self.assertEqual(got['shipments'], [])
        self.assertEqual(self.consistency(), [])

    def test_purge_cron(self):
        "A daily cron purges finished keys older than two days only"
        with Transaction().start(self.db_name, 0) as transaction:
            pool = Pool()
            Cron = pool.get('ir.cron')
            ModelData = pool.get('ir.model.data')
            Idempotency = pool.get('inventory.api.idempotency')
            cron = Cron(ModelData.get_id(
                    'inventory_flow', 'cron_purge_idempotency'))
            self.assertEqual(cron.method, 'inventory.api.idempotency|purge')
            self.assertIn(cron.method,
                dict(Cron.fields_get(['method'])['method']['selection']))
            now = dt.datetime.now()
            old, recent, stuck = Idempotency.create([{
                        'key': f'purge-{i}', 'request_hash': 'x',
                        'state': state, 'claimed_at': now - age,
                        } for i, (state, age) in enumerate([
                            ('done', dt.timedelta(days=3)),
                            ('done', dt.timedelta(hours=20)),
                            ('in_flight', dt.timedelta(days=3)),
                            ])])
            Cron.run_once([cron])
            self.assertEqual(
                Idempotency.search([('key', 'like', 'purge-%')],
                    order=[('key', 'ASC')]), [recent, stuck])
            # Never less than 24 hours
            Idempotency.purge(older_than=dt.timedelta(hours=1))
            self.assertEqual(
                Idempotency.search([('key', 'like', 'purge-%')],
                    order=[('key', 'ASC')]), [recent, stuck])
            transaction.rollback()

    def test_idempotent_replay(self):
        "The same key and body return the first response and create nothing"
        key = str(uuid.uuid4())
        body = order_body('T-4')
        first = self.post(body, key=key)
        self.assertEqual(first.status_code, 201, first.data)
        before = table_counts()
        again = self.post(body, key=key)
        self.assertEqual(again.status_code, 201)
        self.assertEqual(again.data, first.data)
        self.assertEqual(again.headers.get('Idempotent-Replayed'), 'true')
        self.assertEqual(table_counts(), before)
        other = self.post(order_body('T-4b'), key=key)
        self.assertError(other, 422, 'idempotency_key_reused')
        duplicate = self.post(body)
        body = self.assertError(duplicate, 409, 'duplicate_order')
        self.assertEqual(body['order_id'], json.loads(first.data)['id'])
        self.assertEqual(table_counts(), before)

    def test_in_flight(self):
        "A replay while the first request is processed gets 409"
        body = order_body('T-5')
        key = str(uuid.uuid4())
        with Transaction().start(self.db_name, 0) as transaction:
            from trytond.modules.inventory_flow.api import canonical_hash
            Idempotency = Pool().get('inventory.api.idempotency')
            Idempotency.create([{
                        'key': key, 'request_hash': canonical_hash(body),
                        'state': 'in_flight',
                        'claimed_at': dt.datetime.now()}])
            transaction.commit()
        before = table_counts()
        self.assertError(self.post(body, key=key), 409, 'request_in_flight')
        self.assertEqual(table_counts(), before)

    @unittest.skipUnless(backend.name == 'postgresql',
        "advisory locks are PostgreSQL's")
    def test_in_flight_locked(self):
        "A request whose key is locked by a running one gets 409 at once"
        from trytond.modules.inventory_flow.api import _lock_key
        body = order_body('T-5b')
        key = str(uuid.uuid4())
        before = table_counts()
        # A running request of another server process holds the lock
        database = backend.Database(self.db_name).connect()
        connection = database.get_connection()
        try:
            _lock_key(type('T', (), {'connection': connection}), key)
            self.assertError(
                self.post(body, key=key), 409, 'request_in_flight')
        finally:
            connection.rollback()
            database.put_connection(connection)
        self.assertEqual(table_counts(), before)
        # The lock ends with its transaction (also when its server dies)
        self.assertEqual(self.post(body, key=key).status_code, 201)

    def test_all_or_nothing_refuses_short_order(self):
        "The all-or-nothing channel refuses a short order and keeps nothing"
        before = table_counts()
        response = self.post(order_body('S-1', channel='STRICT', lines=[
                    {'sku': 'WATER', 'quantity': 1, 'unit_price': 1},
                    {'sku': 'MILK', 'quantity': 29, 'unit_price': 1},
                    ]))
        body = self.assertError(response, 409, 'insufficient_stock')
        self.assertEqual(body['short'][1]['sku'], 'MILK')
        self.assertEqual(table_counts(), before)

    def test_language(self):
        "Messages follow Accept-Language"
        response = self.post(order_body('L-1', channel='NOPE'),
            headers={'Accept-Language': 'zh-CN'})
        body = self.assertError(response, 422, 'unknown_channel')
        self.assertIn('NOPE', body['message'])

    def test_get_errors(self):
        "Reading endpoints refuse bad requests with JSON errors"
        self.assertError(self.get('/orders/999999'), 404, 'order_not_found')
        self.assertError(self.get('/stock'), 400, 'sku_or_gtin')
        self.assertError(self.get('/stock?sku=NOPE'), 404, 'unknown_product')
        self.assertError(self.get('/stock?sku=WATER',
                token=self.fixture['clerk_key']), 403, 'forbidden')
        self.assertError(self.get('/stock?sku=WATER', token='bad'), 401)
        response = self.client().delete(
            f'/{self.db_name}{API}/stock?sku=WATER', headers={
                'Authorization': f"Bearer {self.fixture['key']}"})
        self.assertError(response, 405, 'method_not_allowed')
        # found by the schemathesis fuzz: a malformed id and an unusual
        # method got werkzeug's HTML pages instead of the API's JSON
        for order_id in ['null,null', '0', '-1', 'x' * 300, '9' * 30]:
            with self.subTest(order_id=order_id):
                self.assertError(
                    self.get(f'/orders/{order_id}'), 404, 'order_not_found')
        self.assertError(self.get('/orders/1', token='bad'), 401)
        for method in ['TRACE', 'QUERY']:
            with self.subTest(method=method):
                response = self.client().open(
                    f'/{self.db_name}{API}/stock?sku=WATER', method=method,
                    headers={
                        'Authorization': f"Bearer {self.fixture['key']}"})
                self.assertError(response, 405, 'method_not_allowed')
        response = self.client().post(f'/{self.db_name}{API}/openapi.yaml')
        self.assertError(response, 405, 'method_not_allowed')

    def test_internal_error_is_json_500(self):
        "An unexpected failure answers a JSON 500 and applies nothing"
        from unittest import mock

        from trytond.modules.inventory_flow import api
        before = table_counts()

        def broken(*args, **kwargs):
            raise RuntimeError("disk on fire")
        with mock.patch.object(api, 'create_order', broken), \
                self.assertLogs('trytond.modules.inventory_flow.api',
                    'ERROR'):
            response = self.post(order_body('E-500', lines=[
                        {'sku': 'WATER', 'quantity': 1, 'unit_price': 1}]))
        body = self.assertError(response, 500, 'internal_error')
        self.assertNotIn('disk on fire', body['message'])
        self.assertEqual(table_counts(), before)

    def test_openapi(self):
        "The OpenAPI document is served and valid OpenAPI 3.1"
        from openapi_spec_validator import validate
        response = self.client().get(f'/{self.db_name}{API}/openapi.yaml')
        self.assertEqual(response.status_code, 200)
        spec = yaml.safe_load(response.data)
        validate(spec)
        self.assertEqual(spec['openapi'], '3.1.0')
        path = os.path.join(os.path.dirname(__file__), '..', '..', '..',
            'docs', 'api', 'openapi.yaml')
        with open(path, 'rb') as fp:
            self.assertEqual(fp.read(), response.data)

    def test_bad_requests(self):
        "Every bad request gets a JSON 4xx naming the problem, DB unchanged"
        today = dt.date.today()
        good_line = {'sku': 'WATER', 'quantity': 1, 'unit_price': 1}

        def with_(path, value, base=None):
            body = json.loads(json.dumps(base or order_body('B-1')))
            target = body
            *parents, last = path
            for p in parents:
                target = target[p]
            if value is KeyError:
                del target[last]
            else:
                target[last] = value
            return body

        f = self.fixture
        corpus = [
            # (name, kwargs of post, status, error code)
            ('no authorization', dict(
                    body=order_body('B-1'), headers={'Authorization': None}),
                401, None),
            ('unknown key', dict(body=order_body('B-1'), token='x' * 32),
                401, None),
            ('revoked key', dict(body=order_body('B-1'),
                    token=f['revoked_key']), 401, None),
            ('key of another application', dict(body=order_body('B-1'),
                    token=f['rest_key']), 401, None),
            ('unknown scheme', dict(body=order_body('B-1'),
                    headers={'Authorization': 'Token abc'}), 401, None),
            ('not in Integration group', dict(body=order_body('B-1'),
                    token=f['clerk_key']), 403, 'forbidden'),
            ('missing idempotency key', dict(body=order_body('B-1'),
                    headers={'Idempotency-Key': None}),
                400, 'missing_idempotency_key'),
            ('idempotency key too long', dict(body=order_body('B-1'),
                    key='k' * 129), 400, 'invalid_idempotency_key'),
            ('idempotency key with space', dict(body=order_body('B-1'),
                    key='a b'), 400, 'invalid_idempotency_key'),
            ('not JSON content type', dict(body=order_body('B-1'),
                    content_type='text/plain'), 415,
                'unsupported_media_type'),
            ('invalid JSON', dict(body=None, raw='{"channel": '),
                400, 'invalid_json'),
            ('empty body', dict(body=None, raw=''), 400, 'invalid_json'),
            ('not UTF-8', dict(body=None, raw=b'{"channel": "\xff"}'),
                400, 'invalid_json'),
            ('array body', dict(body=[order_body('B-1')]),
                400, 'invalid_body'),
            ('string body', dict(body='order'), 400, 'invalid_body'),
            ('oversized body', dict(body=None,
                    raw=json.dumps(order_body('B-1', carrier='x' * 300000))),
                413, None),
            ('missing channel', dict(body=with_(['channel'], KeyError)),
                422, 'missing_field'),
            ('channel not a string', dict(body=with_(['channel'], 7)),
                422, 'invalid_type'),
            ('unknown channel', dict(body=with_(['channel'], 'NOPE')),
                422, 'unknown_channel'),
            ('empty channel reference', dict(
                    body=with_(['channel_reference'], '  ')),
                422, 'missing_field'),
            ('channel reference too long', dict(
                    body=with_(['channel_reference'], 'r' * 65)),
                422, 'too_long'),
            ('unknown field', dict(body=with_(['discount'], 5)),
                422, 'unknown_field'),
            ('missing customer', dict(body=with_(['customer'], KeyError)),
                422, 'missing_field'),
            ('customer not an object', dict(
                    body=with_(['customer'], 'Li Wei')), 422, 'invalid_type'),
            ('missing e-mail', dict(
                    body=with_(['customer', 'email'], KeyError)),
                422, 'missing_field'),
            ('invalid e-mail', dict(
                    body=with_(['customer', 'email'], 'li.wei')),
                422, 'invalid_value'),
            ('control character in name', dict(
                    body=with_(['customer', 'name'], 'Li\x00Wei')),
                422, 'invalid_value'),
            ('missing address', dict(
                    body=with_(['customer', 'address'], KeyError)),
                422, 'missing_field'),
            ('missing street', dict(body=with_(
                        ['customer', 'address', 'street'], KeyError)),
                422, 'missing_field'),
            ('country not a code', dict(body=with_(
                        ['customer', 'address', 'country'], 'CHN')),
                422, 'too_long'),
            ('unknown country', dict(body=with_(
                        ['customer', 'address', 'country'], 'ZZ')),
                422, 'invalid_value'),
            ('missing lines', dict(body=with_(['lines'], KeyError)),
                422, 'missing_field'),
            ('no lines', dict(body=with_(['lines'], [])),
                422, 'line_count'),
            ('too many lines', dict(body=with_(['lines'], [good_line] * 201)),
                422, 'line_count'),
            ('lines not an array', dict(body=with_(['lines'], good_line)),
                422, 'invalid_type'),
            ('line not an object', dict(body=with_(['lines'], ['WATER'])),
                422, 'invalid_type'),
            ('sku and gtin', dict(body=with_(['lines', 0, 'gtin'],
                        '4006381333931')), 422, 'sku_or_gtin'),
            ('neither sku nor gtin', dict(body=with_(['lines', 0, 'sku'],
                        KeyError)), 422, 'sku_or_gtin'),
            ('unknown SKU', dict(body=with_(['lines', 0, 'sku'], 'NOPE')),
                422, 'unknown_product'),
            ('unknown GTIN', dict(body=with_(['lines', 0], {
                            'gtin': '4006381333938', 'quantity': 1,
                            'unit_price': 1})), 422, 'unknown_product'),
            ('GTIN not digits', dict(body=with_(['lines', 0], {
                            'gtin': '40063813339A1', 'quantity': 1,
                            'unit_price': 1})), 422, 'invalid_value'),
            ('product not salable', dict(body=with_(['lines', 0, 'sku'],
                        'TOOL')), 422, 'product_not_salable'),
            ('missing quantity', dict(body=with_(['lines', 0, 'quantity'],
                        KeyError)), 422, 'missing_field'),
            ('zero quantity', dict(body=with_(['lines', 0, 'quantity'], 0)),
                422, 'quantity_range'),
            ('negative quantity', dict(body=with_(
                        ['lines', 0, 'quantity'], -3)),
                422, 'quantity_range'),
            ('huge quantity', dict(body=with_(['lines', 0, 'quantity'],
                        10 ** 12)), 422, 'quantity_range'),
            ('fractional quantity of a unit product', dict(body=with_(
                        ['lines', 0, 'quantity'], 1.5)),
                422, 'quantity_precision'),
            ('quantity as text', dict(body=with_(['lines', 0, 'quantity'],
                        'two')), 422, 'invalid_value'),
            ('quantity as boolean', dict(body=with_(
                        ['lines', 0, 'quantity'], True)),
                422, 'invalid_type'),
            ('quantity as list', dict(body=with_(
                        ['lines', 0, 'quantity'], [1])),
                422, 'invalid_type'),
            ('quantity NaN', dict(body=None, raw=json.dumps(with_(
                            ['lines', 0, 'quantity'], float('nan')))),
                422, 'invalid_value'),
            ('missing unit price', dict(body=with_(
                        ['lines', 0, 'unit_price'], KeyError)),
                422, 'missing_field'),
            ('negative unit price', dict(body=with_(
                        ['lines', 0, 'unit_price'], '-1')),
                422, 'invalid_value'),
            ('unit price with 5 decimals', dict(body=with_(
                        ['lines', 0, 'unit_price'], '1.00001')),
                422, 'invalid_value'),
            ('ship date in the past', dict(body=with_(
                        ['requested_ship_date'],
                        (today - dt.timedelta(days=1)).isoformat())),
                422, 'ship_date_range'),
            ('ship date not a date', dict(body=with_(
                        ['requested_ship_date'], '2030-02-30')),
                422, 'invalid_value'),
            ('carrier too long', dict(body=with_(['carrier'], 'c' * 65)),
                422, 'too_long'),
            ]
        self.assertGreaterEqual(len(corpus), 40)
        before = table_counts()
        for name, kwargs, status, code in corpus:
            with self.subTest(name=name):
                response = self.post(**kwargs)
                self.assertError(response, status, code)
        response = self.client().get(f'/{self.db_name}{API}/orders',
            headers={'Authorization': f"Bearer {f['key']}"})
        self.assertError(response, 405, 'method_not_allowed')
        self.assertEqual(table_counts(), before)


class FairSlotsTestCase(unittest.TestCase):
    "The intake slots of a server process (no database)"

    def run_holders(self, size, count=8):
        """Start count threads one after the other, each holding a slot until
        released; return (slots, peak holders, order of service)"""
        import threading
        import time

        from trytond.modules.inventory_flow.api import FairSlots
        slots = FairSlots(size)
        lock = threading.Lock()
        inside, peak, served = [0], [0], []
        release = threading.Event()

        def hold(number):
            with slots:
                with lock:
                    served.append(number)
                    inside[0] += 1
                    peak[0] = max(peak[0], inside[0])
                release.wait()
                with lock:
                    inside[0] -= 1

        threads = []
        for number in range(count):
            thread = threading.Thread(target=hold, args=(number,))
            thread.start()
            threads.append(thread)
            # each one is in (or waits in line) before the next one comes
            deadline = time.monotonic() + 5
            while (len(slots.waiting) + slots.held < number + 1
                    and time.monotonic() < deadline):
                time.sleep(0.001)
        self.assertEqual(slots.held, size)
        self.assertEqual(len(slots.waiting), count - size)
        release.set()
        for thread in threads:
            thread.join(5)
        self.assertEqual((slots.held, len(slots.waiting)), (0, 0))
        return peak[0], served

    def test_in_arrival_order(self):
        "Waiters get the slot in the order they came"
        peak, served = self.run_holders(1)
        self.assertEqual(peak, 1)
        self.assertEqual(served, list(range(8)))

    def test_bounded(self):
        "Never more than `size` holders at once, and every one served"
        peak, served = self.run_holders(2)
        self.assertEqual(peak, 2)
        self.assertEqual(sorted(served), list(range(8)))
