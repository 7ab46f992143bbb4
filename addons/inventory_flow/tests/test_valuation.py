"""Database tests of the stock valuation reconciliation (D2) not in the
scenario: transfers between warehouses, a revaluation, a cancelled move,
the demo's books, the access rights, and the set-based report against the
naive per-move computation (``naive_reconciliation``, also the baseline of
``tests/bench/bench_valuation.py``)."""
import datetime as dt
from decimal import Decimal

from trytond.model.exceptions import AccessError
from trytond.modules.company.tests import create_company, set_company
from trytond.modules.inventory_flow.reconcile import Entry, Side, reconcile
from trytond.modules.inventory_flow.tests.tools import SuiteDatabaseMixin
from trytond.modules.inventory_flow.valuation_books import (
    create_chart, create_fiscal_year, set_category_accounts, stock_accounts)
from trytond.pool import Pool
from trytond.tests import test_tryton
from trytond.tests.test_tryton import with_transaction
from trytond.transaction import Transaction

OUTSIDE = object()


def naive_reconciliation(company, date):
    """The reconciliation computed record by record with the ORM, as one
    would without the report: every done move, its entries, every line of
    the stock accounts; returns :func:`reconcile`'s ``(totals, lines)``."""
    pool = Pool()
    Move = pool.get('stock.move')
    Line = pool.get('account.move.line')
    Category = pool.get('product.category')
    Product = pool.get('product.product')
    Template = pool.get('product.template')
    currency = company.currency
    owners = {}
    for category in Category.search([('accounting', '=', True)]):
        if category.account_stock:
            owners.setdefault(category.account_stock.id, []).append(
                category.id)
    stock_accounts = set(owners)

    def warehouse_of(location):
        if location.type != 'storage':
            return OUTSIDE
        return location.warehouse.id if location.warehouse else None

    def on_stock(account_move):
        if account_move.date > date:
            return None
        lines = [l for l in account_move.lines
            if l.account.id in stock_accounts]
        return sum((l.debit - l.credit for l in lines), Decimal(0))

    sides, explained = [], set()
    for move in Move.search([
                ('state', '=', 'done'), ('effective_date', '<=', date),
                ('company', '=', company.id),
                ('product.type', '=', 'goods')], order=[('id', 'ASC')]):
        from_ = warehouse_of(move.from_location)
        to = warehouse_of(move.to_location)
        if from_ is OUTSIDE and to is OUTSIDE:
            continue
        if from_ is not OUTSIDE and to is not OUTSIDE and from_ == to:
            continue
        explained.add(move.id)
        method = move.product.cost_price_method
        if (move.from_location.type in {'supplier', 'production'}
                and method != 'fixed' and move.unit_price is not None
                and move.currency == currency):
            value = Decimal(str(move.quantity)) * move.unit_price
        else:
            cost = move.cost_price
            if cost is None:  # a transfer: the product's current cost
                cost = move.product.cost_price
            value = Decimal(str(move.internal_quantity)) * (cost or 0)
        value = currency.round(value)
        amounts = [a for a in map(on_stock, move.account_moves)
            if a is not None]
        account = sum(amounts, Decimal(0)) if amounts else None
        category = move.product.account_category
        has_account = bool(category and category.account_stock)
        category = category.id if category else None
        if from_ is not OUTSIDE:
            sides.append(Side(move.id * 4, from_, category, -value,
                    account if to is OUTSIDE else None, to is not OUTSIDE,
                    has_account))
        if to is not OUTSIDE:
            sides.append(Side(move.id * 4 + 1, to, category, value,
                    account, from_ is not OUTSIDE, has_account))

    entries, by_origin = [], {}
    for line in Line.search([
                ('account', 'in', list(stock_accounts)),
                ('move.date', '<=', date),
                ('move.company', '=', company.id)]):
        origin = line.move.origin
        amount = line.debit - line.credit
        if isinstance(origin, Move):
            if origin.id not in explained:
                by_origin[origin] = by_origin.get(origin, 0) + amount
            continue
        if isinstance(origin, Product):
            category = origin.account_category
        elif isinstance(origin, Template):
            category = origin.account_category
        else:
            category = None
        if category is None and len(owners[line.account.id]) == 1:
            category, = owners[line.account.id]
        elif category is not None:
            category = category.id
        kind = 'product' if isinstance(origin, (Product, Template)) else None
        entries.append(Entry(line.id * 4 + 3, None, category, amount, kind))
    for move, amount in by_origin.items():
        from_ = warehouse_of(move.from_location)
        to = warehouse_of(move.to_location)
        warehouse = to if to not in {OUTSIDE, None} else (
            from_ if from_ is not OUTSIDE else None)
        category = move.product.account_category
        entries.append(Entry(move.id * 4 + 2, warehouse,
                category.id if category else None, amount, 'stock.move'))
    return reconcile(sides, entries)


