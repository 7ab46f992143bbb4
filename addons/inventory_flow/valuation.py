"""Perpetual stock valuation reconciled with the stock accounts (D2).

Tryton's ``account_stock_continental`` posts every stock move that enters or
leaves the stock on the stock account of the product's accounting category
(``product_cost_fifo`` and the average method value the moves).  The
*reconciliation* compares, per warehouse and accounting category at a date,
the value of the done moves with the balance of the stock accounts and
lists every line where the two differ, with its reason (see
``reconcile.py``, the reference the queries here are tested against).

Both report models are ``table_query`` models: one SQL query over the move
history and the stock account lines, no loop over the moves.
"""
import datetime as dt

from sql import Cast, Literal, Null, Union
from sql.aggregate import Count, Min, Sum
from sql.conditionals import Case, Coalesce
from sql.functions import Abs, Round
from sql.operators import Like

from trytond.exceptions import UserError
from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction

from .reconcile import REASONS

REASON_SELECTION = [
    (None, ""),
    ('not_posted', "Done move without stock accounting entry"),
    ('no_stock_account', "Product category without stock account"),
    ('amount_differs', "Entry amount differs from the move value"),
    ('transfer', "Transfer between warehouses (no entry)"),
    ('revaluation', "Cost price revaluation without stock move"),
    ('manual', "Entry on the stock account without stock move"),
    ('move_not_done', "Entry of a move not done at the date"),
    ]
assert {r for r, _ in REASON_SELECTION if r} == set(REASONS)


class Move(metaclass=PoolMeta):
    __name__ = 'stock.move'

    @classmethod
    def __register__(cls, module):
        super().__register__(module)
        # product_cost_fifo makes fifo_quantity NOT NULL: a database
        # default keeps the set-based inserts of moves (demo, benches)
        # valid without naming the column
        cls.__table_handler__(module).db_default('fifo_quantity', 0)


class ValuationContext(ModelView):
    "Stock Valuation Reconciliation Context"
    __name__ = 'stock.valuation.context'

    company = fields.Many2One('company.company', "Company", required=True,
        help="The company whose stock and accounts are compared.")
    date = fields.Date("Date", required=True,
        help="The stock value and the account balances at the end of "
        "this day.")
    warehouse = fields.Many2One('stock.location', "Warehouse",
        domain=[('type', '=', 'warehouse')],
        help="Only this warehouse (the entries that belong to no warehouse "
        "are always shown).")
    category = fields.Many2One('product.category', "Accounting Category",
        domain=[('accounting', '=', True)],
        context={'company': Eval('company', -1)}, depends={'company'},
        help="Only the products of this accounting category and the "
        "entries on its stock account.")

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    @classmethod
    def default_date(cls):
        return Pool().get('ir.date').today()


def _context():
    "The company, date, warehouse and category of the report's context"
    pool = Pool()
    Company = pool.get('company.company')
    Category = pool.get('product.category')
    Date = pool.get('ir.date')
    context = Transaction().context
    company = context.get('company')
    date = context.get('date') or Date.today()
    if isinstance(date, dt.datetime):
        date = date.date()
    category = context.get('category')
    if category is not None:
        category = Category(category)
        if not category.accounting:
            raise UserError(gettext(
                    'inventory_flow.msg_valuation_category_not_accounting',
                    category=category.rec_name))
        category = category.id
    digits = Company(company).currency.digits if company else 2
    return company or -1, date, context.get('warehouse'), category, digits


def _null():
    "A typed NULL column (a bare NULL has no type in a UNION)"
    return Cast(Literal(None), 'INTEGER')


def _location_warehouse():
    "Every storage location with its warehouse (NULL outside warehouses)"
    Location = Pool().get('stock.location')
    location = Location.__table__()
    warehouse = Location.__table__()
    return location.join(warehouse, 'LEFT',
        condition=(warehouse.type == 'warehouse')
        & (location.left >= warehouse.left)
        & (location.right <= warehouse.right)
        ).select(
        location.id.as_('location'),
        warehouse.id.as_('warehouse'),
        where=location.type == 'storage')


