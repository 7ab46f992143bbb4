"""Waves, batches and picking by scan on a database (C3, B4, B5): build,
release, cancel, access rights, the pick step through the scanner route with
every refused scan, a short pick re-allocated by FEFO with its count
request, the pick list PDF."""
import base64
import datetime as dt
import json
import os
import uuid
from decimal import Decimal

from trytond.exceptions import UserError
from trytond.model.exceptions import AccessError
from trytond.model.modelview import AccessButtonError
from trytond.modules.company.tests import create_company, set_company
from trytond.modules.inventory_flow.gs1 import gtin_check_digit
from trytond.modules.inventory_flow.layout import RackBlock
from trytond.modules.inventory_flow.tests.tools import SuiteDatabaseMixin
from trytond.pool import Pool
from trytond.protocols.wrappers import HTTPStatus
from trytond.tests.test_tryton import DB_NAME, RouteTestCase
from trytond.transaction import Transaction


def gtin(payload):
    return (payload + str(gtin_check_digit(payload))).zfill(14)


GTIN_SOAP = gtin('761234567891')
GTIN_MILK = gtin('761234567892')


class WaveRouteTestCase(SuiteDatabaseMixin, RouteTestCase):
    "Test waves, batches and the pick step"
    module = 'inventory_wave'

    @classmethod
    def setUpDatabase(cls):
        pool = Pool()
        User = pool.get('res.user')
        ModelData = pool.get('ir.model.data')
        Location = pool.get('stock.location')
        Party = pool.get('party.party')
        Template = pool.get('product.template')
        Uom = pool.get('product.uom')
        Lot = pool.get('stock.lot')
        Move = pool.get('stock.move')
        WaveTemplate = pool.get('stock.wave.template')
        from trytond.modules.inventory_flow.location import generate_layout

        company = create_company()
        cls.company = company.id
        admin, = User.search([('login', '=', 'admin')])
        admin.password = 'password'
        admin.save()
        users = User.create([{
                    'name': name, 'login': login,
                    'password': f'password-{login}',
                    'groups': [('add', [ModelData.get_id(
                                    'inventory_flow', group)])]
                    if group else [],
                    } for name, login, group in [
                    ('Otto Operator', 'operator', 'group_operator'),
                    ('Olga Operator', 'operator2', 'group_operator'),
                    ('Mia Manager', 'manager', 'group_manager'),
                    ('Bob Buyer', 'buyer', 'group_buyer'),
                    ]])
        User.write([admin] + users, {
                'companies': [('add', [company.id])],
                'company': company.id,
                })
        with set_company(company):
            warehouse, = Location.search([('type', '=', 'warehouse')])
            warehouse.pick_aisle_spacing = 3
            warehouse.pick_bin_width = 1
            warehouse.save()
            bins = {b.code: b for b in generate_layout(
                    warehouse, RackBlock('A', 1, 4, 10, 1), zone='pick')}
            unit, = Uom.search([('name', '=', 'Unit')])
            soap, milk = [t.products[0] for t in Template.create([{
                            'name': name, 'default_uom': unit.id,
                            'type': 'goods', 'salable': True,
                            'sale_uom': unit.id,
                            'expiration_state': state,
                            'products': [('create', [{
                                            'identifiers': [('create', [{
                                                            'type': 'ean',
                                                            'code': code}])],
                                            }])],
                            } for name, code, state in [
                            ('Soap', GTIN_SOAP, 'none'),
                            ('Milk', GTIN_MILK, 'optional')]])]
            today = dt.date.today()
            l1, l2 = Lot.create([
                    {'number': 'L1', 'product': milk.id,
                        'expiration_date': today + dt.timedelta(days=20)},
                    {'number': 'L2', 'product': milk.id,
                        'expiration_date': today + dt.timedelta(days=60)},
                    ])
            supplier = Location(ModelData.get_id('stock', 'location_supplier'))
            moves = Move.create([{
                        'product': product.id, 'unit': unit.id,
                        'quantity': quantity, 'lot': lot.id if lot else None,
                        'from_location': supplier.id,
                        'to_location': bins[code].id,
                        'company': company.id, 'unit_price': Decimal(1),
                        'currency': company.currency.id,
                        } for product, lot, code, quantity in [
                        (soap, None, 'A-01-1-03', 20),
                        (soap, None, 'A-03-1-09', 20),
                        (milk, l1, 'A-02-1-05', 5),
                        (milk, l1, 'A-04-1-02', 1),
                        (milk, l2, 'A-04-1-08', 10),
                        ]])
            with Transaction().set_context(_skip_warnings=True):
                Move.do(moves)
            customer_location = Location(
                ModelData.get_id('stock', 'location_customer'))
            Party.create([{'name': f'Customer {i}',
                        'customer_location': customer_location.id,
                        'addresses': [('create', [{}])]} for i in range(4)])
            WaveTemplate.create([{
                        'name': 'Parcel', 'warehouse': warehouse.id,
                        'cart_totes': 2, 'automatic': False,
                        }])
        Transaction().commit()

    # -- helpers ---------------------------------------------------------

    def orders(self, specs):
        """Create assigned shipments: specs is a list of lists of
        (product name, bin code, lot number, quantity)."""
        pool = Pool()
        Shipment = pool.get('stock.shipment.out')
        Move = pool.get('stock.move')
        Location = pool.get('stock.location')
        Product = pool.get('product.product')
        Lot = pool.get('stock.lot')
        Party = pool.get('party.party')
        Company = pool.get('company.company')
        company, = Company.search([])
        warehouse, = Location.search([('type', '=', 'warehouse')])
        customers = Party.search([('name', 'like', 'Customer %')])
        ModelData = pool.get('ir.model.data')
        customer_location = Location(
            ModelData.get_id('stock', 'location_customer'))
        shipments = []
        with Transaction().set_context(company=company.id):
            for i, lines in enumerate(specs):
                shipment = Shipment(
                    customer=customers[i % len(customers)],
                    company=company, warehouse=warehouse)
                shipment.on_change_customer()
                shipment.on_change_warehouse()
                shipment.save()
                values = []
                for name, code, lot, quantity in lines:
                    product, = Product.search([('name', '=', name)])
                    values.append({
                            'product': product.id,
                            'unit': product.default_uom.id,
                            'quantity': quantity,
                            'from_location': warehouse.output_location.id,
                            'to_location': customer_location.id,
                            'company': company.id,
                            'unit_price': Decimal(2),
                            'currency': company.currency.id,
                            'shipment': str(shipment),
                            })
                Move.create(values)
                Shipment.wait([shipment])
                shipment = Shipment(shipment.id)
                inventory = sorted(shipment.inventory_moves,
                    key=lambda m: m.id)
                for move, (name, code, lot, quantity) in zip(
                        inventory, lines):
                    move.from_location, = Location.search(
                        [('code', '=', code)])
                    if lot:
                        move.lot, = Lot.search([('number', '=', lot)])
                Move.save(inventory)
                Move.assign(inventory)
                Shipment.assign([shipment])
                shipments.append(Shipment(shipment.id))
        return shipments

    def post(self, step, scan, state=None, key=None, user='operator'):
        password = 'password' if user == 'admin' else f'password-{user}'
        response = self.client().post(
            f'/{DB_NAME}/scanner/step',
            data=json.dumps({'step': step, 'scan': scan,
                    'state': state or {},
                    'key': key or str(uuid.uuid4())}),
            headers={'Authorization': 'Basic ' + base64.b64encode(
                        f'{user}:{password}'.encode()).decode()},
            content_type='application/json')
        try:
            return response.status_code, json.loads(response.data)
        except ValueError:
            self.fail(f"{response.status_code}: {response.data[-3000:]}")

    def build(self):
        pool = Pool()
        Template = pool.get('stock.wave.template')
        Wave = pool.get('stock.wave')
        template, = Template.search([('name', '=', 'Parcel')])
        Template.build_waves([template])
        waves = Wave.search([('state', '=', 'draft')])
        return waves

    def user_id(self, login):
        User = Pool().get('res.user')
        user, = User.search([('login', '=', login)])
        return user.id

    # -- tests -------------------------------------------------------------

    def test_build_cancel_and_rights(self):
        "Build, access rights, cancel gives the shipments back unchanged"
        pool = Pool(DB_NAME)
        with Transaction().start(DB_NAME, 0, context={'company': self.company}):
            Wave = pool.get('stock.wave')
            Shipment = pool.get('stock.shipment.out')
            Template = pool.get('stock.wave.template')
            Availability = pool.get('stock.availability')
            shipments = self.orders([
                    [('Soap', 'A-01-1-03', None, 1)],
                    [('Soap', 'A-03-1-09', None, 1)],
                    [('Soap', 'A-01-1-03', None, 2)],
                    ])
            before = {m.id: (m.from_location.id, m.state, m.quantity)
                for s in shipments for m in s.inventory_moves}
            # A template of another order type takes none of them
            Channel = pool.get('inventory.channel')
            warehouse = shipments[0].warehouse
            channel, = Channel.create([{'code': 'SHOP', 'name': 'Shop',
                        'company': self.company, 'warehouse': warehouse.id}])
            shop, = Template.create([{'name': 'Shop only',
                        'warehouse': warehouse.id, 'channel': channel.id,
                        'cart_totes': 2, 'automatic': False}])
            Template.build_waves([shop])
            self.assertEqual(Wave.search([('template', '=', shop.id)]), [])
            Template.delete([shop])
            wave, = self.build()
            self.assertEqual(len(wave.shipments), 3)
            self.assertEqual(len(wave.batches), 2)
            self.assertEqual(
                sum(len(b.lines) for b in wave.batches), 3)
            self.assertGreater(wave.fcfs_distance, 0)
            self.assertLessEqual(wave.distance, wave.fcfs_distance)
            # Both A-01-1-03 orders share a batch and one stop
            for batch in wave.batches:
                codes = {l.location.code for l in batch.lines}
                if 'A-01-1-03' in codes:
                    self.assertEqual(len(batch.lines), 2)
                    self.assertEqual(
                        len({l.sequence for l in batch.lines}), 1)
                    self.assertEqual(
                        sorted(l.tote for l in batch.lines), [1, 2])
            # Nothing left to build
            self.assertEqual(self.build(), [wave])

            # Rights: operators read, cannot release; others see nothing
            for login, model, call in [
                    ('operator', Wave, lambda: Wave.release([wave])),
                    ('operator', Template,
                        lambda: Template.build_waves(Template.search([]))),
                    ('buyer', Wave, lambda: Wave.search([])),
                    ]:
                with self.subTest(login=login), Transaction().set_user(
                        self.user_id(login)), Transaction().set_context(
                        _check_access=True), self.assertRaises(
                        (AccessError, AccessButtonError)):
                    call()
            with Transaction().set_user(self.user_id('operator')), \
                    Transaction().set_context(_check_access=True):
                self.assertEqual(Wave.search([]), [wave])

            with Transaction().set_user(self.user_id('manager')), \
                    Transaction().set_context(_check_access=True):
                Wave.release([wave])
                Wave.cancel([wave])
            wave = Wave(wave.id)
            self.assertEqual(wave.state, 'cancelled')
            self.assertEqual(wave.shipments, ())
            self.assertEqual(
                {l.state for b in wave.batches for l in b.lines},
                {'cancelled'})
            after = {m.id: (m.from_location.id, m.state, m.quantity)
                for s in Shipment.browse(shipments)
                for m in s.inventory_moves}
            self.assertEqual(after, before)
            self.assertEqual(
                {s.state for s in Shipment.browse(shipments)}, {'assigned'})
            self.assertEqual(Availability.check_consistency(), [])
            # Cleaned up: these orders do not join the other test's wave
            Shipment.cancel(Shipment.browse(shipments))
            Transaction().commit()

    def test_cancel_after_pick_refused(self):
        "A wave with a picked task cannot be cancelled"
        pool = Pool(DB_NAME)
        with Transaction().start(DB_NAME, 0, context={'company': self.company}):
            Wave = pool.get('stock.wave')
            Shipment = pool.get('stock.shipment.out')
            from trytond.modules.inventory_wave.pick import (
                confirm_stop, current_stop)
            shipments = self.orders([[('Soap', 'A-03-1-09', None, 1)]])
            wave, = self.build()
            with self.assertRaises(UserError):
                # not released yet
                confirm_stop(current_stop(wave.batches[0]), 1)
            Wave.release([wave])
            lines = current_stop(wave.batches[0])
            with self.assertRaises(UserError):
                confirm_stop(lines, 2)
            confirm_stop(lines, 1)
            wave = Wave(wave.id)
            self.assertEqual(wave.state, 'done')
            self.assertEqual(Shipment(shipments[0].id).state, 'picked')
            Transaction().rollback()

    def test_pick_by_scan_with_short_pick(self):
        "Pick a batch by scan; a short pick re-allocates by FEFO"
        pool = Pool(DB_NAME)
        with Transaction().start(DB_NAME, 0, context={'company': self.company}):
            Wave = pool.get('stock.wave')
            shipments = self.orders([
                    [('Milk', 'A-02-1-05', 'L1', 2)],
                    [('Soap', 'A-01-1-03', None, 1)],
                    [('Milk', 'A-02-1-05', 'L1', 2)],
                    [('Soap', 'A-01-1-03', None, 3)],
                    ])
            milk_ids = {shipments[0].id, shipments[2].id}
            wave, = self.build()
            milk_batch, = [b for b in wave.batches
                if {l.shipment.id for l in b.lines} == milk_ids]
            code = milk_batch.code
            self.assertGreaterEqual(wave.saving, 0)
            Wave.release([wave])
            Transaction().commit()

        response = self.client().get(f'/{DB_NAME}/scanner/step', headers={
                'Authorization': 'Basic ' + base64.b64encode(
                    b'operator:password-operator').decode()})
        self.assertIn('pick',
            [s['name'] for s in json.loads(response.data)['steps']])
        status, screen = self.post('pick', None)
        self.assertEqual(status, HTTPStatus.OK)
        self.assertIn(code, [a['value'] for a in screen['actions']])
        status, error = self.post('pick', 'PB999999')
        self.assertEqual(
            (status, error['error']), (HTTPStatus.NOT_FOUND, 'unknown_batch'))

        status, screen = self.post('pick', code)
        self.assertEqual(status, HTTPStatus.OK, screen)
        stop = screen['stop']
        self.assertEqual(
            (stop['bin'], stop['product'], stop['lot'], stop['quantity']),
            ('A-02-1-05', 'Milk', 'L1', 4))
        self.assertEqual(sorted(t for t, _ in stop['totes']), [1, 2])
        # Another picker cannot take the batch
        status, error = self.post('pick', code, user='operator2')
        self.assertEqual(
            (status, error['error']), (HTTPStatus.CONFLICT, 'taken'))

        state = screen['state']
        for scan, code_ in [('A-01-1-03', 'wrong_bin'),
                ('NOWHERE', 'wrong_bin')]:
            status, error = self.post('pick', scan, state)
            self.assertEqual((status, error['error']),
                (HTTPStatus.UNPROCESSABLE_ENTITY, code_))
            self.assertIn('A-02-1-05', error['message'])
        status, screen = self.post('pick', 'A-02-1-05', state)
        self.assertEqual(screen['state']['phase'], 'product')
        state = screen['state']
        for scan, code_ in [
                (GTIN_SOAP, 'wrong_product'),
                (GTIN_MILK, 'lot_missing'),
                (f'(01){GTIN_MILK}(10)L2', 'wrong_lot'),
                ]:
            status, error = self.post('pick', scan, state)
            self.assertEqual((status, error['error']),
                (HTTPStatus.UNPROCESSABLE_ENTITY, code_), error)
        status, screen = self.post('pick', f'(01){GTIN_MILK}(10)L1', state)
        self.assertEqual(screen['state']['phase'], 'quantity')
        state = screen['state']
        status, error = self.post('pick', '9', state)
        self.assertEqual((status, error['error']),
            (HTTPStatus.UNPROCESSABLE_ENTITY, 'refused'))
        self.assertIn('9', error['message'])

        # The bin holds 1, not 4: short pick
        status, screen = self.post('pick', '1', state)
        self.assertEqual(status, HTTPStatus.OK, screen)
        self.assertEqual(screen['level'], 'warning')
        self.assertIn('A-02-1-05', screen['message'])
        with Transaction().start(DB_NAME, 0, readonly=True):
            Task = pool.get('stock.count.task')
            Line = pool.get('stock.wave.batch.line')
            # The picker's find is recorded as a count of the bin
            task, = Task.search([('trigger', '=', 'short_pick')])
            line, = task.lines
            self.assertEqual(
                (task.location.code, line.lot.number,
                    line.expected_quantity, line.counted_quantity,
                    task.state),
                ('A-02-1-05', 'L1', 5, 1, 'recount'))
            pending = Line.search([
                    ('batch.code', '=', code), ('state', '=', 'pending')])
            # FEFO: the rest of lot L1 first, then lot L2
            self.assertEqual(sorted(
                    (l.location.code, l.lot.number, l.quantity)
                    for l in pending),
                [('A-04-1-02', 'L1', 1), ('A-04-1-08', 'L2', 2)])
            shorts = Line.search([
                    ('batch.code', '=', code), ('state', '=', 'short')])
            self.assertEqual(
                sorted(l.picked_quantity for l in shorts), [0, 1])

        # Pick the re-allocated stops
        for _ in range(2):
            stop = screen['stop']
            state = screen['state']
            status, screen = self.post('pick', stop['bin'], state)
            self.assertEqual(status, HTTPStatus.OK, screen)
            status, screen = self.post(
                'pick', f"(01){GTIN_MILK}(10){stop['lot']}",
                screen['state'])
            self.assertEqual(status, HTTPStatus.OK, screen)
            status, screen = self.post(
                'pick', str(int(stop['quantity'])), screen['state'])
            self.assertEqual(status, HTTPStatus.OK, screen)
        self.assertTrue(screen.get('done'), screen)
        self.assertIn('Totes complete', screen['message'])

        with Transaction().start(DB_NAME, 0, readonly=True):
            Shipment = pool.get('stock.shipment.out')
            Batch = pool.get('stock.wave.batch')
            Availability = pool.get('stock.availability')
            batch, = Batch.search([('code', '=', code)])
            self.assertEqual(batch.state, 'done')
            self.assertEqual(batch.picker.login, 'operator')
            for shipment in Shipment.browse(list(milk_ids)):
                self.assertEqual(shipment.state, 'picked')
                self.assertEqual(
                    sum(m.quantity for m in shipment.inventory_moves
                        if m.state == 'done'), 2, [
                        (m.from_location.code, m.lot and m.lot.number,
                            m.quantity, m.state)
                        for m in shipment.inventory_moves])
            self.assertEqual(Availability.check_consistency(), [])

            # The pick list of the other batch, in route order
            Report = pool.get('stock.wave.batch.pick_list', type='report')
            other, = [b for b in batch.wave.batches if b != batch]
            oext, content, _, name = Report.execute([other.id, batch.id], {})
            self.assertEqual(oext, 'pdf')
            self.assertTrue(content.startswith(b'%PDF'))
            path = os.environ.get('PICK_LIST_PDF')
            if path:
                with open(path, 'wb') as fp:
                    fp.write(content)

    def test_template_zones(self):
        "A template restricted to zones takes only shipments wholly from them"
        pool = Pool(DB_NAME)
        with Transaction().start(DB_NAME, 0, context={'company': self.company}):
            Wave = pool.get('stock.wave')
            Template = pool.get('stock.wave.template')
            Location = pool.get('stock.location')
            reserve, = Location.search([('code', '=', 'A-03-1-09')])
            reserve.zone = 'reserve'
            reserve.save()
            from_reserve, from_pick, mixed = self.orders([
                    [('Soap', 'A-03-1-09', None, 1)],
                    [('Soap', 'A-01-1-03', None, 1)],
                    [('Soap', 'A-03-1-09', None, 1),
                        ('Soap', 'A-01-1-03', None, 2)],
                    ])
            warehouse = from_reserve.warehouse
            template, = Template.create([{'name': 'Reserve only',
                        'warehouse': warehouse.id, 'zones': ['reserve'],
                        'cart_totes': 4, 'automatic': False}])
            self.assertEqual(template.zones, ('reserve',))
            Template.build_waves([template])
            wave, = Wave.search([('template', '=', template.id)])
            self.assertEqual(list(wave.shipments), [from_reserve])
            # Pick and reserve: all three
            Template.write([template], {'zones': ['pick', 'reserve']})
            Template.build_waves([template])
            waves = Wave.search([('template', '=', template.id)])
            self.assertEqual(
                sorted(s.id for w in waves for s in w.shipments),
                sorted(s.id for s in [from_reserve, from_pick, mixed]))
            Transaction().rollback()


del RouteTestCase
