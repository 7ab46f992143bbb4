"""Two approvers of an "any" step deciding at the same instant: exactly one
decision counts and the chain advances once (A2).  PostgreSQL only: SQLite
serialises every writer, so only PostgreSQL exercises the row lock."""
import threading
import time
import unittest
from decimal import Decimal

from trytond import backend
from trytond.exceptions import UserError
from trytond.modules.company.tests import create_company, set_company
from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME, RouteTestCase
from trytond.transaction import Transaction, TransactionError

from .tools import SuiteDatabaseMixin

ROUNDS = 5


def run_like_the_dispatcher(user, context, func):
    """Run func in its own transaction as trytond's RPC dispatcher does:
    restart on a TransactionError (records to lock at start) and retry on
    a lock or serialization failure."""
    extras = {}
    for attempt in range(20):
        try:
            with Transaction().start(
                    DB_NAME, user, context=context, **extras):
                return func()
        except TransactionError as error:
            error.fix(extras)
        except backend.DatabaseOperationalError:
            time.sleep(0.02 * (attempt + 1))
    raise RuntimeError("too many retries")


@unittest.skipUnless(backend.name == 'postgresql',
    "needs PostgreSQL concurrency")
class ApprovalConcurrencyTestCase(SuiteDatabaseMixin, RouteTestCase):
    "Test concurrent approval decisions"
    module = 'inventory_flow'

    @classmethod
    def setUpDatabase(cls):
        pool = Pool()
        User = pool.get('res.user')
        ModelData = pool.get('ir.model.data')
        Rule = pool.get('purchase.approval.rule')
        Party = pool.get('party.party')
        Template = pool.get('product.template')
        Uom = pool.get('product.uom')
        company = create_company()
        approver_group = ModelData.get_id('inventory_flow', 'group_approver')
        buyer_group = ModelData.get_id('inventory_flow', 'group_buyer')
        users = User.create([{
                    'name': login, 'login': login,
                    'groups': [('add', [group])],
                    'companies': [('add', [company.id])],
                    'company': company.id,
                    } for login, group in [
                    ('c_buyer', buyer_group), ('c_anna', approver_group),
                    ('c_bert', approver_group), ('c_cleo', approver_group)]])
        cls.buyer, cls.anna, cls.bert, cls.cleo = [u.id for u in users]
        with set_company(company):
            Rule.create([{
                        'name': "Any of two, then Cleo",
                        'company': company.id,
                        'steps': [('create', [{
                                        'name': "Lead", 'mode': 'any',
                                        'sequence': 1,
                                        'users': [('add', [
                                                    cls.anna, cls.bert])],
                                        }, {
                                        'name': "Finance", 'mode': 'any',
                                        'sequence': 2,
                                        'users': [('add', [cls.cleo])],
                                        }])],
                        }])
            cls.supplier = Party.create([{'name': "Supplier"}])[0].id
            unit, = Uom.search([('name', '=', 'Unit')])
            template, = Template.create([{
                        'name': "Drill", 'default_uom': unit.id,
                        'purchase_uom': unit.id,
                        'type': 'goods', 'purchasable': True,
                        'list_price': Decimal(10),
                        'products': [('create', [{}])],
                        }])
            cls.product = template.products[0].id
            cls.unit = unit.id
        cls.company = company.id

    def _quoted_purchase(self):
        def create():
            Purchase = Pool().get('purchase.purchase')
            purchase, = Purchase.create([{
                        'party': self.supplier,
                        'invoice_method': 'manual',
                        'lines': [('create', [{
                                        'product': self.product,
                                        'unit': self.unit,
                                        'quantity': 5,
                                        'unit_price': Decimal(100),
                                        }])],
                        }])
            Purchase.quote([purchase])
            return purchase.id
        return run_like_the_dispatcher(self.buyer, self._context(), create)

    def _context(self):
        return {'company': self.company}

    def test_one_decision_counts(self):
        "Two approvers approve the same open 'any' step at the same instant"
        for round_ in range(ROUNDS):
            purchase_id = self._quoted_purchase()
            barrier = threading.Barrier(2)
            outcomes = {}

            def decide(user):
                waited = []

                def approve():
                    Purchase = Pool().get('purchase.purchase')
                    purchase = Purchase(purchase_id)
                    if not waited:  # both start deciding at the same instant
                        waited.append(barrier.wait(timeout=30))
                    Purchase.approve([purchase], "ok")
                try:
                    run_like_the_dispatcher(user, self._context(), approve)
                    outcomes[user] = 'approved'
                except UserError as error:
                    outcomes[user] = error.message

            threads = [threading.Thread(target=decide, args=(u,))
                for u in (self.anna, self.bert)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(60)

            results = [outcomes[self.anna], outcomes[self.bert]]
            self.assertEqual(results.count('approved'), 1, results)
            # the other finds the chain moved on to the next level
            refused, = [r for r in results if r != 'approved']
            self.assertIn('open step "Finance"', refused)

            with Transaction().start(DB_NAME, 0):
                pool = Pool()
                Purchase = pool.get('purchase.purchase')
                Trail = pool.get('purchase.approval.trail')
                purchase = Purchase(purchase_id)
                levels = sorted(purchase.approvals, key=lambda l: l.sequence)
                self.assertEqual(
                    [(l.step_name, l.state) for l in levels],
                    [("Lead", 'approved'), ("Finance", 'open')],
                    f"round {round_}")
                approvals = Trail.search([
                        ('purchase', '=', purchase_id),
                        ('action', '=', 'approve'),
                        ])
                self.assertEqual(len(approvals), 1, f"round {round_}")