def _stock_accounts(company):
    "The stock account of each accounting category of company"
    CategoryAccount = Pool().get('product.category.account')
    table = CategoryAccount.__table__()
    return table.select(table.category, table.account_stock,
        where=(table.company == company) & (table.account_stock != Null))


def move_value(move, from_location, method, currency, digits,
        product_cost=None):
    """The SQL value of a stock move in the company's currency, as
    account_stock_continental posts it: the purchase price of a receipt
    when the cost follows it (FIFO, average), the cost of the move
    otherwise; ``method`` is the product.cost_price_method table (LEFT
    joined: no row is the default, fixed).  A move between two warehouses
    records no cost (Tryton needs none): ``product_cost``, the
    product.cost_price table LEFT joined, gives it the product's current
    cost."""
    cost = move.cost_price
    if product_cost is not None:
        cost = Coalesce(cost, product_cost.cost_price)
    received = (from_location.type.in_(['supplier', 'production'])
        & (Coalesce(method.cost_price_method, 'fixed') != 'fixed')
        & (move.unit_price != Null) & (move.currency == currency))
    return Round(Case(
            (received, Cast(move.quantity, 'NUMERIC') * move.unit_price),
            else_=Cast(move.internal_quantity, 'NUMERIC')
            * Coalesce(cost, 0)), digits)


