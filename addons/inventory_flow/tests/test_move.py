"""Internal moves by scan and pick-face replenishment (B3): a move order
done line by line through the scanner step, ad-hoc moves for managers,
every refusal of issue 11 with nothing changed, replenishment proposals
(FEFO, no duplicate, wave demand) and the access rights."""
import base64
import datetime as dt
import json
import uuid
from contextlib import contextmanager
from decimal import Decimal

from trytond.model.exceptions import AccessError
from trytond.model.modelview import AccessButtonError
from trytond.modules.company.tests import create_company, set_company
from trytond.modules.inventory_flow.gs1 import GS
from trytond.modules.inventory_flow.layout import RackBlock
from trytond.modules.inventory_flow.scanner import ScanFailure, run_step
from trytond.modules.inventory_flow.tests.tools import SuiteDatabaseMixin
from trytond.pool import Pool
from trytond.protocols.wrappers import HTTPStatus
from trytond.tests.test_tryton import DB_NAME, RouteTestCase
from trytond.transaction import Transaction

GTIN_WATER = '04006381333931'
GTIN_MILK = '05901234123457'


def setup_move_fixture():
    """Bins, two products (milk with lots, FEFO), stock in pick faces,
    reserve and quarantine, and the users; return their ids."""
    pool = Pool()
    User = pool.get('res.user')
    ModelData = pool.get('ir.model.data')
    Location = pool.get('stock.location')
    Template = pool.get('product.template')
    Uom = pool.get('product.uom')
    Lot = pool.get('stock.lot')
    Move = pool.get('stock.move')
    Availability = pool.get('stock.availability')
    from trytond.modules.inventory_flow.location import generate_layout

    company = create_company()
    admin, = User.search([('login', '=', 'admin')])
    admin.password = 'password'
    admin.save()
    operator, manager = User.create([{
                'name': 'Otto Operator', 'login': 'mover',
                'password': 'password-mover',
                'groups': [('add', [ModelData.get_id(
                                'inventory_flow', 'group_operator')])],
                }, {
                'name': 'Mia Manager', 'login': 'boss',
                'password': 'password-boss',
                'groups': [('add', [ModelData.get_id(
                                'inventory_flow', 'group_manager')])],
                }])
    User.write([admin, operator, manager], {
            'companies': [('add', [company.id])], 'company': company.id})
    unit, = Uom.search([('name', '=', 'Unit')])
    with set_company(company):
        warehouse, = Location.search([('type', '=', 'warehouse')])
        supplier, = Location.search([('code', '=', 'SUP')])
        pick = generate_layout(warehouse, RackBlock('A', 1, 1, 3, 1),
            zone='pick')
        reserve = generate_layout(warehouse, RackBlock('R', 1, 1, 3, 1),
            zone='reserve')
        blocked, = generate_layout(warehouse, RackBlock('B', 1, 1, 1, 1),
            zone='reserve')
        blocked.blocked = True
        blocked.save()
        quarantine, = generate_layout(
            warehouse, RackBlock('Q', 1, 1, 1, 1), zone='quarantine')
        templates = Template.create([{
                    'name': name, 'type': 'goods', 'default_uom': unit.id,
                    'expiration_state': expiration,
                    'products': [('create', [{
                                    'identifiers': [('create', [{
                                                    'type': 'ean',
                                                    'code': gtin}])],
                                    }])],
                    } for name, expiration, gtin in [
                    ('Water', 'none', GTIN_WATER[1:]),
                    ('Milk', 'optional', GTIN_MILK[1:])]])
        water, milk = [t.products[0] for t in templates]
        today = dt.date.today()
        old, early, late = Lot.create([
                {'number': 'M-OLD', 'product': milk.id,
                    'expiration_date': today + dt.timedelta(days=5)},
                {'number': 'M-EARLY', 'product': milk.id,
                    'expiration_date': today + dt.timedelta(days=20)},
                {'number': 'M-LATE', 'product': milk.id,
                    'expiration_date': today + dt.timedelta(days=60)},
                ])
        moves = Move.create([{
                    'product': p.id, 'unit': unit.id, 'quantity': q,
                    'lot': lot.id if lot else None,
                    'from_location': supplier.id, 'to_location': b.id,
                    'company': company.id, 'unit_price': Decimal(1),
                    'currency': company.currency.id,
                    } for p, lot, b, q in [
                    (water, None, pick[0], 10),
                    (water, None, reserve[0], 40),
                    (water, None, quarantine, 20),
                    (milk, old, pick[1], 6),
                    (milk, late, reserve[1], 50),
                    (milk, early, reserve[2], 8),
                    ]])
        with Transaction().set_context(_skip_warnings=True):
            Move.do(moves)
        assert not Availability.check_consistency()
    return {
        'company': company.id, 'warehouse': warehouse.id,
        'admin': admin.id, 'operator': operator.id, 'manager': manager.id,
        'water': water.id, 'milk': milk.id,
        'lots': {l.number: l.id for l in [old, early, late]},
        'pick': [b.id for b in pick], 'reserve': [b.id for b in reserve],
        'blocked': blocked.id, 'quarantine': quarantine.id,
        }


