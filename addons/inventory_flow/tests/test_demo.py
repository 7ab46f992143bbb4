"""Tests of the demo data generator (``scripts/demo.py``): the curated demo
and a tiny bulk data set, checked through the models a user would open."""
import datetime as dt
import doctest
import unittest

from trytond.modules.company.tests import create_company, set_company
from trytond.modules.inventory_flow import demo
from trytond.modules.inventory_flow.demo import (
    USERS, DemoError, demo_exists, generate, generate_bulk)
from trytond.modules.inventory_flow.tests.tools import SUITE_MODULES
from trytond.pool import Pool
from trytond.tests.test_tryton import activate_module, with_transaction
from trytond.transaction import Transaction


def gtin_valid(code):
    "Whether ``code`` is a GTIN-13 with a right check digit"
    return (len(code) == 13 and code.isdigit()
        and demo.gtin13(int(code[:12])) == code)


class DemoTestCase(unittest.TestCase):
    "Test the demo data generator"

    @classmethod
    def setUpClass(cls):
        activate_module(SUITE_MODULES)

    @with_transaction()
    def test_generate_curated_demo(self):
        "The curated demo has bins, products, stock by bin, users and orders"
        pool = Pool()
        Location = pool.get('stock.location')
        Product = pool.get('product.product')
        StockBin = pool.get('stock.bin.quantity')
        User = pool.get('res.user')
        ModelData = pool.get('ir.model.data')
        Purchase = pool.get('purchase.purchase')
        Sale = pool.get('sale.sale')
        Date = pool.get('ir.date')

        self.assertFalse(demo_exists())
        summary = generate()
        self.assertTrue(demo_exists())
        self.assertEqual(summary['products'], 40)
        self.assertEqual(summary['users'], len(USERS))

        # Bins laid out by the layout generator, one block per zone
        for code, zone in [
                ('A-01-1-01', 'pick'), ('A-06-3-10', 'pick'),
                ('A-07-1-01', 'reserve'), ('A-10-4-08', 'reserve'),
                ('Q-01-1-01', 'quarantine'), ('D-01-1-01', 'dispatch')]:
            bin_, = Location.search([('code', '=', code)])
            self.assertEqual((bin_.zone, bin_.barcode), (zone, code))
            self.assertEqual(bin_.warehouse.code, 'WH')
        self.assertEqual(Location.search_count([('zone', '=', 'pick')]), 180)
        self.assertEqual(summary['bins'], 180 + 128 + 2)
        # Cycle counts planned for four weeks, the first due today (B4)
        self.assertGreater(summary['count tasks'], 0)

        # Products with valid GTINs, found by scanning them
        products = Product.search([('code', 'like', 'DEMO-%')])
        self.assertEqual(len(products), 40)
        for product in products:
            self.assertTrue(gtin_valid(product.gtin), product.gtin)
            self.assertTrue(product.abc_class)
            self.assertTrue(product.template.weight)
            self.assertTrue(product.template.product_suppliers)
        self.assertEqual(
            Product.search([('gtin', '=', products[0].gtin)]), products[:1])
        tracked = [p for p in products if p.lot_required]
        self.assertTrue(tracked)
        self.assertTrue(all(p.shelf_life_state == 'required'
                for p in tracked))

        # Stock in bins, per lot for the tracked products
        today = Date.today()
        rows = StockBin.search([])
        self.assertTrue(rows)
        self.assertTrue(all(r.quantity > 0 for r in rows))
        stocked = {r.product for r in rows}
        self.assertEqual(stocked, set(products))
        lots = [r for r in rows if r.lot]
        self.assertTrue(lots)
        self.assertTrue(all(r.expiration_date for r in lots))
        self.assertTrue(any(r.expiration_date < today for r in lots),
            "an expired lot")
        self.assertTrue(any(
                today <= r.expiration_date <= today + dt.timedelta(days=14)
                for r in lots), "a lot near its expiry")
        quarantined = StockBin.search([('zone', '=', 'quarantine')])
        self.assertTrue(quarantined)
        self.assertTrue(StockBin.search([
                    ('location.code', '=', 'A-01-1-01'),
                    ('quantity', '>', 0)]))

        # A purchase waits for the demo approver (A2)
        Purchase = pool.get('purchase.purchase')
        pending = Purchase.search([('approval_state', '=', 'pending')])
        self.assertEqual(len(pending), 1)
        self.assertEqual(summary['approval rules'], 2)

        # The order API can be tried at once: channel WEB and a validated key
        Application = pool.get('res.user.application')
        self.assertEqual(
            Application.check(demo.DEMO_API_KEY, 'inventory').user.login,
            'integration')
        Channel = pool.get('inventory.channel')
        self.assertEqual(len(Channel.search([('code', '=', 'WEB')])), 1)

        # One user per role, in the role's group, with password = login
        for login, _, group in USERS:
            user, = User.search([('login', '=', login)])
            self.assertIn(
                ModelData.get_id('inventory_flow', group),
                [g.id for g in user.groups])
            self.assertTrue(user.company)
            self.assertEqual(
                User.get_login(login, {'password': login}), user.id)

        # Open orders, some already waiting for the warehouse
        self.assertTrue(Purchase.search([('state', '=', 'processing')]))
        self.assertTrue(Purchase.search([('state', '=', 'draft')]))
        # ... one announced: its shipment waits to be received by scan, with
        # GTINs on every line and a lot-tracked product with a shelf life
        Shipment = pool.get('stock.shipment.in')
        shipment, = Shipment.search([('reference', '=', 'DEMO-DN-1')])
        self.assertEqual(shipment.state, 'draft')
        moves = shipment.incoming_moves
        self.assertTrue(moves)
        self.assertTrue(all(m.product.gtin for m in moves))
        self.assertEqual({m.origin.purchase.state for m in moves},
            {'processing'})
        self.assertTrue(any(m.product.lot_required
                and m.product.shelf_life_state == 'required' for m in moves))
        self.assertTrue(Sale.search([('state', '=', 'processing')]))
        self.assertTrue(Sale.search([('state', '=', 'draft')]))

        # Internal moves (B3): two pick faces, one replenishment proposed
        # from reserve, one open move order
        PickFace = pool.get('stock.pick_face')
        Internal = pool.get('stock.shipment.internal')
        self.assertEqual(summary['pick faces'], 2)
        self.assertEqual(
            [bool(f.open_order) for f in PickFace.search([])].count(True), 1)
        order, = Internal.search([('reference', '=', 'DEMO-MOVE-1')])
        self.assertEqual(order.state, 'waiting')

        with self.assertRaises(DemoError):
            generate()

    @with_transaction()
    def test_generate_bulk(self):
        "The bulk data set agrees with Tryton's own stock quantities"
        pool = Pool()
        Location = pool.get('stock.location')
        Product = pool.get('product.product')
        StockBin = pool.get('stock.bin.quantity')
        Move = pool.get('stock.move')

        warehouse, = Location.search([('type', '=', 'warehouse')])
        company = create_company()
        with set_company(company):
            summary = generate_bulk(
                company, warehouse, products=30, bins=12, moves=150)
            self.assertEqual(summary['products'], 30)
            self.assertEqual(summary['bins'], 12)
            self.assertEqual(summary['done moves'], 150)

            products = Product.search([('code', 'like', 'BULK-%')])
            self.assertEqual(len(products), 30)
            self.assertTrue(all(gtin_valid(p.gtin) for p in products))
            self.assertEqual(
                Product.search([('gtin', '=', products[3].gtin)]),
                [products[3]])
            self.assertTrue(all(p.cost_price and p.list_price_used
                    for p in products))
            bins = Location.search([('code', 'like', 'B-%'),
                    ('zone', '!=', None)])
            self.assertEqual(len(bins), 12)
            self.assertEqual(
                Move.search_count([('state', '=', 'done')]), 150)

            # The SQL-written ledger reads the same through the ORM
            rows = StockBin.search([])
            self.assertTrue(rows)
            self.assertTrue(all(r.quantity > 0 for r in rows))
            for bin_ in bins[:4]:
                ours = {}
                for row in StockBin.search([('location', '=', bin_.id)]):
                    ours[row.product.id] = (
                        ours.get(row.product.id, 0) + row.quantity)
                with Transaction().set_context(
                        locations=[bin_.id], stock_date_end=dt.date.max):
                    plain = {p.id: p.quantity
                        for p in Product.browse(list(products))
                        if p.quantity}
                self.assertEqual(ours, plain, bin_.code)

            # The derived stock per bin was rebuilt from the SQL moves
            Availability = pool.get('stock.availability')
            self.assertTrue(Availability.search(
                    [('product', 'in', [p.id for p in products])]))
            self.assertEqual(Availability.check_consistency(), [])

            # Every bin written by SQL has its load row, as the putaway's
            # search for room needs (recomputed: the same rows)
            Load = pool.get('stock.location.load')

            def loads():
                return sorted((l.location.id, round(l.volume, 6),
                        round(l.room_volume, 6)) for l in Load.search([]))
            kept = loads()
            self.assertTrue({b.id for b in bins} <= {r[0] for r in kept})
            Load.refresh()
            self.assertEqual(loads(), kept)


def load_tests(loader, tests, pattern):
    tests.addTests(doctest.DocTestSuite(demo))
    return tests