def reconciliation_query():
    """The rows of the reconciliation: one per warehouse side of a done
    move and one per entry on a stock account that no such move explains,
    with ``value`` (of the moves), ``account`` (on the stock accounts),
    ``difference`` and ``reason`` (NULL when they agree)."""
    pool = Pool()
    Move = pool.get('stock.move')
    Location = pool.get('stock.location')
    Product = pool.get('product.product')
    Template = pool.get('product.template')
    CostMethod = pool.get('product.cost_price_method')
    ProductCost = pool.get('product.cost_price')
    AccountMove = pool.get('account.move')
    AccountLine = pool.get('account.move.line')
    Company = pool.get('company.company')
    company_id, date, warehouse_id, category_id, digits = _context()

    company = Company.__table__()
    move = Move.__table__()
    product = Product.__table__()
    template = Template.__table__()
    method = CostMethod.__table__()
    from_location = Location.__table__()
    from_stock = _location_warehouse()
    to_stock = _location_warehouse()
    stock_account = _stock_accounts(company_id)
    line = AccountLine.__table__()
    account_move = AccountMove.__table__()
    stock_accounts = _stock_accounts(company_id)

    on_stock = (line.account.in_(stock_accounts.select(
                stock_accounts.account_stock))
        & (account_move.date <= date) & (account_move.company == company_id))
    # The id of the origin as an integer: joined by id, the entries of the
    # moves are found by index, not by comparing strings row by row
    origin_id = AccountMove.origin.sql_id(account_move.origin, AccountMove)
    posted = line.join(account_move,
        condition=line.move == account_move.id
        ).select(
        origin_id.as_('move'),
        Sum(line.debit - line.credit).as_('amount'),
        where=on_stock & Like(account_move.origin, 'stock.move,%'),
        group_by=[account_move.origin])

    product_cost = ProductCost.__table__()
    value = move_value(move, from_location, method, company.currency, digits,
        product_cost)
    from_in = from_stock.location != Null
    to_in = to_stock.location != Null
    same = (from_in & to_in
        & (Coalesce(from_stock.warehouse, -1)
            == Coalesce(to_stock.warehouse, -1)))
    moves = (move
        .join(company, condition=move.company == company.id)
        .join(product, condition=move.product == product.id)
        .join(template, condition=product.template == template.id)
        .join(method, 'LEFT', condition=(method.template == template.id)
            & (method.company == move.company))
        .join(product_cost, 'LEFT',
            condition=(product_cost.product == product.id)
            & (product_cost.company == move.company))
        .join(from_location, condition=move.from_location == from_location.id)
        .join(from_stock, 'LEFT',
            condition=from_stock.location == move.from_location)
        .join(to_stock, 'LEFT',
            condition=to_stock.location == move.to_location)
        .join(stock_account, 'LEFT',
            condition=stock_account.category == template.account_category)
        .join(posted, 'LEFT', condition=posted.move == move.id))
    where = ((move.state == 'done') & (move.effective_date <= date)
        & (move.company == company_id) & (template.type == 'goods')
        & (from_in | to_in) & ~same)
    if category_id is not None:
        where &= template.account_category == category_id

    def side(sign, stock, other_in, account):
        side_where = where & (stock.location != Null)
        if warehouse_id is not None:
            side_where &= stock.warehouse == warehouse_id
        side_value = value * sign
        reason = Case(
            (Round(side_value - Coalesce(account, 0), digits) == 0, Null),
            (account == Null, Case(
                    (other_in, 'transfer'),
                    (stock_account.account_stock == Null,
                        'no_stock_account'),
                    else_='not_posted')),
            else_='amount_differs')
        return moves.select(
            (move.id * 4 + (0 if sign < 0 else 1)).as_('id'),
            stock.warehouse.as_('warehouse'),
            template.account_category.as_('category'),
            stock_account.account_stock.as_('account'),
            move.product.as_('product'),
            move.id.as_('stock_move'),
            _null().as_('account_move'),
            move.effective_date.as_('date'),
            (move.internal_quantity * sign).as_('quantity'),
            side_value.as_('value'),
            Coalesce(account, 0).as_('account_amount'),
            reason.as_('reason'),
            where=side_where)
    # A move between two warehouses' stock carries its entries (if any,
    # which continental never posts) on the receiving side
    from_side = side(-1, from_stock, to_in,
        Case((to_in, Null), else_=posted.amount))
    to_side = side(1, to_stock, from_in, posted.amount)

    # Entries whose origin move is not among the sides: not done at the date
    explained = moves.select(move.id, where=where)
    origin_move = Move.__table__()
    origin_product = Product.__table__()
    origin_template = Template.__table__()
    origin_from = _location_warehouse()
    origin_to = _location_warehouse()
    entries_where = explained.id == Null
    if category_id is not None:
        entries_where &= origin_template.account_category == category_id
    origin_warehouse = Coalesce(origin_to.warehouse, origin_from.warehouse)
    if warehouse_id is not None:
        entries_where &= ((origin_warehouse == warehouse_id)
            | (origin_warehouse == Null))
    unexplained = (posted
        .join(explained, 'LEFT', condition=posted.move == explained.id)
        .join(origin_move, condition=posted.move == origin_move.id)
        .join(origin_product,
            condition=origin_move.product == origin_product.id)
        .join(origin_template,
            condition=origin_product.template == origin_template.id)
        .join(origin_from, 'LEFT',
            condition=origin_from.location == origin_move.from_location)
        .join(origin_to, 'LEFT',
            condition=origin_to.location == origin_move.to_location)
        ).select(
        (origin_move.id * 4 + 2).as_('id'),
        origin_warehouse.as_('warehouse'),
        origin_template.account_category.as_('category'),
        _null().as_('account'),
        origin_move.product.as_('product'),
        origin_move.id.as_('stock_move'),
        _null().as_('account_move'),
        origin_move.effective_date.as_('date'),
        Cast(Literal(None), 'FLOAT').as_('quantity'),
        Cast(Literal(0), 'NUMERIC').as_('value'),
        posted.amount.as_('account_amount'),
        Case((Round(posted.amount, digits) == 0, Null),
            else_='move_not_done').as_('reason'),
        where=entries_where)

    # Entries on a stock account that no stock move explains
    entry_product = Product.__table__()
    entry_template = Template.__table__()
    owner = _stock_accounts(company_id)
    sole_owner = owner.select(owner.account_stock,
        Min(owner.category).as_('category'),
        group_by=[owner.account_stock],
        having=Count(owner.category) == 1)
    from_product = Like(account_move.origin, 'product.product,%')
    entry_category = Coalesce(
        entry_template.account_category, sole_owner.category)
    other_where = on_stock & ((account_move.origin == Null)
        | ~Like(account_move.origin, 'stock.move,%'))
    if category_id is not None:
        other_where &= ((entry_category == category_id)
            | ((entry_category == Null)
                & line.account.in_(stock_accounts.select(
                        stock_accounts.account_stock,
                        where=stock_accounts.category == category_id))))
    amount = line.debit - line.credit
    other = (line
        .join(account_move, condition=line.move == account_move.id)
        .join(entry_product, 'LEFT', condition=from_product
            & (entry_product.id == origin_id))
        .join(entry_template, 'LEFT',
            condition=entry_product.template == entry_template.id)
        .join(sole_owner, 'LEFT',
            condition=sole_owner.account_stock == line.account)
        ).select(
        (line.id * 4 + 3).as_('id'),
        _null().as_('warehouse'),
        entry_category.as_('category'),
        line.account.as_('account'),
        entry_product.id.as_('product'),
        _null().as_('stock_move'),
        account_move.id.as_('account_move'),
        account_move.date.as_('date'),
        Cast(Literal(None), 'FLOAT').as_('quantity'),
        Cast(Literal(0), 'NUMERIC').as_('value'),
        amount.as_('account_amount'),
        Case((Round(amount, digits) == 0, Null),
            (Like(account_move.origin, 'product.%'), 'revaluation'),
            else_='manual').as_('reason'),
        where=other_where)
    return Union(from_side, to_side, unexplained, other, all_=True), digits