def report(company, date, **context):
    "The totals and the difference lines of the set-based report"
    pool = Pool()
    Reconciliation = pool.get('stock.valuation.reconciliation')
    Difference = pool.get('stock.valuation.difference')
    with Transaction().set_context(company=company.id, date=date, **context):
        totals = {(r.warehouse.id if r.warehouse else None,
                r.category.id if r.category else None): (
                r.value, r.account_amount, r.difference)
            for r in Reconciliation.search([])}
        lines = sorted((d.id, d.reason, d.difference)
            for d in Difference.search([]))
    return totals, lines


def same(report_result, naive_result):
    "The two results as comparable, rounded values"
    def cents(value):
        return Decimal(value).quantize(Decimal('0.01'))
    totals, lines = report_result
    naive_totals, naive_lines = naive_result
    return (
        {k: tuple(map(cents, v)) for k, v in totals.items()},
        [(i, r, cents(d)) for i, r, d in lines],
        ), (
        {k: tuple(map(cents, v)) for k, v in naive_totals.items()},
        sorted((l.key, l.reason, cents(l.difference)) for l in naive_lines),
        )


class ValuationTestCase(SuiteDatabaseMixin, test_tryton._DBTestCase):
    "Test the stock valuation reconciliation"
    module = 'inventory_flow'
    extras = []

    def _books(self, company):
        "Chart, continental fiscal year and a goods category; return it"
        Category = Pool().get('product.category')
        today = Pool().get('ir.date').today()
        create_chart(company)
        create_fiscal_year(company, today.year)
        category, = Category.create([{'name': "Goods", 'accounting': True}])
        set_category_accounts(category, stock_accounts(company))
        return category

    def _product(self, category, method='average', cost=Decimal('2')):
        pool = Pool()
        Template = pool.get('product.template')
        Uom = pool.get('product.uom')
        unit, = Uom.search([('name', '=', 'Unit')])
        template, = Template.create([{
                    'name': f"Product {method}", 'type': 'goods',
                    'default_uom': unit.id, 'account_category': category.id,
                    'cost_price_method': method,
                    'products': [('create', [{'cost_price': cost}])],
                    }])
        return template.products[0]

    def _move(self, product, from_, to, quantity, price=None, date=None,
            do=True):
        pool = Pool()
        Move = pool.get('stock.move')
        Date = pool.get('ir.date')
        company = Transaction().context['company']
        Company = pool.get('company.company')
        date = date or Date.today()
        move, = Move.create([{
                    'product': product.id, 'unit': product.default_uom.id,
                    'quantity': quantity, 'from_location': from_.id,
                    'to_location': to.id, 'company': company,
                    'unit_price': price,
                    'currency': Company(company).currency.id
                    if price is not None else None,
                    'planned_date': date, 'effective_date': date,
                    }])
        if do:
            with Transaction().set_context(_skip_warnings=True):
                Move.do([move])
        return move

    def _locations(self):
        Location = Pool().get('stock.location')
        warehouse, = Location.search([('type', '=', 'warehouse')])
        supplier, = Location.search([('code', '=', 'SUP')])
        customer, = Location.search([('code', '=', 'CUS')])
        return warehouse, supplier, customer

    def _second_warehouse(self):
        Location = Pool().get('stock.location')
        zones = Location.create([{'name': f"Second {name}", 'type': 'storage'}
                for name in ['Input', 'Output', 'Storage']])
        second, = Location.create([{
                    'name': "Second", 'code': 'W2', 'type': 'warehouse',
                    'input_location': zones[0].id,
                    'output_location': zones[1].id,
                    'storage_location': zones[2].id}])
        Location.write(zones, {'parent': second.id})
        return second

    @with_transaction()
    def test_transfer_between_warehouses(self):
        "A transfer moves value between warehouses, not between accounts"
        company = create_company()
        with set_company(company):
            category = self._books(company)
            product = self._product(category)
            warehouse, supplier, customer = self._locations()
            second = self._second_warehouse()
            today = Pool().get('ir.date').today()
            self._move(product, supplier, warehouse.storage_location, 10,
                Decimal('2'))
            transfer = self._move(product, warehouse.storage_location,
                second.storage_location, 4)

            totals, lines = report(company, today)
            self.assertEqual(totals[warehouse.id, category.id],
                (Decimal('12'), Decimal('20'), Decimal('-8')))
            self.assertEqual(totals[second.id, category.id],
                (Decimal('8'), Decimal('0'), Decimal('8')))
            self.assertEqual(lines, [
                    (transfer.id * 4, 'transfer', Decimal('-8')),
                    (transfer.id * 4 + 1, 'transfer', Decimal('8'))])
            # Over the company the transfer nets to zero
            self.assertEqual(
                sum(d for _, _, d in totals.values()), Decimal(0))
            # The warehouse's view alone
            totals, lines = report(company, today, warehouse=second.id)
            self.assertEqual(list(totals), [(second.id, category.id)])
            self.assertEqual(*same(report(company, today),
                    naive_reconciliation(company, today)))

    @with_transaction()
    def test_revaluation_and_cancellation(self):
        "A cost revaluation is a line; a cancelled move nets to nothing"
        pool = Pool()
        Product = pool.get('product.product')
        Move = pool.get('stock.move')
        company = create_company()
        with set_company(company):
            category = self._books(company)
            product = self._product(category, 'average')
            warehouse, supplier, customer = self._locations()
            storage = warehouse.storage_location
            today = pool.get('ir.date').today()
            self._move(product, supplier, storage, 10, Decimal('2'))
            shipped = self._move(product, storage, customer, 3, Decimal(5))
            Move.cancel([shipped])
            with Transaction().set_context(
                    locations=[storage.id], stock_date_end=today):
                Product.update_cost_price({Decimal('2.5'): [product]})

            totals, lines = report(company, today)
            self.assertEqual(totals[warehouse.id, category.id],
                (Decimal('20'), Decimal('20'), Decimal('0')))
            self.assertEqual(totals[None, category.id],
                (Decimal('0'), Decimal('5'), Decimal('-5')))
            self.assertEqual([(r, d) for _, r, d in lines],
                [('revaluation', Decimal('-5'))])
            self.assertEqual(*same(report(company, today),
                    naive_reconciliation(company, today)))

    @with_transaction()
    def test_not_posted_and_filters(self):
        "Moves before the fiscal year and products without account show"
        pool = Pool()
        Category = pool.get('product.category')
        company = create_company()
        with set_company(company):
            category = self._books(company)
            bare, = Category.create([{'name': "Bare", 'accounting': True}])
            product = self._product(category, 'fifo')
            other = self._product(bare, 'average')
            warehouse, supplier, customer = self._locations()
            storage = warehouse.storage_location
            today = pool.get('ir.date').today()
            last_year = today.replace(month=1, day=1) - dt.timedelta(days=1)
            old = self._move(product, supplier, storage, 5, Decimal('3'),
                date=last_year)
            # Done before the books had its category's stock account
            bare_move = self._move(other, supplier, storage, 2, Decimal('4'),
                date=last_year)
            self._move(product, supplier, storage, 1, Decimal('3'))

            totals, lines = report(company, today)
            self.assertEqual(lines, sorted([
                        (old.id * 4 + 1, 'not_posted', Decimal('15')),
                        (bare_move.id * 4 + 1, 'no_stock_account',
                            Decimal('8'))]))
            self.assertEqual(totals[warehouse.id, category.id],
                (Decimal('18'), Decimal('3'), Decimal('15')))
            # At the end of the day before, the receipt of today was not
            totals, lines = report(
                company, today - dt.timedelta(days=1), category=category.id)
            self.assertEqual(totals[warehouse.id, category.id],
                (Decimal('15'), Decimal('0'), Decimal('15')))
            # One category
            totals, lines = report(company, today, category=bare.id)
            self.assertEqual(list(totals), [(warehouse.id, bare.id)])
            self.assertEqual(*same(report(company, today),
                    naive_reconciliation(company, today)))

    @with_transaction()
    def test_access(self):
        "Finance and managers read the reconciliation, operators do not"
        pool = Pool()
        User = pool.get('res.user')
        ModelData = pool.get('ir.model.data')
        Reconciliation = pool.get('stock.valuation.reconciliation')
        Difference = pool.get('stock.valuation.difference')
        company = create_company()
        with set_company(company):
            self._books(company)
            users = {}
            for login in ['finance', 'manager', 'operator']:
                users[login], = User.create([{
                            'login': login, 'name': login,
                            'companies': [('add', [company.id])],
                            'company': company.id,
                            'groups': [('add', [ModelData.get_id(
                                            'inventory_flow',
                                            f'group_{login}')])],
                            }])
            for login, allowed in [('finance', True), ('manager', True),
                    ('operator', False)]:
                for Model in [Reconciliation, Difference]:
                    with Transaction().set_user(users[login].id), \
                            Transaction().set_context(
                                _check_access=True, company=company.id):
                        if allowed:
                            Model.search([])
                        else:
                            with self.assertRaises(AccessError):
                                Model.search([])

    @with_transaction()
    def test_demo_books_reconcile(self):
        "The demo's books, curated and bulk, reconcile to zero"
        pool = Pool()
        Company = pool.get('company.company')
        from trytond.modules.inventory_flow.demo import (
            _warehouse, generate, generate_bulk)
        summary = generate()
        self.assertEqual(summary['fiscal years'], 2)
        company, = Company.search([], order=[('id', 'DESC')], limit=1)
        with set_company(company), Transaction().set_context(
                _skip_warnings=True):
            bulk = generate_bulk(company, _warehouse(), products=30, bins=12,
                moves=150)
            self.assertGreater(bulk['stock entries'], 100)
            today = pool.get('ir.date').today()
            totals, lines = report(company, today)
            self.assertEqual(lines, [])
            self.assertTrue(totals)
            for value, account, difference in totals.values():
                self.assertGreater(value, 0)
                self.assertEqual(difference, 0)
            self.assertEqual(*same(report(company, today),
                    naive_reconciliation(company, today)))
