"""Near-expiry lots (B2, B5) and the stock dashboard (B1).

Every model here is a read-only SQL view (``table_query``) over inventory_flow's
``stock.availability`` (on hand and reserved per product, bin and lot,
derived from the ``stock.move`` ledger) and the done moves; the value is the
quantity times the product's cost price (``product.cost_price`` of the
company).  Each view is one aggregate query, so the dashboard reads the same
on 100 rows as on 100 000.
"""
import datetime as dt

from sql import Cast, Literal, Null, Union
from sql.aggregate import Max, Min, Sum
from sql.conditionals import Case, Coalesce

from trytond.model import ModelSQL, ModelView, fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction

from .alerts import days_until
from .thresholds import AGE_BOUNDS, age_bucket, days_of_cover, turnover

#: Near-expiry horizon (days) of products whose categories set none
DEFAULT_EXPIRY_ALERT_DAYS = 30

EXPIRY_STATES = [
    ('near', "Near Expiry"),
    ('expired', "Expired (Blocked)"),
    ]


class Category(metaclass=PoolMeta):
    __name__ = 'product.category'

    expiry_alert_days = fields.Integer("Expiry Alert (Days)",
        domain=['OR', ('expiry_alert_days', '=', None),
            ('expiry_alert_days', '>=', 0)],
        help="Lots of the category's products expiring within this many "
        "days are flagged for sales action (30 when empty).")


def _today():
    return Pool().get('ir.date').today()


def _company_id():
    return Transaction().context.get('company') or -1


def _warehouse_join(location, warehouse):
    "Join condition of a location and the warehouse holding it"
    return ((location.left >= warehouse.left)
        & (location.right <= warehouse.right)
        & (warehouse.type == 'warehouse'))


def _value(quantity, cost):
    return quantity * Coalesce(cost.cost_price, 0)


def _valued_stock(where=None, in_warehouse=True):
    """The availability rows (product, lot, bin) with their warehouse and
    value at the company's cost price: the one subquery every board reads.
    ``where`` filters the availability table; ``in_warehouse`` applies the
    context's warehouse."""
    pool = Pool()
    Availability = pool.get('stock.availability')
    Location = pool.get('stock.location')
    CostPrice = pool.get('product.cost_price')
    availability = Availability.__table__()
    location = Location.__table__()
    warehouse = Location.__table__()
    cost = CostPrice.__table__()
    condition = Literal(True) if where is None else where(availability)
    warehouse_id = Transaction().context.get('warehouse')
    if in_warehouse and warehouse_id:
        condition &= warehouse.id == warehouse_id
    return (availability
        .join(location, condition=availability.location == location.id)
        .join(warehouse, condition=_warehouse_join(location, warehouse))
        .join(cost, 'LEFT', condition=(cost.product == availability.product)
            & (cost.company == _company_id()))
        .select(
            availability.id.as_('id'),
            availability.product.as_('product'),
            availability.lot.as_('lot'),
            availability.location.as_('location'),
            warehouse.id.as_('warehouse'),
            availability.on_hand.as_('on_hand'),
            availability.reserved.as_('reserved'),
            availability.received.as_('received'),
            _value(availability.on_hand, cost).as_('value'),
            where=condition))


class LotExpiry(ModelSQL, ModelView):
    "Near-Expiry Lot"
    __name__ = 'stock.lot.expiry'

    lot = fields.Many2One('stock.lot', "Lot", readonly=True)
    product = fields.Many2One('product.product', "Product", readonly=True)
    warehouse = fields.Many2One('stock.location', "Warehouse", readonly=True)
    expiration_date = fields.Date("Expiration Date", readonly=True,
        help="The lot's expiration date (else its shelf-life date).")
    days_left = fields.Integer("Days Left", readonly=True,
        help="Days until expiry; negative once expired.")
    quantity = fields.Float("Quantity", readonly=True,
        help="On hand in the warehouse, in the product's default unit.")
    reserved = fields.Float("Reserved", readonly=True)
    value = fields.Numeric("Value", digits=(16, 2), readonly=True,
        help="Quantity times the product's cost price.")
    state = fields.Selection(EXPIRY_STATES, "State", readonly=True,
        help="Expired lots are never allocated to orders (FEFO skips them).")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('expiration_date', 'ASC'), ('id', 'ASC')]

    @classmethod
    def table_query(cls):
        pool = Pool()
        Lot = pool.get('stock.lot')
        Product = pool.get('product.product')
        TemplateCategory = pool.get('product.template-product.category')
        Category = pool.get('product.category')
        stock = _valued_stock(lambda a: a.on_hand > 0)
        lot = Lot.__table__()
        product = Product.__table__()
        template_category = TemplateCategory.__table__()
        category = Category.__table__()
        today = _today()

        horizon = template_category.join(category,
            condition=template_category.category == category.id
            ).select(template_category.template.as_('template'),
                Max(category.expiry_alert_days).as_('days'),
                group_by=[template_category.template])
        expiry = Coalesce(lot.expiration_date, lot.shelf_life_expiration_date)
        days_left = Cast(days_until(expiry, today), 'INTEGER')
        where = ((expiry != Null)
            & (days_left <= Coalesce(horizon.days,
                    DEFAULT_EXPIRY_ALERT_DAYS)))
        return (stock
            .join(lot, condition=stock.lot == lot.id)
            .join(product, condition=stock.product == product.id)
            .join(horizon, 'LEFT',
                condition=horizon.template == product.template)
            .select(
                Min(stock.id).as_('id'),
                lot.id.as_('lot'),
                product.id.as_('product'),
                stock.warehouse.as_('warehouse'),
                expiry.as_('expiration_date'),
                days_left.as_('days_left'),
                Sum(stock.on_hand).as_('quantity'),
                Sum(stock.reserved).as_('reserved'),
                Sum(stock.value).as_('value'),
                Case((days_left < 0, 'expired'), else_='near').as_('state'),
                where=where,
                group_by=[lot.id, product.id, stock.warehouse, expiry]))