def gs1(gtin, lot=None, quantity=None):
    scan = ']C101' + gtin
    if lot:
        scan += '10' + lot + GS
    if quantity is not None:
        scan += f'37{quantity}'
    return scan.rstrip(GS)


class MoveTestCase(SuiteDatabaseMixin, RouteTestCase):
    "Test internal moves and pick-face replenishment"
    module = 'inventory_flow'
    fixture = None

    @classmethod
    def setUpDatabase(cls):
        cls.fixture = setup_move_fixture()
        Transaction().commit()

    # -- helpers -------------------------------------------------------------

    @contextmanager
    def start(self, user='admin', commit=False):
        "A transaction as user, rolled back unless commit"
        pool = Pool(DB_NAME)
        User = pool.get('res.user')
        with Transaction().start(
                DB_NAME, self.fixture[user],
                context={'company': self.fixture['company']}) as transaction:
            context = User.get_preferences(context_only=True)
            with transaction.set_context(context):
                try:
                    yield transaction
                finally:
                    if not commit:
                        transaction.rollback()

    def step(self, state, value):
        "Run one scan of the move step; return the screen"
        return run_step('move', state, value, str(uuid.uuid4()))

    def refused(self, state, value, code):
        "The scan is refused with code and changes nothing"
        before = self.snapshot()
        with self.assertRaises(ScanFailure) as context:
            self.step(state, value)
        self.assertEqual(context.exception.code, code,
            context.exception.message)
        self.assertEqual(self.snapshot(), before)
        return context.exception.message

    def snapshot(self):
        pool = Pool()
        Move = pool.get('stock.move')
        Shipment = pool.get('stock.shipment.internal')
        Availability = pool.get('stock.availability')
        return (
            sorted((m.id, m.state, m.quantity) for m in Move.search([])),
            sorted((s.id, s.state) for s in Shipment.search([])),
            sorted((a.id, a.on_hand, a.reserved)
                for a in Availability.search([])))

    def bin(self, key, index=None):
        Location = Pool().get('stock.location')
        value = self.fixture[key]
        return Location(value[index] if index is not None else value)

    def code(self, key, index=None):
        return self.bin(key, index).code

    def free(self, product, key, index=None, lot=None):
        from trytond.modules.inventory_flow.internal_move import (
            free_quantity)
        Product = Pool().get('product.product')
        Lot = Pool().get('stock.lot')
        on_hand, reserved = free_quantity(
            Product(self.fixture[product]), self.bin(key, index),
            Lot(self.fixture['lots'][lot]) if lot else None)
        return on_hand, reserved

    def consistent(self):
        Availability = Pool().get('stock.availability')
        self.assertEqual(Availability.check_consistency(), [])

    def move_order(self, lines, state='waiting'):
        "A move order of lines (product, lot, quantity, source, target)"
        pool = Pool()
        Shipment = pool.get('stock.shipment.internal')
        Location = pool.get('stock.location')
        warehouse = Location(self.fixture['warehouse'])
        storage = warehouse.storage_location
        shipment, = Shipment.create([{
                    'company': self.fixture['company'],
                    'from_location': storage.id, 'to_location': storage.id,
                    'moves': [('create', [{
                                    'product': self.fixture[p],
                                    'unit': Pool().get('product.product')(
                                        self.fixture[p]).default_uom.id,
                                    'quantity': q,
                                    'lot': self.fixture['lots'][lot]
                                    if lot else None,
                                    'from_location': s.id,
                                    'to_location': t.id,
                                    'company': self.fixture['company'],
                                    } for p, lot, q, s, t in lines])],
                    }])
        if state == 'waiting':
            Shipment.wait([shipment])
        else:
            Shipment.set_number([shipment])
        return Shipment(shipment.id)

    def reserve_for_order(self, key, index, product, quantity):
        "An order's assigned move out of the bin (a reservation)"
        pool = Pool()
        Move = pool.get('stock.move')
        Location = pool.get('stock.location')
        customer, = Location.search([('code', '=', 'CUS')])
        move, = Move.create([{
                    'product': self.fixture[product],
                    'unit': Pool().get('product.product')(
                        self.fixture[product]).default_uom.id,
                    'quantity': quantity,
                    'from_location': self.fixture[key][index],
                    'to_location': customer.id,
                    'company': self.fixture['company'],
                    'unit_price': Decimal(1),
                    'currency': Pool().get('company.company')(
                        self.fixture['company']).currency.id,
                    }])
        with Transaction().set_context(_skip_warnings=True):
            Move.assign([move])
        return move

    # -- move orders ---------------------------------------------------------

    def test_move_order_by_scan(self):
        "A move order done line by line by an operator; refusals on the way"
        with self.start('operator'):
            order = self.move_order([
                    ('water', None, 5, self.bin('reserve', 0),
                        self.bin('pick', 0)),
                    ('milk', 'M-EARLY', 4, self.bin('reserve', 2),
                        self.bin('pick', 1)),
                    ])
            screen = self.step({}, None)
            self.assertIn(order.number, [a['value'] for a in screen['actions']])
            self.assertNotIn('__adhoc__',
                [a['value'] for a in screen['actions']])
            screen = self.step({}, order.number)
            self.assertEqual(len(screen['lines']), 2)
            state = screen['state']
            self.assertIn(self.code('reserve', 0), screen['prompt'])

            # the wrong source bin, an unknown one
            message = self.refused(state, self.code('pick', 2), 'wrong_bin')
            self.assertIn(self.code('reserve', 0), message)
            self.refused(state, 'NO-SUCH-BIN', 'unknown_bin')
            screen = self.step(state, self.code('reserve', 0))
            state = screen['state']
            # a product not on the order at that bin
            self.refused(state, GTIN_MILK, 'not_on_order')
            screen = self.step(state, GTIN_WATER)
            state = screen['state']
            self.assertEqual(screen['input'], 'quantity')
            # a quantity that is not a number, too much for the line
            self.refused(state, 'five', 'quantity_not_numeric')
            self.refused(state, '6', 'quantity_over_line')
            self.refused(state, '0', 'quantity_not_positive')
            screen = self.step(state, '5')
            state = screen['state']
            # the wrong target bin
            message = self.refused(state, self.code('pick', 2),
                'wrong_target')
            self.assertIn(self.code('pick', 0), message)
            screen = self.step(state, self.code('pick', 0))
            self.assertEqual(screen['level'], 'success')
            self.assertEqual(self.free('water', 'pick', 0), (15, 0))
            self.assertEqual(self.free('water', 'reserve', 0), (35, 0))
            self.consistent()

            # the milk line: GS1 with the wrong lot, then lot and quantity
            state = screen['state']
            screen = self.step(state, self.code('reserve', 2))
            state = screen['state']
            self.refused(state, gs1(GTIN_MILK, 'M-LATE'), 'wrong_lot')
            screen = self.step(state, gs1(GTIN_MILK, 'M-EARLY', 4))
            self.assertEqual(screen['state']['phase'], 'target')
            screen = self.step(screen['state'], self.code('pick', 1))
            self.assertIn(order.number, screen['message'])
            order = Pool().get('stock.shipment.internal')(order.id)
            self.assertEqual(order.state, 'done')
            self.assertEqual(
                self.free('milk', 'pick', 1, 'M-EARLY'), (4, 0))
            self.consistent()
            # a done order cannot be opened again
            self.refused({}, order.number, 'order_closed')

    def test_partial_line_and_assigned_order(self):
        "Part of a line is done, the rest stays to do; an assigned line"
        with self.start('operator'):
            Shipment = Pool().get('stock.shipment.internal')
            order = self.move_order([
                    ('water', None, 8, self.bin('reserve', 0),
                        self.bin('pick', 0))])
            Shipment.assign([order])
            self.assertEqual(Shipment(order.id).state, 'assigned')
            # its own reservation does not block the move
            self.assertEqual(self.free('water', 'reserve', 0), (40, 8))
            state = self.step({}, order.number)['state']
            state = self.step(state, self.code('reserve', 0))['state']
            state = self.step(state, GTIN_WATER)['state']
            state = self.step(state, '3')['state']
            screen = self.step(state, self.code('pick', 0))
            order = Shipment(order.id)
            self.assertEqual(order.state, 'assigned')
            self.assertEqual(sorted((m.state, m.quantity)
                    for m in order.moves), [('done', 3), ('draft', 5)])
            self.assertEqual(self.free('water', 'reserve', 0), (37, 0))
            self.consistent()
            state = self.step(screen['state'], self.code('reserve', 0))[
                'state']
            state = self.step(state, gs1(GTIN_WATER, quantity=5))['state']
            self.step(state, self.code('pick', 0))
            self.assertEqual(Shipment(order.id).state, 'done')
            self.consistent()

    def test_reserved_stock_refused(self):
        "A move may not take stock promised to an order"
        with self.start('operator'):
            self.reserve_for_order('pick', 0, 'water', 7)
            order = self.move_order([
                    ('water', None, 5, self.bin('pick', 0),
                        self.bin('pick', 2))])
            state = self.step({}, order.number)['state']
            state = self.step(state, self.code('pick', 0))['state']
            state = self.step(state, GTIN_WATER)['state']
            message = self.refused(state, '5', 'reserved')
            self.assertIn('7', message)
            self.assertIn('3', message)
            # the refusal holds at execution too (no stale state trusted)
            from trytond.modules.inventory_flow.internal_move import (
                MoveRefused, execute_move)
            with self.assertRaises(MoveRefused):
                execute_move(order.moves[0], 5)
            state = self.step(state, '3')['state']
            self.assertEqual(self.step(state, self.code('pick', 2))['level'],
                'success')
            self.assertEqual(self.free('water', 'pick', 0), (7, 7))
            self.consistent()

    def test_quarantine_and_blocked(self):
        "Quarantined stock is not moved; no move into quarantine or blocked"
        with self.start('manager'):
            screen = self.step({}, '__adhoc__')
            state = screen['state']
            self.refused(state, self.code('quarantine'), 'quarantine')
            state = self.step(state, self.code('pick', 0))['state']
            state = self.step(state, GTIN_WATER)['state']
            self.refused(state, '11', 'quantity_over_bin')
            state = self.step(state, '4')['state']
            self.refused(state, self.code('blocked'), 'blocked')
            self.refused(state, self.code('quarantine'), 'quarantine')
            self.refused(state, self.code('pick', 0), 'same_bin')
            order = self.move_order([
                    ('water', None, 5, self.bin('quarantine'),
                        self.bin('pick', 0))])
            order_state = self.step({}, order.number)['state']
            self.refused(order_state, self.code('quarantine'), 'quarantine')

    # -- ad-hoc moves --------------------------------------------------------

    def test_adhoc_move_by_manager(self):
        "A manager moves stock without an order: a done one-line order"
        with self.start('manager'):
            Shipment = Pool().get('stock.shipment.internal')
            before = Shipment.search_count([])
            screen = self.step({}, None)
            self.assertIn('__adhoc__', [a['value'] for a in screen['actions']])
            # scanning a bin on the first screen starts an ad-hoc move
            screen = self.step({}, self.code('reserve', 2))
            state = screen['state']
            self.refused(state, GTIN_WATER, 'not_in_bin')
            self.refused(state, gs1(GTIN_MILK, 'M-LATE'), 'not_in_bin')
            state = self.step(state, GTIN_MILK)['state']
            self.assertEqual(state['lot'], self.fixture['lots']['M-EARLY'])
            state = self.step(state, '2')['state']
            screen = self.step(state, self.code('pick', 2))
            self.assertEqual(screen['level'], 'success')
            self.assertEqual(Shipment.search_count([]), before + 1)
            shipment, = Shipment.search([], order=[('id', 'DESC')], limit=1)
            self.assertEqual(shipment.state, 'done')
            self.assertEqual(self.free('milk', 'pick', 2, 'M-EARLY'), (2, 0))
            self.consistent()

    def test_adhoc_move_denied_to_operator(self):
        "Operators execute move orders but start no ad-hoc move"
        with self.start('operator'):
            self.refused({}, '__adhoc__', 'adhoc_forbidden')
            self.refused({}, self.code('pick', 0), 'adhoc_forbidden')
            self.refused({'adhoc': True, 'phase': 'source'},
                self.code('pick', 0), 'adhoc_forbidden')
            self.refused({}, 'MO-NOTHING', 'unknown_order')

    # -- replenishment -------------------------------------------------------

    def face(self, product, index, minimum, maximum):
        PickFace = Pool().get('stock.pick_face')
        face, = PickFace.create([{
                    'company': self.fixture['company'],
                    'location': self.fixture['pick'][index],
                    'product': self.fixture[product],
                    'minimum': minimum, 'maximum': maximum}])
        return face

    def test_replenishment_proposed_fefo_and_done(self):
        "Under its minimum a face gets one proposal, FEFO, done by scan"
        with self.start('manager'):
            pool = Pool()
            PickFace = pool.get('stock.pick_face')
            Shipment = pool.get('stock.shipment.internal')
            water = self.face('water', 0, 5, 30)
            milk = self.face('milk', 1, 10, 20)
            self.assertEqual((water.on_hand, milk.on_hand), (10, 6))
            proposals = PickFace.replenish_all()
            # water holds 10 >= 5: nothing; milk 6 < 10: up to 20
            self.assertEqual([s.pick_face for s in proposals], [milk])
            order, = proposals
            self.assertEqual(order.state, 'draft')
            # FEFO: all of the lot expiring first, then the next one
            self.assertEqual(
                sorted((m.lot.number, m.quantity, m.from_location.code,
                        m.to_location.code) for m in order.moves),
                [('M-EARLY', 8, self.code('reserve', 2),
                        self.code('pick', 1)),
                    ('M-LATE', 6, self.code('reserve', 1),
                        self.code('pick', 1))])
            self.assertEqual(PickFace(milk.id).open_order, order)
            # no duplicate while it is open
            self.assertEqual(PickFace.replenish_all(), [])
            PickFace.propose([PickFace(milk.id)])
            self.assertEqual(Shipment.search_count(
                    [('pick_face', '=', milk.id)]), 1)
            # a draft proposal is done from the scanner
            state = self.step({}, order.number)['state']
            for source, scan in [
                    (self.code('reserve', 2), gs1(GTIN_MILK, 'M-EARLY', 8)),
                    (self.code('reserve', 1), gs1(GTIN_MILK, 'M-LATE', 6))]:
                state = self.step(state, source)['state']
                state = self.step(state, scan)['state']
                state = self.step(state, self.code('pick', 1))['state']
            self.assertEqual(Shipment(order.id).state, 'done')
            self.assertEqual(PickFace(milk.id).on_hand, 20)
            self.assertIsNone(PickFace(milk.id).open_order)
            self.consistent()

    def test_replenishment_for_wave_demand(self):
        "A wave needing more than the face holds triggers a proposal"
        with self.start('manager'):
            PickFace = Pool().get('stock.pick_face')
            water = self.face('water', 0, 5, 30)
            self.assertEqual(PickFace.replenish([water]), [])
            order, = PickFace.replenish([water], demand={water.id: 12})
            # level 10 - 12 = -2: back to 30 needs 32, reserve holds 40
            self.assertEqual([m.quantity for m in order.moves], [32])

    def test_replenishment_for_wave_shipments(self):
        "The wave hook: what the released shipments still need is demand"
        with self.start('admin'):
            pool = Pool()
            PickFace = pool.get('stock.pick_face')
            ShipmentOut = pool.get('stock.shipment.out')
            Party = pool.get('party.party')
            Location = pool.get('stock.location')
            Company = pool.get('company.company')
            company = Company(self.fixture['company'])
            warehouse = Location(self.fixture['warehouse'])
            customer, = Party.create([{'name': 'Customer',
                        'addresses': [('create', [{}])]}])
            water = self.face('water', 0, 5, 30)
            shipment = ShipmentOut(company=company, customer=customer,
                delivery_address=customer.addresses[0], warehouse=warehouse)
            shipment.on_change_warehouse()
            output = shipment.warehouse_output
            shipment.save()
            ShipmentOut.write([shipment], {
                        'outgoing_moves': [('create', [{
                                        'product': self.fixture['water'],
                                        'unit': water.product.default_uom.id,
                                        'quantity': 25,
                                        'from_location': output.id,
                                        'to_location':
                                        customer.customer_location.id,
                                        'company': company.id,
                                        'unit_price': Decimal(1),
                                        'currency': company.currency.id,
                                        }])],
                        })
            ShipmentOut.wait([shipment])
            self.assertEqual(
                [m.state for m in ShipmentOut(shipment.id).inventory_moves],
                ['draft'])
            order, = PickFace.replenish_for_shipments([shipment])
            # level 10 - 25 = -15: back to 30 needs 45, reserve holds 40
            self.assertEqual(order.pick_face, water)
            self.assertEqual([m.quantity for m in order.moves], [40])

    def test_pick_face_rules_validated(self):
        "A maximum under the minimum, a duplicate face: refused"
        from trytond.exceptions import UserError
        with self.start('manager'):
            with self.assertRaises(UserError):
                self.face('water', 0, 10, 5)
        with self.start('manager'):
            self.face('water', 0, 1, 5)
            with self.assertRaises(UserError):
                self.face('water', 0, 2, 6)

    def test_access_rights(self):
        "Operators read pick faces; only managers edit them and propose"
        with self.start('manager', commit=True):
            face = self.face('water', 0, 50, 60)
        try:
            with self.start('operator') as transaction:
                PickFace = Pool().get('stock.pick_face')
                with transaction.set_context(_check_access=True):
                    self.assertEqual(PickFace.search([]), [face])
                    with self.assertRaises(AccessError):
                        PickFace.create([{
                                    'company': self.fixture['company'],
                                    'location': self.fixture['pick'][2],
                                    'product': self.fixture['milk'],
                                    'minimum': 1, 'maximum': 2}])
                    with self.assertRaises(AccessError):
                        PickFace.write([face], {'minimum': 1})
                    with self.assertRaises(AccessButtonError):
                        PickFace.propose([face])
            with self.start('manager') as transaction:
                pool = Pool()
                PickFace = pool.get('stock.pick_face')
                Shipment = pool.get('stock.shipment.internal')
                with transaction.set_context(_check_access=True):
                    PickFace.propose([PickFace(face.id)])
                    self.assertEqual(Shipment.search_count(
                            [('pick_face', '=', face.id)]), 1)
        finally:
            with self.start('admin', commit=True):
                pool = Pool()
                Shipment = pool.get('stock.shipment.internal')
                shipments = Shipment.search([('pick_face', '=', face.id)])
                Shipment.cancel(shipments)
                Shipment.delete(shipments)
                pool.get('stock.pick_face').delete([face])

    # -- through HTTP --------------------------------------------------------

    def post(self, scan, state=None, user='mover', password='password-mover'):
        response = self.client().post(
            f'/{DB_NAME}/scanner/step',
            data=json.dumps({'step': 'move', 'scan': scan,
                    'state': state or {}, 'key': str(uuid.uuid4())}),
            headers={'Authorization': 'Basic ' + base64.b64encode(
                        f'{user}:{password}'.encode()).decode()},
            content_type='application/json')
        return response.status_code, json.loads(response.data)

    def test_route(self):
        "The step through the scanner route: JSON refusals, a done line"
        with self.start('admin', commit=True):
            order = self.move_order([
                    ('water', None, 2, self.bin('reserve', 0),
                        self.bin('pick', 2))])
            number, order_id = order.number, order.id
            source, target = self.code('reserve', 0), self.code('pick', 2)
        try:
            status, screen = self.post(number)
            self.assertEqual(status, HTTPStatus.OK, screen)
            status, error = self.post(target, screen['state'])
            self.assertEqual((status, error['error']),
                (HTTPStatus.UNPROCESSABLE_ENTITY, 'wrong_bin'))
            status, screen = self.post(source, screen['state'])
            status, screen = self.post(GTIN_WATER, screen['state'])
            status, screen = self.post('2', screen['state'])
            status, screen = self.post(target, screen['state'])
            self.assertEqual(status, HTTPStatus.OK, screen)
            status, error = self.post('__adhoc__')
            self.assertEqual((status, error['error']),
                (HTTPStatus.FORBIDDEN, 'adhoc_forbidden'))
        finally:
            with self.start('admin', commit=True):
                pool = Pool()
                Shipment = pool.get('stock.shipment.internal')
                order = Shipment(order_id)
                self.assertEqual(order.state, 'done')
                # put the stock back for the other tests
                back = self.move_order([
                        ('water', None, 2, self.bin('pick', 2),
                            self.bin('reserve', 0))])
                from trytond.modules.inventory_flow.internal_move import (
                    execute_move)
                execute_move(back.moves[0], 2)
                self.consistent()
