"""Purchase suggestions (A1): Tryton's purchase requests from order points
(``stock_supply``), extended with

* the demand of open sale lines not yet turned into shipments (quotations
  and confirmed sales waiting to be processed) — Tryton's forecast already
  counts the moves of processed sales and the reservations (assigned moves);
* the supplier's minimum order quantity and packaging (rounded up);
* a *Why* text on each suggestion: threshold, forecast, demand, supplier lead
  time and rounding.

The buyer then selects suggestions and runs Tryton's *Create Purchase*,
which creates draft purchases grouped by supplier and warehouse with the
supplier's price and the expected date.
"""
import math
import threading
from collections import defaultdict

from sql.aggregate import Sum

from trytond.i18n import gettext
from trytond.model import fields
from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction, without_check_access
from trytond.wizard import StateAction, StateTransition, Wizard

_local = threading.local()


def round_order_quantity(quantity, minimum=None, packaging=None):
    """The quantity to order: at least the minimum, a whole number of
    packages.

    >>> round_order_quantity(47, minimum=20, packaging=12)
    48
    >>> round_order_quantity(5, minimum=20, packaging=12)
    24
    >>> round_order_quantity(5.5)
    5.5
    """
    if minimum and quantity < minimum:
        quantity = minimum
    if packaging and packaging > 0:
        quantity = math.ceil(round(quantity / packaging, 9)) * packaging
    return quantity


class ProductSupplier(metaclass=PoolMeta):
    __name__ = 'purchase.product_supplier'

    minimum_quantity = fields.Float(
        "Minimum Order Quantity",
        domain=['OR', ('minimum_quantity', '=', None),
            ('minimum_quantity', '>=', 0)],
        help="In the purchase unit of the product.")
    packaging_quantity = fields.Float(
        "Packaging Quantity",
        domain=['OR', ('packaging_quantity', '=', None),
            ('packaging_quantity', '>', 0)],
        help="Suggestions are rounded up to a multiple of it "
        "(purchase unit).")


class PurchaseRequest(metaclass=PoolMeta):
    __name__ = 'purchase.request'

    suggestion_reason = fields.Text("Why", readonly=True)
    sale_demand = fields.Float(
        "Open Sale Demand", readonly=True,
        help="Quantity of open sale lines not yet shipped, in the product's "
        "default unit.")

    @classmethod
    def open_sale_demand(cls, products=None, warehouses=None):
        """{(product, warehouse): quantity in the default unit} of the sale
        lines of quotations and confirmed sales not yet processed (they have
        no moves yet) — one aggregate query."""
        pool = Pool()
        Sale = pool.get('sale.sale')
        Line = pool.get('sale.line')
        Product = pool.get('product.product')
        Uom = pool.get('product.uom')
        sale = Sale.__table__()
        line = Line.__table__()
        where = (sale.state.in_(['quotation', 'confirmed'])
            & (line.type == 'line') & (line.product != None)  # noqa: E711
            & (line.quantity > 0))
        if products is not None:
            where &= line.product.in_([p.id for p in products])
        if warehouses is not None:
            where &= sale.warehouse.in_([w.id for w in warehouses])
        cursor = Transaction().connection.cursor()
        cursor.execute(*line.join(sale, condition=line.sale == sale.id
                ).select(line.product, sale.warehouse, line.unit,
                Sum(line.quantity),
                where=where,
                group_by=[line.product, sale.warehouse, line.unit]))
        rows = cursor.fetchall()
        products = {p.id: p for p in Product.browse({r[0] for r in rows})}
        units = {u.id: u for u in Uom.browse({r[2] for r in rows})}
        demand = defaultdict(float)
        for product_id, warehouse_id, unit_id, quantity in rows:
            product = products[product_id]
            demand[product_id, warehouse_id] += Uom.compute_qty(
                units[unit_id], float(quantity), product.default_uom,
                round=False)
        return demand

    @classmethod
    def generate_requests(cls, products=None, warehouses=None):
        _local.demand = cls.open_sale_demand(products, warehouses)
        try:
            super().generate_requests(
                products=products, warehouses=warehouses)
        finally:
            _local.demand = None

    @classmethod
    def get_shortage(cls, location_id, product_ids, min_date, max_date,
            min_date_qties, order_points):
        demand = getattr(_local, 'demand', None)
        if demand:
            # the open sale demand is taken from the stock from the start
            min_date_qties = min_date_qties.copy()
            for product_id in product_ids:
                min_date_qties[product_id] -= demand.get(
                    (product_id, location_id), 0)
        return super().get_shortage(location_id, product_ids, min_date,
            max_date, min_date_qties=min_date_qties,
            order_points=order_points)

    @classmethod
    def compute_request(cls, product, location_id, shortage_date,
            product_quantity, company, order_point=None,
            supplier_pattern=None):
        pool = Pool()
        Location = pool.get('stock.location')
        request = super().compute_request(product, location_id,
            shortage_date, product_quantity, company,
            order_point=order_point, supplier_pattern=supplier_pattern)
        demand = (getattr(_local, 'demand', None) or {}).get(
            (product.id, location_id), 0)
        pattern = dict(supplier_pattern or {}, company=company.id)
        product_supplier = cls.find_best_product_supplier(
            product, shortage_date, **pattern)
        unit = request.unit
        lines = []
        if order_point:
            lines.append(gettext(
                    'inventory_flow.msg_suggestion_order_point',
                    warehouse=Location(location_id).rec_name,
                    minimum=order_point.min_quantity,
                    target=order_point.target_quantity))
        lines.append(gettext('inventory_flow.msg_suggestion_forecast',
                date=shortage_date, quantity=product_quantity + demand))
        if demand:
            lines.append(gettext('inventory_flow.msg_suggestion_sale_demand',
                    quantity=demand))
        lines.append(gettext('inventory_flow.msg_suggestion_needed',
                quantity=request.computed_quantity))
        quantity = request.quantity
        if product_supplier:
            lead_time = product_supplier.lead_time_used
            lines.append(gettext('inventory_flow.msg_suggestion_supplier',
                    supplier=product_supplier.party.rec_name,
                    days=lead_time.days if lead_time is not None else '-',
                    date=request.purchase_date))
            rounded = round_order_quantity(quantity,
                product_supplier.minimum_quantity,
                product_supplier.packaging_quantity)
            if rounded != quantity:
                lines.append(gettext('inventory_flow.msg_suggestion_rounded',
                        quantity=quantity, rounded=rounded, unit=unit.rec_name,
                        minimum=product_supplier.minimum_quantity or '-',
                        packaging=product_supplier.packaging_quantity or '-'))
                quantity = unit.ceil(rounded)
        request.quantity = quantity
        request.sale_demand = demand
        request.suggestion_reason = '\n'.join(lines)
        return request


class SuggestPurchases(Wizard):
    "Compute Purchase Suggestions"
    __name__ = 'purchase.request.suggest'
    start = StateTransition()
    open_ = StateAction('purchase_request.act_purchase_request_form')

    def transition_start(self):
        # the action is reserved to buyers and managers (ir.action-res.group)
        with without_check_access():
            Pool().get('purchase.request').generate_requests()
        return 'open_'

    def do_open_(self, action):
        return action, {}