class DashboardContext(ModelView):
    "Stock Dashboard Context"
    __name__ = 'stock.dashboard.context'

    warehouse = fields.Many2One('stock.location', "Warehouse",
        domain=[('type', '=', 'warehouse')],
        help="Only this warehouse; all when empty.")
    from_date = fields.Date("From Date", required=True,
        domain=[('from_date', '<=', Eval('to_date'))],
        help="The start of the period of turnover and days of cover.")
    to_date = fields.Date("To Date", required=True,
        domain=[('to_date', '>=', Eval('from_date'))])

    @classmethod
    def default_from_date(cls):
        return _today() - dt.timedelta(days=90)

    @classmethod
    def default_to_date(cls):
        return _today()


class DashboardStock(ModelSQL, ModelView):
    "Stock Quantity and Value"
    __name__ = 'stock.dashboard.stock'

    product = fields.Many2One('product.product', "Product", readonly=True)
    warehouse = fields.Many2One('stock.location', "Warehouse", readonly=True)
    location = fields.Many2One('stock.location', "Bin", readonly=True)
    quantity = fields.Float("Quantity", readonly=True,
        help="On hand, in the product's default unit.")
    reserved = fields.Float("Reserved", readonly=True)
    value = fields.Numeric("Value", digits=(16, 2), readonly=True,
        help="Quantity times the product's cost price.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('value', 'DESC'), ('id', 'ASC')]

    @classmethod
    def table_query(cls):
        stock = _valued_stock(lambda a: a.on_hand != 0)
        return stock.select(
            Min(stock.id).as_('id'),
            stock.product.as_('product'),
            stock.warehouse.as_('warehouse'),
            stock.location.as_('location'),
            Sum(stock.on_hand).as_('quantity'),
            Sum(stock.reserved).as_('reserved'),
            Sum(stock.value).as_('value'),
            group_by=[stock.product, stock.warehouse, stock.location])


class DashboardAge(ModelSQL, ModelView):
    "Stock Age"
    __name__ = 'stock.dashboard.age'

    warehouse = fields.Many2One('stock.location', "Warehouse", readonly=True)
    bucket = fields.Char("Age (Days)", readonly=True,
        help="Days since the stock first entered its bin (lot receipt).")
    sequence = fields.Integer("Sequence", readonly=True)
    quantity = fields.Float("Quantity", readonly=True)
    value = fields.Numeric("Value", digits=(16, 2), readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('warehouse', 'ASC'), ('sequence', 'ASC'), ('id', 'ASC')]

    @classmethod
    def table_query(cls):
        # every warehouse: the board groups by warehouse
        stock = _valued_stock(lambda a: a.on_hand > 0, in_warehouse=False)
        today = _today()
        age = -days_until(Coalesce(stock.received, today), today)
        whens, sequences = [], []
        for index, bound in enumerate(AGE_BOUNDS):
            whens.append((age <= bound, age_bucket(bound)))
            sequences.append((age <= bound, index + 1))
        bucket = Case(*whens, else_=age_bucket(AGE_BOUNDS[-1] + 1))
        sequence = Case(*sequences, else_=len(AGE_BOUNDS) + 1)
        rows = stock.select(
            stock.warehouse.as_('warehouse'),
            bucket.as_('bucket'),
            sequence.as_('sequence'),
            stock.on_hand.as_('quantity'),
            stock.value.as_('value'))
        return rows.select(
            (rows.warehouse * 100 + rows.sequence).as_('id'),
            rows.warehouse, rows.bucket, rows.sequence,
            Sum(rows.quantity).as_('quantity'),
            Sum(rows.value).as_('value'),
            group_by=[rows.warehouse, rows.bucket, rows.sequence])


class DashboardTurnoverMixin:
    __slots__ = ()
    consumed = fields.Float("Consumed", readonly=True,
        help="Quantity shipped to customers or production in the period.")
    quantity = fields.Float("On Hand", readonly=True)
    value = fields.Numeric("Value", digits=(16, 2), readonly=True)
    turnover = fields.Function(fields.Float("Turnover", digits=(16, 2),
            help="Consumed in the period divided by the stock on hand."),
        'get_figures')
    days_of_cover = fields.Function(fields.Float("Days of Cover",
            digits=(16, 1),
            help="Days the stock lasts at the period's average "
            "consumption; empty when nothing was consumed."),
        'get_figures')

    @classmethod
    def _group_column(cls, product, template_category):
        raise NotImplementedError

    @classmethod
    def table_query(cls):
        pool = Pool()
        Move = pool.get('stock.move')
        Location = pool.get('stock.location')
        Product = pool.get('product.product')
        TemplateCategory = pool.get('product.template-product.category')
        context = Transaction().context
        today = _today()
        from_date = context.get('from_date') or (
            today - dt.timedelta(days=90))
        to_date = context.get('to_date') or today
        warehouse_id = context.get('warehouse')

        move = Move.__table__()
        from_location = Location.__table__()
        to_location = Location.__table__()
        move_warehouse = Location.__table__()

        move_where = ((move.state == 'done')
            & (from_location.type == 'storage')
            & to_location.type.in_(['customer', 'production'])
            & (move.effective_date >= from_date)
            & (move.effective_date <= to_date))
        if warehouse_id:
            move_where &= move_warehouse.id == warehouse_id
        valued = _valued_stock()
        stock = valued.select(valued.product.as_('product'),
            valued.on_hand.as_('quantity'),
            Literal(0.0).as_('consumed'),
            valued.value.as_('value'))
        consumed = (move
            .join(from_location,
                condition=move.from_location == from_location.id)
            .join(to_location, condition=move.to_location == to_location.id)
            .join(move_warehouse, condition=_warehouse_join(
                    from_location, move_warehouse))
            .select(move.product.as_('product'),
                Literal(0.0).as_('quantity'),
                move.internal_quantity.as_('consumed'),
                Literal(0).as_('value'),
                where=move_where))
        union = Union(stock, consumed, all_=True)
        per_product = union.select(union.product.as_('product'),
            Sum(union.quantity).as_('quantity'),
            Sum(union.consumed).as_('consumed'),
            Sum(union.value).as_('value'),
            group_by=[union.product])
        product = Product.__table__()
        template_category = TemplateCategory.__table__()
        first_category = template_category.select(
            template_category.template.as_('template'),
            Min(template_category.category).as_('category'),
            group_by=[template_category.template])
        group = cls._group_column(per_product, first_category)
        return per_product.join(product,
            condition=product.id == per_product.product
            ).join(first_category, 'LEFT',
                condition=first_category.template == product.template
            ).select(
                Min(per_product.product).as_('id'),
                group.as_(cls._group_name),
                Sum(per_product.quantity).as_('quantity'),
                Sum(per_product.consumed).as_('consumed'),
                Sum(per_product.value).as_('value'),
                where=group != Null,
                group_by=[group])

    @classmethod
    def get_figures(cls, records, names):
        context = Transaction().context
        today = _today()
        from_date = context.get('from_date') or (
            today - dt.timedelta(days=90))
        to_date = context.get('to_date') or today
        period = (to_date - from_date).days + 1
        result = {n: {} for n in names}
        for record in records:
            if 'turnover' in result:
                result['turnover'][record.id] = turnover(
                    record.consumed or 0, record.quantity)
            if 'days_of_cover' in result:
                result['days_of_cover'][record.id] = days_of_cover(
                    record.quantity or 0, record.consumed, period)
        return result


class DashboardTurnover(DashboardTurnoverMixin, ModelSQL, ModelView):
    "Turnover by Product"
    __name__ = 'stock.dashboard.turnover'
    _group_name = 'product'

    product = fields.Many2One('product.product', "Product", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('consumed', 'DESC'), ('id', 'ASC')]

    @classmethod
    def _group_column(cls, per_product, first_category):
        return per_product.product


class DashboardTurnoverCategory(DashboardTurnoverMixin, ModelSQL, ModelView):
    "Turnover by Category"
    __name__ = 'stock.dashboard.turnover.category'
    _group_name = 'category'

    category = fields.Many2One('product.category', "Category",
        readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('consumed', 'DESC'), ('id', 'ASC')]

    @classmethod
    def _group_column(cls, per_product, first_category):
        return first_category.category