class _ValuationMixin:
    __slots__ = ()
    warehouse = fields.Many2One('stock.location', "Warehouse",
        help="The warehouse whose stock the line values (empty: an entry "
        "no warehouse can be told).")
    category = fields.Many2One('product.category', "Accounting Category",
        help="The accounting category of the product (its stock account).")
    value = fields.Numeric("Stock Value", digits=(16, 2),
        help="The value of the done moves at the date.")
    account_amount = fields.Numeric("Account Balance", digits=(16, 2),
        help="The balance of the stock account lines at the date.")
    difference = fields.Numeric("Difference", digits=(16, 2),
        help="Stock value minus account balance: zero when they reconcile.")


class ValuationReconciliation(_ValuationMixin, ModelSQL, ModelView):
    "Stock Valuation Reconciliation"
    __name__ = 'stock.valuation.reconciliation'

    lines = fields.Integer("Differing Lines",
        help="The lines that explain the difference.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('warehouse', 'ASC NULLS LAST'),
            ('category', 'ASC'), ('id', 'ASC')]

    @classmethod
    def table_query(cls):
        union, digits = reconciliation_query()
        rows = union
        return rows.select(
            Min(rows.id).as_('id'),
            rows.warehouse.as_('warehouse'),
            rows.category.as_('category'),
            Sum(rows.value).as_('value'),
            Sum(rows.account_amount).as_('account_amount'),
            Sum(rows.value - rows.account_amount).as_('difference'),
            Count(rows.reason).as_('lines'),
            group_by=[rows.warehouse, rows.category])


class ValuationDifference(_ValuationMixin, ModelSQL, ModelView):
    "Stock Valuation Difference"
    __name__ = 'stock.valuation.difference'

    reason = fields.Selection(REASON_SELECTION, "Reason",
        help="Why the stock value and the stock account differ here.")
    product = fields.Many2One('product.product', "Product",
        help="The product of the move or of the revaluation.")
    account = fields.Many2One('account.account', "Stock Account",
        help="The stock account of the line.")
    stock_move = fields.Many2One('stock.move', "Stock Move",
        help="The move whose value or entry differs.")
    account_move = fields.Many2One('account.move', "Account Move",
        help="The entry on the stock account without stock move.")
    date = fields.Date("Date", help="The date of the move or of the entry.")
    quantity = fields.Float("Quantity",
        help="The quantity entering (positive) or leaving the warehouse.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('date', 'DESC'), ('id', 'DESC')]

    @classmethod
    def table_query(cls):
        union, digits = reconciliation_query()
        rows = union
        return rows.select(
            rows.id, rows.warehouse, rows.category, rows.account,
            rows.product, rows.stock_move, rows.account_move, rows.date,
            rows.quantity, rows.value, rows.account_amount,
            (rows.value - rows.account_amount).as_('difference'),
            rows.reason,
            where=(rows.reason != Null)
            & (Abs(Round(rows.value - rows.account_amount, digits)) > 0))
