"""Stock per bin, product and lot, derived from the stock ledger (A5, B1).

``stock.move`` stays the only ledger (architecture rule 3): this model is a
SQL view over the done moves, so it can never disagree with Tryton's own
quantities.
"""
from sql import Null, Union
from sql.aggregate import Min, Sum

from trytond.model import ModelSQL, ModelView, fields
from trytond.pool import Pool
from trytond.transaction import Transaction

from .location import ZONES


class StockBin(ModelSQL, ModelView):
    "Stock by Bin"
    __name__ = 'stock.bin.quantity'

    location = fields.Many2One(
        'stock.location', "Bin", readonly=True,
        help="The bin holding the stock.")
    zone = fields.Selection(ZONES, "Zone", readonly=True,
        help="The zone of the bin.")
    product = fields.Many2One(
        'product.product', "Product", readonly=True,
        help="The product stored in the bin.")
    lot = fields.Many2One(
        'stock.lot', "Lot", readonly=True,
        help="The lot of the stock, if the product is tracked by lot.")
    expiration_date = fields.Date("Expiration Date", readonly=True,
        help="The shelf life expiration date of the lot.")
    quantity = fields.Float("Quantity", readonly=True,
        help="The quantity on hand in the default unit of the product.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [
            ('location', 'ASC'),
            ('product', 'ASC'),
            ('expiration_date', 'ASC NULLS LAST'),
            ('id', 'ASC'),
            ]

    @classmethod
    def table_query(cls):
        pool = Pool()
        Move = pool.get('stock.move')
        Location = pool.get('stock.location')
        Lot = pool.get('stock.lot')
        context = Transaction().context

        move_in = Move.__table__()
        move_out = Move.__table__()
        location = Location.__table__()
        lot = Lot.__table__()

        # Each (move, direction) gets its own row id so that the minimum per
        # group is unique: the groups partition the rows.
        incoming = move_in.select(
            (move_in.id * 2).as_('row_id'),
            move_in.to_location.as_('location'),
            move_in.product.as_('product'),
            move_in.lot.as_('lot'),
            move_in.internal_quantity.as_('quantity'),
            where=move_in.state == 'done')
        outgoing = move_out.select(
            (move_out.id * 2 + 1).as_('row_id'),
            move_out.from_location.as_('location'),
            move_out.product.as_('product'),
            move_out.lot.as_('lot'),
            (-move_out.internal_quantity).as_('quantity'),
            where=move_out.state == 'done')
        ledger = Union(incoming, outgoing, all_=True)

        where = location.zone != Null
        warehouse_id = context.get('warehouse')
        if warehouse_id:
            warehouse = Location(warehouse_id)
            where &= ((location.left >= warehouse.left)
                & (location.right <= warehouse.right))
        if context.get('locations'):
            where &= location.id.in_(list(context['locations']))

        return (ledger
            .join(location, condition=ledger.location == location.id)
            .join(lot, type_='LEFT', condition=ledger.lot == lot.id)
            .select(
                Min(ledger.row_id).as_('id'),
                ledger.location.as_('location'),
                location.zone.as_('zone'),
                ledger.product.as_('product'),
                ledger.lot.as_('lot'),
                lot.shelf_life_expiration_date.as_('expiration_date'),
                Sum(ledger.quantity).as_('quantity'),
                where=where,
                group_by=[
                    ledger.location, location.zone, ledger.product,
                    ledger.lot, lot.shelf_life_expiration_date],
                having=Sum(ledger.quantity) != 0))


class StockBinContext(ModelView):
    "Stock by Bin Context"
    __name__ = 'stock.bin.quantity.context'

    warehouse = fields.Many2One(
        'stock.location', "Warehouse",
        domain=[('type', '=', 'warehouse')],
        help="Show only the bins of this warehouse.")

    @classmethod
    def default_warehouse(cls):
        return Pool().get('stock.location').get_default_warehouse()
