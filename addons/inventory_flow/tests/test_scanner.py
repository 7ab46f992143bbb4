"""Route tests of the scanner steps receive and putaway (A3, A5, D4):
the happy path through HTTP, and every bad input of issue 5 answered with a
clear message while nothing changes."""
import base64
import dataclasses
import datetime as dt
import json
import os
import uuid
from unittest.mock import patch

from trytond.modules.company.tests import create_company, set_company
from trytond.modules.inventory_flow.gs1 import GS, gtin_check_digit
from trytond.modules.inventory_flow.layout import RackBlock
from trytond.modules.inventory_flow.tests.tools import SuiteDatabaseMixin
from trytond.pool import Pool
from trytond.protocols.wrappers import HTTPStatus
from trytond.tests.test_tryton import DB_NAME, RouteTestCase
from trytond.tools import find_dir
from trytond.transaction import Transaction

GTIN_WATER = '04006381333931'


def gtin(payload):
    return (payload + str(gtin_check_digit(payload))).zfill(14)


GTIN_JUICE = gtin('501234567890')
GTIN_SOAP = gtin('761234567890')
GTIN_NOBODY = gtin('871234567890')


def yymmdd(date):
    return date.strftime('%y%m%d')


class ScannerRouteTestCase(SuiteDatabaseMixin, RouteTestCase):
    "Test the scanner routes"
    module = 'inventory_flow'

    @classmethod
    def setUpDatabase(cls):
        pool = Pool()
        User = pool.get('res.user')
        ModelData = pool.get('ir.model.data')
        Location = pool.get('stock.location')
        Party = pool.get('party.party')
        Template = pool.get('product.template')
        Uom = pool.get('product.uom')
        Shipment = pool.get('stock.shipment.in')
        Purchase = pool.get('purchase.purchase')
        from trytond.modules.inventory_flow.location import generate_layout

        company = create_company()
        admin, = User.search([('login', '=', 'admin')])
        admin.password = 'password'
        admin.save()
        operator, = User.create([{
                    'name': 'Otto Operator', 'login': 'operator',
                    'password': 'password-operator',
                    'groups': [('add', [ModelData.get_id(
                                    'inventory_flow', 'group_operator')])],
                    }])
        # Lin works in Chinese: Tryton translates the scanner's messages
        Lang = pool.get('ir.lang')
        Translation = pool.get('ir.translation')
        chinese, = Lang.search([('code', '=', 'zh_CN')])
        chinese.translatable = True
        chinese.save()
        Translation.translation_import('zh_CN', 'inventory_flow', [
                os.path.join(find_dir('inventory_flow'), 'locale',
                    'zh_CN.po')])
        lin, = User.create([{
                    'name': 'Lin', 'login': 'lin',
                    'password': 'password-lin', 'language': chinese.id,
                    'groups': [('add', [ModelData.get_id(
                                    'inventory_flow', 'group_operator')])],
                    }])
        User.write([admin, operator, lin], {
                'companies': [('add', [company.id])],
                'company': company.id,
                })
        with set_company(company):
            warehouse, = Location.search([('type', '=', 'warehouse')])
            bins = generate_layout(
                warehouse, RackBlock('A', 1, 2, 3, 1), zone='pick',
                capacity_volume=1.0)
            blocked, = generate_layout(
                warehouse, RackBlock('B', 1, 1, 1, 1), zone='reserve')
            blocked.blocked = True
            blocked.save()
            generate_layout(
                warehouse, RackBlock('Q', 1, 1, 1, 1), zone='quarantine')
            unit, = Uom.search([('name', '=', 'Unit')])
            liter = Uom(ModelData.get_id('product', 'uom_liter'))
            templates = Template.create([{
                        'name': name, 'default_uom': unit.id,
                        'type': 'goods', 'purchasable': True,
                        'purchase_uom': unit.id,
                        'volume': 1, 'volume_uom': liter.id,
                        'products': [('create', [{
                                        'abc_class': 'A'
                                        if name == 'Water' else None,
                                        'identifiers': [('create', [{
                                                        'type': 'ean',
                                                        'code': code}])],
                                        }])],
                        } for name, code in [
                        ('Water', GTIN_WATER[1:]),
                        ('Juice', GTIN_JUICE),
                        ('Soap', GTIN_SOAP)]])
            supplier, = Party.create([{'name': 'Supplier',
                        'addresses': [('create', [{}])]}])
            water, juice, soap = [t.products[0] for t in templates]
            # DN-1: the moves of a processed purchase order
            purchase, = Purchase.create([{
                        'party': supplier.id, 'company': company.id,
                        'currency': company.currency.id,
                        'warehouse': warehouse.id, 'reference': 'DN-1',
                        'invoice_method': 'manual',
                        'invoice_address': supplier.addresses[0].id,
                        'lines': [('create', [{
                                        'product': p.id, 'unit': unit.id,
                                        'quantity': q, 'unit_price': 1,
                                        'description': p.rec_name,
                                        } for p, q in [
                                        (water, 10), (juice, 5)]])],
                        }])
            Purchase.quote([purchase])
            Purchase.confirm([purchase])
            Purchase.process([purchase])
            # DN-2: a shipment keyed in by the office
            shipment = Shipment(
                supplier=supplier, company=company,
                warehouse=warehouse, reference='DN-2')
            shipment.on_change_warehouse()
            shipment.incoming_moves = [{
                    'product': p.id, 'unit': unit.id, 'quantity': q,
                    'from_location': supplier.supplier_location.id,
                    'to_location': warehouse.input_location.id,
                    'unit_price': 1, 'currency': company.currency.id,
                    'company': company.id,
                    } for p, q in [(water, 10), (juice, 5)]]
            shipment.save()
        cls.purchase_number = purchase.number
        Transaction().commit()

    def post(self, step, scan, state=None, key=None, user='admin',
            password='password'):
        client = self.client()
        response = client.post(
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

    def counted(self, reference):
        Shipment = Pool(DB_NAME).get('stock.shipment.in')
        with Transaction().start(DB_NAME, 0, readonly=True):
            shipment, = Shipment.search([('reference', '=', reference)])
            return (shipment.state, sorted(
                    (l.product.rec_name, l.quantity,
                        l.lot.number if l.lot else None)
                    for l in shipment.receiving_lines))

    def test_page_and_steps(self):
        "The page is served and the steps are listed for the user"
        client = self.client()
        response = client.get(f'/{DB_NAME}/scanner/')
        self.assertEqual(response.status_code, HTTPStatus.OK)
        self.assertIn(b'id="scan"', response.data)
        for name in ['scanner.js', 'scanner.css']:
            response = client.get(f'/{DB_NAME}/scanner/{name}')
            self.assertEqual(response.status_code, HTTPStatus.OK)
        response = client.get(f'/{DB_NAME}/scanner/../tryton.cfg')
        self.assertEqual(response.status_code, HTTPStatus.NOT_FOUND)
        response = client.get(f'/{DB_NAME}/scanner/step', headers={
                'Authorization': 'Basic ' + base64.b64encode(
                    b'operator:password-operator').decode()})
        self.assertEqual(response.status_code, HTTPStatus.OK)
        # Other modules of the suite add their steps after these
        self.assertEqual(
            [s['name'] for s in json.loads(response.data)['steps']][:2],
            ['receive', 'putaway'])
        response = client.get(f'/{DB_NAME}/scanner/step')
        self.assertEqual(response.status_code, HTTPStatus.UNAUTHORIZED)

    def test_messages_in_user_language(self):
        "A Chinese-speaking operator reads the scanner in Chinese"
        status, screen = self.post(
            'receive', None, user='lin', password='password-lin')
        self.assertEqual(status, HTTPStatus.OK)
        self.assertEqual(
            (screen['title'], screen['prompt']),
            ('收货', '请扫描采购单号、送货单或物品'))
        status, error = self.post(
            'receive', '4006381333938', user='lin', password='password-lin')
        self.assertEqual(status, HTTPStatus.UNPROCESSABLE_ENTITY)
        self.assertIn('校验位错误', error['message'])

    def test_login_reuses_tryton_session(self):
        "The page logs in like sao and sends the Tryton session"
        client = self.client()
        response = client.post(f'/{DB_NAME}/rpc/', data=json.dumps({
                    'id': 1, 'method': 'common.db.login',
                    'params': ['operator', {'password': 'password-operator'},
                        'en']}),
            content_type='application/json')
        self.assertEqual(response.status_code, HTTPStatus.OK, response.data)
        user_id, token = json.loads(response.data)['result'][:2]
        session = base64.b64encode(
            f'operator:{user_id}:{token}'.encode()).decode()
        response = client.get(f'/{DB_NAME}/scanner/step', headers={
                'Authorization': 'Session ' + session,
                'X-Requested-With': 'XMLHttpRequest'})
        self.assertEqual(response.status_code, HTTPStatus.OK)
        self.assertEqual(json.loads(response.data)['user'], 'Otto Operator')
        response = client.get(f'/{DB_NAME}/scanner/step', headers={
                'Authorization': 'Session ' + base64.b64encode(
                    f'operator:{user_id}:forged'.encode()).decode(),
                'X-Requested-With': 'XMLHttpRequest'})
        self.assertEqual(response.status_code, HTTPStatus.UNAUTHORIZED)
        self.assertNotIn('WWW-Authenticate', response.headers)

    def test_receive_and_put_away(self):
        "Receive with lots and a short count, then put away into bins"
        today = dt.date.today()
        expiry = today + dt.timedelta(days=200)
        # the PO number opens a new shipment of the order's pending moves
        status, screen = self.post('receive', self.purchase_number)
        self.assertEqual(status, HTTPStatus.OK, screen)
        state = screen['state']
        self.assertTrue(state['shipment'])

        self.assertEqual(
            [(l['product'], l['status']) for l in screen['lines']],
            [('Juice', 'short'), ('Water', 'short')])

        # one GS1-128 scan: GTIN, production, expiry, lot and quantity
        scan = (']C101' + GTIN_WATER + '11' + yymmdd(today) + '17'
            + yymmdd(expiry) + '10LOT-A' + GS + '376')
        status, screen = self.post('receive', scan, state)
        self.assertEqual(status, HTTPStatus.OK, screen)
        self.assertEqual(screen['level'], 'success')

        # a bare GTIN asks for the quantity, typed on the keypad
        status, screen = self.post('receive', GTIN_JUICE, screen['state'])
        self.assertEqual(screen['input'], 'quantity')
        key = str(uuid.uuid4())
        status, first = self.post('receive', '5', screen['state'], key=key)
        self.assertEqual(status, HTTPStatus.OK, first)
        # a retried confirmation (same key) is applied once
        status, again = self.post('receive', '5', screen['state'], key=key)
        self.assertEqual(status, HTTPStatus.OK)
        self.assertTrue(again.get('replayed'))
        self.assertEqual(self.counted('DN-1'), ('draft', [
                    ('Juice', 5, None), ('Water', 6, 'LOT-A')]))
        self.assertEqual(
            [(l['product'], l['status']) for l in first['lines']],
            [('Juice', 'match'), ('Water', 'short')])

        status, screen = self.post(
            'receive', '__finish__', first['state'])
        self.assertEqual(status, HTTPStatus.OK, screen)

        pool = Pool(DB_NAME)
        Shipment = pool.get('stock.shipment.in')
        Move = pool.get('stock.move')
        with Transaction().start(DB_NAME, 0, readonly=True):
            shipment, = Shipment.search([('reference', '=', 'DN-1')])
            self.assertEqual(shipment.state, 'received')
            self.assertEqual(
                sorted((v.product.rec_name, v.kind, v.difference)
                    for v in shipment.variances),
                [('Juice', 'match', 0), ('Water', 'short', -4)])
            back_order, = Move.search([
                    ('shipment', '=', None),
                    ('product.name', '=', 'Water')])
            self.assertEqual(
                (back_order.quantity, back_order.state), (4, 'draft'))
            water_move, = [m for m in shipment.incoming_moves
                if m.product.name == 'Water']
            self.assertEqual(water_move.lot.number, 'LOT-A')
            self.assertEqual(water_move.lot.expiration_date, expiry)
            self.assertEqual(water_move.lot.production_date, today)

        # putaway: the item, then the bin
        status, screen = self.post('putaway', '(01)' + GTIN_WATER + '(10)LOT-A')
        self.assertEqual(status, HTTPStatus.OK, screen)
        recommended = screen['state']['recommended']
        self.assertTrue(recommended)
        self.assertEqual(screen['lines'][0]['product'], 'A-01-1-01')
        for bin_code, code in [
                ('B-01-1-01', 'refused'), ('Q-01-1-01', 'refused'),
                ('NOWHERE', 'unknown')]:
            with self.subTest(bin=bin_code):
                status, error = self.post('putaway', bin_code, screen['state'])
                self.assertEqual(error['error'], code)
                self.assertGreaterEqual(status, 400)
                self.assertTrue(error['message'])
        status, done = self.post('putaway', 'A-02-1-03', screen['state'])
        self.assertEqual(status, HTTPStatus.OK, done)
        self.assertIn('A-01-1-01', done['message'])
        StockBin = pool.get('stock.bin.quantity')
        with Transaction().start(DB_NAME, 0, readonly=True):
            row, = StockBin.search([('location.code', '=', 'A-02-1-03')])
            self.assertEqual((row.product.name, row.quantity, row.lot.number),
                ('Water', 6, 'LOT-A'))
            move, = Move.search([('to_location', '=', row.location.id)])
            self.assertEqual(move.recommended_location.code, 'A-01-1-01')
            self.assertEqual(move.state, 'done')

        # juice: 2 of 5 into one bin, the rest where recommended; the
        # shipment is then done
        status, screen = self.post('putaway', GTIN_JUICE)
        self.assertEqual(status, HTTPStatus.OK, screen)
        for typed, code in [('9', 'quantity_over'),
                ('0', 'quantity_not_positive'), ('1.5', 'quantity_too_precise')]:
            with self.subTest(quantity=typed):
                status, error = self.post('putaway', typed, screen['state'])
                self.assertEqual(status, HTTPStatus.UNPROCESSABLE_ENTITY)
                self.assertEqual(error['error'], code)
        status, part = self.post('putaway', '2', screen['state'])
        self.assertEqual(status, HTTPStatus.OK, part)
        self.assertEqual(part['state']['quantity'], '2')
        self.assertIn('2', part['prompt'])
        status, rest = self.post('putaway', 'A-01-1-03', part['state'])
        self.assertEqual(status, HTTPStatus.OK, rest)
        self.assertIn('A-01-1-03', rest['message'])
        # the rest (3) waits for its own bin, asked for at once
        self.assertNotIn('quantity', rest['state'])
        self.assertIn('3', rest['message'])
        self.assertEqual(self.counted('DN-1')[0], 'received')
        status, done = self.post(
            'putaway', rest['lines'][0]['product'], rest['state'])
        self.assertEqual(status, HTTPStatus.OK, done)
        self.assertEqual(self.counted('DN-1')[0], 'done')
        with Transaction().start(DB_NAME, 0, readonly=True):
            juice = {r.location.code: r.quantity
                for r in StockBin.search([('product.name', '=', 'Juice')])}
            expected = {'A-01-1-03': 2}
            rest_bin = rest['lines'][0]['product']
            expected[rest_bin] = expected.get(rest_bin, 0) + 3
            self.assertEqual(juice, expected)
            self.assertEqual(sorted(m.quantity for m in Move.search([
                            ('product.name', '=', 'Juice'),
                            ('to_location.code', 'in', list(expected)),
                            ])), [2, 3])
        status, error = self.post('putaway', GTIN_JUICE)
        self.assertEqual(error['error'], 'nothing')

    def test_bad_inputs_change_nothing(self):
        "Each bad scan gets a clear message and changes nothing"
        today = dt.date.today()
        status, screen = self.post('receive', 'DN-2')
        self.assertEqual(status, HTTPStatus.OK, screen)
        state = screen['state']
        status, pending = self.post('receive', GTIN_WATER, state)
        self.assertEqual(pending['input'], 'quantity')
        before = self.counted('DN-2')
        for scan, the_state, code in [
                ('UNKNOWN-42', state, 'expected_item'),
                ('4006381333938', state, 'check_digit'),
                ('01' + GTIN_WATER + '17261341', state, 'date'),
                (']d201' + GTIN_WATER + GS + '10' + 'X' * 25, state,
                    'malformed'),
                ('(01)' + GTIN_WATER + '(11)' + yymmdd(today) + '(17)'
                    + yymmdd(today - dt.timedelta(days=1)) + '(37)1', state,
                    'expiry_before_production'),
                ('(01)' + GTIN_WATER + '(17)'
                    + yymmdd(today - dt.timedelta(days=3)) + '(37)1', state,
                    'expired'),
                ('0', pending['state'], 'quantity_not_positive'),
                ('-3', pending['state'], 'quantity_not_positive'),
                ('abc', pending['state'], 'quantity_not_numeric'),
                ('1.5', pending['state'], 'quantity_too_precise'),
                (GTIN_NOBODY, state, 'unknown_product'),
                ('', state, 'empty'),
                ]:
            with self.subTest(scan=scan):
                status, error = self.post('receive', scan, the_state)
                self.assertEqual(
                    status, HTTPStatus.UNPROCESSABLE_ENTITY
                    if code != 'unknown_product' else HTTPStatus.NOT_FOUND,
                    error)
                self.assertEqual(error['error'], code)
                self.assertTrue(error['message'])
        # a product not on the shipment: refused for an operator
        status, error = self.post(
            'receive', '(01)' + GTIN_SOAP + '(37)2', state,
            user='operator', password='password-operator')
        self.assertEqual(status, HTTPStatus.CONFLICT)
        self.assertIn('Soap', error['message'])
        # counting beyond the tolerance is refused for an operator
        status, error = self.post(
            'receive', '(01)' + GTIN_WATER + '(37)11', state,
            user='operator', password='password-operator')
        self.assertEqual(status, HTTPStatus.FORBIDDEN, error)
        self.assertIn('manager', error['message'])
        # unknown step and unknown shipment
        status, error = self.post('teleport', 'X')
        self.assertEqual(status, HTTPStatus.NOT_FOUND)
        status, error = self.post('receive', 'NO-SUCH-PO')
        self.assertEqual((status, error['error']),
            (HTTPStatus.NOT_FOUND, 'unknown'))
        self.assertEqual(self.counted('DN-2'), before)
        self.assertEqual(before, ('draft', []))
        # a GTIN alone opens the draft shipment expecting it
        status, screen = self.post('receive', GTIN_JUICE)
        self.assertEqual(status, HTTPStatus.OK, screen)
        self.assertIn('DN-2', screen['header'])
        self.assertEqual(screen['input'], 'quantity')

    def test_zxing_wasm_served_locally(self):
        "The camera fallback (zxing-wasm from npm) is served by trytond"
        import tempfile
        from trytond import config
        from trytond.modules.inventory_flow import scanner
        client = self.client()
        with tempfile.TemporaryDirectory() as root:
            for parts, content in [
                    (('dist', 'reader', 'zxing_reader.wasm'),
                        b'\0asm\1\0\0\0'),
                    (('dist', 'iife', 'reader', 'index.js'),
                        b'var ZXingWASM = {};'),
                    (('package.json',), b'{}')]:
                os.makedirs(os.path.join(root, *parts[:-1]), exist_ok=True)
                with open(os.path.join(root, *parts), 'wb') as fp:
                    fp.write(content)
            if not config.has_section('scanner'):
                config.add_section('scanner')
            previous = config.get('scanner', 'zxing_root')
            config.set('scanner', 'zxing_root', root)
            try:
                response = client.get(
                    f'/{DB_NAME}/scanner/vendor/zxing-wasm/zxing_reader.wasm')
                self.assertEqual(response.status_code, HTTPStatus.OK)
                self.assertEqual(response.headers['Content-Type'],
                    'application/wasm')
                self.assertEqual(response.data, b'\0asm\1\0\0\0')
                response = client.get(
                    f'/{DB_NAME}/scanner/vendor/zxing-wasm/zxing-reader.js')
                self.assertEqual(response.status_code, HTTPStatus.OK)
                self.assertIn('javascript', response.headers['Content-Type'])
                # only the files the page needs, nothing else of the package
                for name in ['package.json', '../package.json',
                        '../../tryton.cfg']:
                    response = client.get(
                        f'/{DB_NAME}/scanner/vendor/zxing-wasm/{name}')
                    self.assertEqual(
                        response.status_code, HTTPStatus.NOT_FOUND, name)
            finally:
                config.set('scanner', 'zxing_root', previous or '')
        # The package bootstrap.sh installed from npm, when it is there
        wasm = os.path.join(scanner.ZXING_ROOT, 'dist', 'reader',
            'zxing_reader.wasm')
        if os.path.isfile(wasm):
            response = client.get(
                f'/{DB_NAME}/scanner/vendor/zxing-wasm/zxing_reader.wasm')
            self.assertEqual(response.status_code, HTTPStatus.OK)
            self.assertEqual(response.data[:4], b'\0asm')
        # the page loads it from this server, never from a CDN
        with open(os.path.join(scanner.STATIC, 'scanner.js')) as fp:
            page = fp.read()
        self.assertIn("'/scanner/vendor/zxing-wasm/'", page)
        self.assertIn("'zxing_reader.wasm'", page)
        self.assertNotIn('jsdelivr', page)
        self.assertNotIn('unpkg', page)

    def test_purge_old_confirmations(self):
        "Confirmation keys are purged by a daily cron after 24 hours"
        pool = Pool(DB_NAME)
        Confirmation = pool.get('scanner.confirmation')
        Cron = pool.get('ir.cron')
        with Transaction().start(DB_NAME, 0) as transaction:
            cron, = Cron.search([
                    ('method', '=', 'scanner.confirmation|purge')])
            self.assertEqual(
                (cron.interval_number, cron.interval_type), (1, 'days'))
            old, recent, young = Confirmation.create([{
                        'key': k, 'user': 1, 'step': 'receive',
                        'response': '{}'} for k in ['old', 'recent', 'young']])
            table = Confirmation.__table__()
            cursor = transaction.connection.cursor()
            now = dt.datetime.now()
            for record, age in [(old, 25), (recent, 23), (young, 0)]:
                cursor.execute(*table.update(
                        [table.create_date],
                        [now - dt.timedelta(hours=age)],
                        where=table.id == record.id))
            # asking for less than 24 h still keeps a day of keys
            self.assertEqual(Confirmation.purge(hours=1), 1)
            self.assertEqual(
                sorted(c.key for c in Confirmation.search([
                            ('key', 'in', ['old', 'recent', 'young'])])),
                ['recent', 'young'])
            cron.run_once()
            transaction.rollback()

    def test_cost_price_context_as_tryton(self):
        "The cost price context of done moves is Tryton's, read in one query"
        from trytond.modules.stock.move import Move as TrytonMove
        pool = Pool(DB_NAME)
        Move = pool.get('stock.move')
        Company = pool.get('company.company')
        with Transaction().start(DB_NAME, 0):
            company, = Company.search([], limit=1)
            moves = [Move(company=company)]
            ours = Move._cost_price_context(moves)
            tryton = TrytonMove._cost_price_context.__func__(Move, moves)
            self.assertTrue(ours['locations'])
            self.assertEqual(
                dict(ours, locations=sorted(ours['locations'])),
                dict(tryton, locations=sorted(tryton['locations'])))

    def test_cost_price_context_between_storage(self):
        """Moves between storage locations compute no cost price: their
        context skips the list of every storage location"""
        pool = Pool(DB_NAME)
        Move = pool.get('stock.move')
        Company = pool.get('company.company')
        Location = pool.get('stock.location')
        with Transaction().start(DB_NAME, 0):
            company, = Company.search([], limit=1)
            bin_, = Location.search([('code', '=', 'A-02-1-02')])
            supplier, = Location.search([('type', '=', 'supplier')],
                limit=1)
            inside = [Move(company=company, from_location=bin_,
                    to_location=bin_)]
            crossing = [Move(company=company, from_location=supplier,
                    to_location=bin_)]
            full = Move._cost_price_context(crossing)
            self.assertIn(bin_.id, full['locations'])
            self.assertEqual(Move._cost_price_context(inside),
                dict(full, locations=[]))
            self.assertEqual(
                Move._cost_price_context(inside + crossing), full)

    def test_unit_factors_follow_the_units(self):
        "The cached unit factors of the putaway follow a new or changed unit"
        pool = Pool(DB_NAME)
        Uom = pool.get('product.uom')
        ModelData = pool.get('ir.model.data')
        from trytond.modules.inventory_flow.receiving import (
            _unit_factors, _unit_measures)
        with Transaction().start(DB_NAME, 0) as transaction:
            liter = Uom(ModelData.get_id('product', 'uom_liter'))
            self.assertAlmostEqual(
                _unit_factors('uom_cubic_meter')[liter.id], 0.001)
            barrel, = Uom.create([{'name': "Barrel", 'symbol': "bbl",
                        'category': liter.category.id, 'factor': 159,
                        'rate': round(1 / 159, 12), 'rounding': 0.01,
                        'digits': 2}])
            self.assertAlmostEqual(
                _unit_factors('uom_cubic_meter')[barrel.id], 0.159)
            keg, = Uom.create([{'name': "Keg", 'symbol': "keg",
                        'category': liter.category.id, 'factor': 50,
                        'rate': 0.02, 'rounding': 0.01, 'digits': 2}])
            self.assertAlmostEqual(
                _unit_factors('uom_cubic_meter')[keg.id], 0.05)
            Uom.delete([keg])
            self.assertNotIn(keg.id, _unit_factors('uom_cubic_meter'))
            # a product measured in barrels is converted by them
            Product = pool.get('product.product')
            water, = Product.search([('name', '=', 'Water')])
            water.template.volume = 2
            water.template.volume_uom = barrel
            water.template.save()
            volume, _ = _unit_measures([Product(water.id)])[water.id]
            self.assertAlmostEqual(volume, 0.318)
            transaction.rollback()

    def test_heap_frozen_once(self):
        "A scan moves the loaded pool out of the garbage collector's reach"
        import gc
        from trytond.modules.inventory_flow import scanner
        scanner._FROZEN.discard(DB_NAME)
        gc.unfreeze()
        with Transaction().start(DB_NAME, 0):
            scanner.run_step('putaway', {}, None, None)
            frozen = gc.get_freeze_count()
            self.assertGreater(frozen, 0)
            self.assertIn(DB_NAME, scanner._FROZEN)
            scanner.run_step('putaway', {}, None, None)
            self.assertEqual(gc.get_freeze_count(), frozen)

    def test_confirmation_stored_meanwhile_refused(self):
        """A key stored by a concurrent request between the look-up and
        the store of this one is refused with the replay message"""
        from trytond.exceptions import UserError
        from trytond.modules.inventory_flow.scanner import (
            _confirm, _confirmed)
        key = str(uuid.uuid4())
        with Transaction().start(DB_NAME, 1) as transaction:
            self.assertIsNone(_confirmed(1, key))
            _confirm(1, key, 'receive', {'message': 'first'})
            self.assertEqual(
                json.loads(_confirmed(1, key)), {'message': 'first'})
            # another user may use the same key
            _confirm(0, key, 'receive', {'message': 'other'})
            with self.assertRaisesRegex(UserError, 'already'):
                _confirm(1, key, 'receive', {'message': 'second'})
            # the refusal leaves the transaction usable (on PostgreSQL a
            # failed INSERT would end it) and the first screen stored
            self.assertEqual(
                json.loads(_confirmed(1, key)), {'message': 'first'})
            transaction.rollback()

    def test_location_loads_follow_the_stock(self):
        "The bins' loads follow the moves and the products' measures"
        pool = Pool(DB_NAME)
        Load = pool.get('stock.location.load')
        Location = pool.get('stock.location')
        Move = pool.get('stock.move')
        Product = pool.get('product.product')
        Template = pool.get('product.template')
        Company = pool.get('company.company')
        from trytond.modules.inventory_flow import putaway, receiving
        from trytond.modules.inventory_flow.receiving import (
            SQL_SLACK, UNLIMITED_ROOM, _dispatch_points, _possible_bins,
            bin_candidates, putaway_candidates, putaway_item, recommend_bins)

        def loads():
            result = {}
            for load in Load.search([]):
                self.assertNotIn(load.location.id, result)
                result[load.location.id] = (
                    round(load.volume or 0, 9), round(load.weight or 0, 9))
                # the room is the capacity with the slack less the load
                for room, capacity, used in [
                        (load.room_volume, load.location.capacity_volume,
                            load.volume),
                        (load.room_weight, load.location.capacity_weight,
                            load.weight)]:
                    if capacity is None:
                        self.assertEqual(room, UNLIMITED_ROOM)
                    else:
                        self.assertAlmostEqual(room, capacity * (1 + SQL_SLACK)
                            + SQL_SLACK - (used or 0), places=9)
            return result

        def rooms(location):
            load, = Load.search([('location', '=', location.id)])
            return load.room_volume, load.room_weight

        def recomputed():
            Load.refresh()
            return loads()
        with Transaction().start(DB_NAME, 0) as transaction:
            company, = Company.search([], limit=1)
            water, = Product.search([('name', '=', 'Water')])
            bin_, = Location.search([('code', '=', 'A-02-1-02')])
            supplier, = Location.search([('type', '=', 'supplier')],
                limit=1)
            with set_company(company):
                move, = Move.create([{
                            'product': water.id,
                            'unit': water.default_uom.id,
                            'quantity': 300, 'from_location': supplier.id,
                            'to_location': bin_.id, 'unit_price': 1,
                            'currency': company.currency.id,
                            'company': company.id}])
                Move.do([move])
                self.assertEqual(loads()[bin_.id], (0.3, 0))
                self.assertEqual(loads(), recomputed())
                Template.write([water.template], {'volume': 3})
                self.assertEqual(loads()[bin_.id], (0.9, 0))
                self.assertEqual(loads(), recomputed())
                # only the bins a putaway may use have a load
                self.assertNotIn(supplier.id, loads())
                Location.write([bin_], {'zone': 'quarantine'})
                self.assertNotIn(bin_.id, loads())
                Location.write([bin_], {'zone': 'pick'})
                self.assertEqual(loads()[bin_.id], (0.9, 0))
                # every bin a putaway may use has its row, empty or not,
                # with the room its capacity leaves
                self.assertEqual(set(loads()), {l.id for l in Location.search(
                                [('zone', 'in', ['pick', 'reserve'])])})
                new_bin, = Location.create([{
                            'name': 'New bin', 'code': 'A-99-1-01',
                            'type': 'storage', 'parent': bin_.parent.id,
                            'zone': 'reserve', 'capacity_volume': 2}])
                self.assertEqual(loads()[new_bin.id], (0, 0))
                self.assertAlmostEqual(rooms(new_bin)[0], 2.000003)
                self.assertEqual(rooms(new_bin)[1], UNLIMITED_ROOM)
                Location.write([new_bin], {'capacity_volume': 0.5,
                        'capacity_weight': 10})
                self.assertAlmostEqual(rooms(new_bin)[0], 0.5000015)
                self.assertAlmostEqual(rooms(new_bin)[1], 10.000011)
                Location.write([bin_], {'capacity_volume': 2})
                self.assertAlmostEqual(rooms(bin_)[0], 2.000003 - 0.9)
                self.assertEqual(loads(), recomputed())
                Location.write([bin_], {'capacity_volume': 1})
                # 300 × 3 l fill 0.9 of the 1 m³ bin: 200 more do not fit
                shipment_move = Move(product=water, lot=None,
                    internal_quantity=200)
                warehouse = bin_.warehouse
                item = putaway_item(shipment_move, warehouse)
                self.assertNotIn(bin_.id, _possible_bins(item, warehouse))
                # the bins left out are those the exact check refuses
                every = bin_candidates(warehouse, product_id=water.id)
                self.assertEqual(sorted(_possible_bins(item, warehouse)),
                    sorted(b.id for b in every
                        if putaway.refusal(item, b) is None))
                # the recommendation is the scoring over every bin
                Shipment = pool.get('stock.shipment.in')
                Strategy = pool.get('stock.putaway.strategy')
                shipment, = Shipment.search([('reference', '=', 'DN-2')])
                Availability = pool.get('stock.availability')
                other_bin, = Location.search([('code', '=', 'A-02-1-03')])
                other, = Product.search([('id', '!=', water.id),
                        ('type', '=', 'goods')], limit=1)
                Template.write([other.template], {'volume': 2,
                        'volume_uom': water.template.volume_uom.id})

                def rounded(bin_):
                    return dataclasses.replace(bin_,
                        used_volume=round(bin_.used_volume, 9),
                        used_weight=round(bin_.used_weight, 9))

                def same_ranking():
                    every = bin_candidates(warehouse, product_id=water.id)
                    for quantity in [1, 50, 200]:
                        move = Move(product=water, lot=None,
                            shipment=shipment, internal_quantity=quantity)
                        item = putaway_item(move, warehouse)
                        # the candidates hold what the exact check sums
                        exact = {b.id: b for b in every}
                        for bin_ in putaway_candidates(item, warehouse):
                            self.assertEqual(rounded(bin_),
                                rounded(exact[bin_.id]))
                        dispatch = _dispatch_points(warehouse) or [(1, 0)]
                        self.assertEqual(
                            [b.id for b in recommend_bins(move, limit=5)],
                            [r.bin for r in putaway.recommend(item, every,
                                    Strategy.strategies_for(
                                        water, warehouse),
                                    dispatch=dispatch, limit=5)])
                # through each way the bins' contents are read: a few bins
                # by one join, more by their loads (and the rows of those
                # holding negative stock), many by their condition
                for few, many in [(20, 5000), (0, 5000), (0, 0)]:
                    with patch.object(receiving, 'FEW_BINS', few), \
                            patch.object(receiving, 'MAX_POSSIBLE_IDS', many):
                        same_ranking()
                        # a negative row lowers the bin's load, not what
                        # the exact check sums: 80 of the bin's 100 l are
                        # held, whatever the load says
                        Availability.apply_deltas({
                                (water.id, other_bin.id, None): [100, 0]})
                        same_ranking()
                        Availability.apply_deltas({
                                (other.id, other_bin.id, None): [-20, 0],
                                (water.id, other_bin.id, None): [-20, 0]})
                        same_ranking()
                        Availability.apply_deltas({
                                (other.id, other_bin.id, None): [20, 0],
                                (water.id, other_bin.id, None): [-60, 0]})
            transaction.rollback()

    def water_purchase(self, reference, quantity, gtin=GTIN_WATER,
            supplier=None):
        """Commit a processed copy of the order of DN-1 for quantity of
        water (or of the product of gtin), with the supplier reference
        (from the supplier named, made if needed); return (its number, the
        product id)"""
        pool = Pool(DB_NAME)
        Product = pool.get('product.product')
        Purchase = pool.get('purchase.purchase')
        Party = pool.get('party.party')
        with Transaction().start(DB_NAME, 1) as transaction:
            previous, = Purchase.search([('reference', '=', 'DN-1')])
            water, = Product.search([('gtin', '=', gtin)])
            default = {'reference': reference, 'lines': None}
            if supplier:
                parties = Party.search([('name', '=', supplier)]) or (
                    Party.create([{'name': supplier,
                                'addresses': [('create', [{}])]}]))
                default.update(party=parties[0].id,
                    invoice_address=parties[0].addresses[0].id)
            purchase, = Purchase.copy([previous], default=default)
            purchase.lines = [{
                    'product': water.id, 'unit': water.default_uom.id,
                    'quantity': quantity, 'unit_price': 1,
                    'description': water.rec_name}]
            purchase.save()
            Purchase.quote([purchase])
            Purchase.confirm([purchase])
            Purchase.process([purchase])
            transaction.commit()
            return purchase.number, water.id

    def test_purchase_reopens_its_draft_shipment(self):
        """Scanning an order again opens the draft shipment its first scan
        created, with the order's pending moves only"""
        Shipment = Pool(DB_NAME).get('stock.shipment.in')
        number, water = self.water_purchase('DN-4', 4)
        status, first = self.post('receive', number)
        self.assertEqual(status, HTTPStatus.OK, first)
        status, again = self.post('receive', number)
        self.assertEqual(status, HTTPStatus.OK, again)
        self.assertEqual(again['state']['shipment'],
            first['state']['shipment'])
        with Transaction().start(DB_NAME, 0, readonly=True):
            shipment, = Shipment.search([('reference', '=', 'DN-4')])
            self.assertEqual(shipment.id, first['state']['shipment'])
            self.assertEqual(
                [(m.product.id, m.quantity) for m in shipment.incoming_moves],
                [(water, 4)])

    def committed(self, function):
        """Run function() as the administrator and commit; a lock trytond
        asks for (the configuration singleton's first record, the
        purchases processed) is taken by restarting the transaction"""
        from trytond.transaction import TransactionError
        extras = {}
        while True:
            with Transaction().start(DB_NAME, 1, **extras) as transaction:
                try:
                    function()
                    transaction.commit()
                    return
                except TransactionError as error:
                    transaction.rollback()
                    error.fix(extras)

    def prepare_shipments(self, value):
        "Commit the purchase configuration's prepare_supplier_shipments"
        Configuration = Pool(DB_NAME).get('purchase.configuration')

        def write():
            config = Configuration(1)
            config.prepare_supplier_shipments = value
            config.save()
        self.committed(write)

    def test_prepared_supplier_shipment(self):
        """With prepare_supplier_shipments, processing a purchase puts its
        moves on a draft supplier shipment, which the scan of the order
        opens without making another; without it the purchase has none"""
        pool = Pool(DB_NAME)
        Shipment = pool.get('stock.shipment.in')
        Purchase = pool.get('purchase.purchase')
        Move = pool.get('stock.move')

        def shipments(reference):
            with Transaction().start(DB_NAME, 0, readonly=True):
                purchase, = Purchase.search([('reference', '=', reference)])
                return purchase, [(s.id, s.state, s.reference,
                        s.planned_date, [(m.product.id, m.quantity,
                                m.origin.purchase.id)
                            for m in s.incoming_moves])
                    for s in Shipment.search([
                            ('moves.origin.purchase', '=', purchase.id,
                                'purchase.line')])]

        number, water = self.water_purchase('DN-8', 2)
        _, made = shipments('DN-8')
        self.assertEqual(made, [])
        self.prepare_shipments(True)
        try:
            number, water = self.water_purchase('DN-7', 3)
            purchase, made = shipments('DN-7')
            with Transaction().start(DB_NAME, 0, readonly=True):
                planned = [m.planned_date for m in Purchase(
                        purchase.id).moves]
            self.assertEqual(made, [(made[0][0], 'draft', 'DN-7',
                        planned[0], [(water, 3, purchase.id)])])
            # Processed again (as after an exception): the same receipt
            self.committed(lambda: Purchase.process([Purchase(purchase.id)]))
            self.assertEqual(shipments('DN-7')[1], made)
            # The scan of the order opens it, nothing is made
            status, screen = self.post('receive', number)
            self.assertEqual(status, HTTPStatus.OK, screen)
            self.assertEqual(screen['state']['shipment'], made[0][0])
            self.assertEqual(shipments('DN-7')[1], made)
            # A new pending move of the order (its quantity raised by an
            # exception handled) joins the same draft receipt

            def raise_quantity():
                move, = Purchase(purchase.id).moves
                Move.copy([move], default={'shipment': None, 'quantity': 1})
                Purchase.process([Purchase(purchase.id)])
            self.committed(raise_quantity)
            self.assertEqual(sorted(shipments('DN-7')[1][0][4]),
                [(water, 1, purchase.id), (water, 3, purchase.id)])
        finally:
            self.prepare_shipments(False)

    def test_prepared_receipt_joins_the_scanned_one(self):
        """An item of another order of the supplier scanned into a receipt
        brings its moves from that order's prepared receipt (deleted when
        emptied), unless counting that receipt has started"""
        Shipment = Pool(DB_NAME).get('stock.shipment.in')

        def receipts(*references):
            with Transaction().start(DB_NAME, 0, readonly=True):
                return {s.reference: sorted(
                        (m.product.id, m.quantity) for m in s.incoming_moves)
                    for s in Shipment.search([
                            ('reference', 'in', references)])}

        operator = {'user': 'operator', 'password': 'password-operator'}
        self.prepare_shipments(True)
        try:
            # orders of their own supplier, apart from the other tests'
            number, water = self.water_purchase('DN-9', 2,
                supplier='Spring Co')
            _, juice = self.water_purchase('DN-10', 4, gtin=GTIN_JUICE,
                supplier='Spring Co')
            soap_number, soap = self.water_purchase('DN-11', 1,
                gtin=GTIN_SOAP, supplier='Spring Co')
            # DN-11's counting starts: its soap stays with it
            status, screen = self.post('receive', soap_number, **operator)
            status, screen = self.post('receive',
                '(01)' + GTIN_SOAP.zfill(14) + '(37)1', screen['state'],
                **operator)
            self.assertEqual(status, HTTPStatus.OK, screen)

            status, screen = self.post('receive', number, **operator)
            state = screen['state']
            status, screen = self.post('receive',
                '(01)' + GTIN_JUICE.zfill(14) + '(37)4', state, **operator)
            self.assertEqual(status, HTTPStatus.OK, screen)
            self.assertEqual(receipts('DN-9', 'DN-10', 'DN-11'), {
                    'DN-9': [(water, 2), (juice, 4)],
                    'DN-11': [(soap, 1)]})
            status, screen = self.post('receive',
                '(01)' + GTIN_SOAP.zfill(14) + '(37)1', state, **operator)
            self.assertEqual((status, screen.get('error')),
                (HTTPStatus.CONFLICT, 'not_on_shipment'))
            self.assertEqual(receipts('DN-9', 'DN-11'), {
                    'DN-9': [(water, 2), (juice, 4)],
                    'DN-11': [(soap, 1)]})
        finally:
            self.prepare_shipments(False)

    def test_short_variance_stored_rounded(self):
        "A short line of 5 out of 6 is recorded as -16.67 %"
        Shipment = Pool(DB_NAME).get('stock.shipment.in')
        self.water_purchase('DN-3', 6)
        status, screen = self.post('receive', 'DN-3')
        self.assertEqual(status, HTTPStatus.OK, screen)
        status, screen = self.post(
            'receive', '(01)' + GTIN_WATER + '(37)5', screen['state'])
        self.assertEqual(status, HTTPStatus.OK, screen)
        status, screen = self.post('receive', '__finish__', screen['state'])
        self.assertEqual(status, HTTPStatus.OK, screen)
        with Transaction().start(DB_NAME, 0, readonly=True):
            shipment, = Shipment.search([('reference', '=', 'DN-3')])
            variance, = shipment.variances
            self.assertEqual(
                (variance.kind, variance.difference, variance.percent),
                ('short', -1, -16.67))
