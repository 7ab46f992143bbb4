"""A move racing an order reservation on the same bin never oversells
(B3, C2), PostgreSQL only: SQLite serialises every writer.

For each of ROUNDS products a bin holds 10: one thread moves 8 of it to
another bin (the scanner's ad-hoc move: conditional reservation on the
availability row, then assign and do) while another reserves 5 for an order
(the order intake's conditional UPDATE, then the assigned move of the
shipment).  Both cannot fit: exactly one wins, the loser is refused cleanly
(after a retry of its transaction on a serialization failure), and the
availability rows equal the ledger."""
import threading
import time
import unittest
from decimal import Decimal

from trytond import backend
from trytond.modules.company.tests import set_company
from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME, RouteTestCase
from trytond.transaction import Transaction

from .test_move import setup_move_fixture
from .tools import SuiteDatabaseMixin

ROUNDS = 12
STOCK, MOVE, ORDER = 10, 8, 5


@unittest.skipUnless(backend.name == 'postgresql',
    "needs PostgreSQL: SQLite serialises every writer, so a move and an "
    "order cannot race there")
class MoveConcurrencyTestCase(SuiteDatabaseMixin, RouteTestCase):
    "Test a move racing an order reservation"
    module = 'inventory_flow'
    fixture = None

    @classmethod
    def setUpDatabase(cls):
        pool = Pool()
        Template = pool.get('product.template')
        Uom = pool.get('product.uom')
        Move = pool.get('stock.move')
        Location = pool.get('stock.location')
        Company = pool.get('company.company')
        cls.fixture = fixture = setup_move_fixture()
        company = Company(fixture['company'])
        unit, = Uom.search([('name', '=', 'Unit')])
        supplier, = Location.search([('code', '=', 'SUP')])
        with set_company(company):
            templates = Template.create([{
                        'name': f'Hot {i}', 'type': 'goods',
                        'default_uom': unit.id,
                        'products': [('create', [{}])],
                        } for i in range(ROUNDS)])
            moves = Move.create([{
                        'product': t.products[0].id, 'unit': unit.id,
                        'quantity': STOCK, 'from_location': supplier.id,
                        'to_location': fixture['pick'][0],
                        'company': company.id, 'unit_price': Decimal(1),
                        'currency': company.currency.id,
                        } for t in templates])
            with Transaction().set_context(_skip_warnings=True):
                Move.do(moves)
        fixture['hot'] = [t.products[0].id for t in templates]
        Transaction().commit()

    def run_transaction(self, user, func):
        "Run func in a transaction, retried on serialization failures"
        for attempt in range(10):
            try:
                with Transaction().start(DB_NAME, user, context={
                            'company': self.fixture['company']}) as t:
                    try:
                        return func()
                    except backend.DatabaseOperationalError:
                        t.rollback()
                        raise
                    except Exception:
                        t.rollback()
                        raise
            except backend.DatabaseOperationalError:
                continue
        raise RuntimeError("too many retries")

    def move(self, product_id):
        from trytond.modules.inventory_flow.internal_move import (
            MoveRefused, create_adhoc_move)
        pool = Pool()
        Location = pool.get('stock.location')
        Product = pool.get('product.product')
        try:
            create_adhoc_move(
                Location(self.fixture['pick'][0]),
                Location(self.fixture['pick'][2]),
                Product(product_id), None, MOVE)
        except MoveRefused:
            return 'refused'
        return 'moved'

    def reserve(self, product_id, delay=0):
        """What the order intake and its processing do for one line; after
        ``delay`` seconds between its read and its write"""
        pool = Pool()
        Availability = pool.get('stock.availability')
        Move = pool.get('stock.move')
        Location = pool.get('stock.location')
        Company = pool.get('company.company')
        rows = Availability.search([
                ('product', '=', product_id),
                ('location', '=', self.fixture['pick'][0])])
        # the read saw the stock; the move may commit before the write
        time.sleep(delay)
        if not rows or not Availability.reserve_row(rows[0].id, ORDER):
            return 'refused'
        customer, = Location.search([('code', '=', 'CUS')])
        company = Company(self.fixture['company'])
        move, = Move.create([{
                    'product': product_id, 'unit': rows[0].product.default_uom,
                    'quantity': ORDER, 'from_location': rows[0].location.id,
                    'to_location': customer.id, 'company': company.id,
                    'unit_price': Decimal(1),
                    'currency': company.currency.id}])
        with Transaction().set_context(
                _stock_reserved=True, _skip_warnings=True):
            Move.assign([move])
        return 'reserved'

    def test_move_races_order(self):
        "Exactly one of a move and an order gets the last units of a bin"
        outcomes = []
        errors = []
        for index, product_id in enumerate(self.fixture['hot']):
            barrier = threading.Barrier(2)
            result = {}

            first = {'order': True, 'move': True}

            def run(name, user, func):
                try:
                    def body():
                        # the first attempts start together; a retry (after
                        # a serialization failure) goes on alone
                        attempt, first[name] = first[name], False
                        if attempt:
                            barrier.wait(timeout=60)
                        if name == 'order':
                            # every other round the order's first attempt
                            # reads, waits, then writes: the move commits
                            # in between
                            delay = 3 if index % 2 and attempt else 0
                            return func(product_id, delay)
                        return func(product_id)
                    result[name] = self.run_transaction(user, body)
                except threading.BrokenBarrierError:
                    errors.append(f"round {index}: barrier broken")
                except Exception as exception:
                    errors.append(exception)

            threads = [
                threading.Thread(target=run, args=(
                        'move', self.fixture['manager'], self.move)),
                threading.Thread(target=run, args=(
                        'order', self.fixture['admin'], self.reserve)),
                ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            outcomes.append((result.get('move'), result.get('order')))
        self.assertEqual(errors, [])
        for outcome in outcomes:
            self.assertIn(outcome,
                [('moved', 'refused'), ('refused', 'reserved')])
        with Transaction().start(DB_NAME, 0, readonly=True):
            Availability = Pool().get('stock.availability')
            self.assertEqual(Availability.check_consistency(), [])
            for product_id, (moved, _) in zip(self.fixture['hot'], outcomes):
                row, = Availability.search([
                        ('product', '=', product_id),
                        ('location', '=', self.fixture['pick'][0])])
                if moved == 'moved':
                    self.assertEqual((row.on_hand, row.reserved),
                        (STOCK - MOVE, 0))
                else:
                    self.assertEqual((row.on_hand, row.reserved),
                        (STOCK, ORDER))
        # both outcomes happen: the race is real, not serialised by chance
        self.assertTrue(any(o[0] == 'moved' for o in outcomes), outcomes)
        self.assertTrue(any(o[1] == 'reserved' for o in outcomes), outcomes)
        print(f"\nmove won {sum(o[0] == 'moved' for o in outcomes)}, "
            f"order won {sum(o[1] == 'reserved' for o in outcomes)} "
            f"of {len(outcomes)} races")
