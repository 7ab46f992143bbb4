"""Receiving by scan with variance and lots (A3), putaway into bins (A5).

Built on Tryton's supplier shipment (``stock.shipment.in``): the operator's
counts are ``stock.receiving.line`` records of the draft shipment; finishing
splits the incoming moves per lot, leaves short quantities as a back-order
move of the purchase, records the variance per product on the shipment and
runs Tryton's ``receive`` transition.  Putaway does the inventory move of a
received shipment into the scanned bin and keeps the bin the system
recommended.  The arithmetic lives in ``gs1.py``, ``variance.py`` and
``putaway.py``.
"""
from collections import defaultdict

from sql import Literal, Null
from sql.aggregate import Sum
from sql.conditionals import Case, Coalesce

from trytond import backend
from trytond.cache import Cache
from trytond.exceptions import UserError
from trytond.i18n import gettext
from trytond.model import (
    Index, ModelSQL, ModelView, fields, sequence_ordered)
from trytond.model.fields import SQL_OPERATORS
from trytond.model.exceptions import AccessError
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction

from . import putaway as putaway_algorithm
from .gs1 import ScanError, check_dates
from .variance import KINDS, line_variance

VARIANCE_KINDS = [
    ('match', "Match"),
    ('short', "Short"),
    ('over', "Over (within tolerance)"),
    ('over_tolerance', "Over Tolerance"),
    ('unexpected', "Unexpected Item"),
    ]
assert [k for k, _ in VARIANCE_KINDS] == list(KINDS)

STRATEGY_KINDS = [
    ('fixed', "Fixed Home Bin"),
    ('consolidation', "Consolidation"),
    ('capacity', "Free Capacity"),
    ('abc', "ABC Class near Dispatch"),
    ]


def is_manager(user_id=None):
    "Whether the user belongs to the warehouse manager group"
    pool = Pool()
    ModelData = pool.get('ir.model.data')
    User = pool.get('res.user')
    if user_id is None:
        user_id = Transaction().user
    if not user_id:
        return True
    group_id = ModelData.get_id('inventory_flow', 'group_manager')
    return group_id in User.get_groups()


class Party(metaclass=PoolMeta):
    __name__ = 'party.party'

    receipt_tolerance = fields.Float(
        "Receipt Tolerance", digits=(16, 2),
        domain=['OR',
            ('receipt_tolerance', '=', None),
            ('receipt_tolerance', '>=', 0)],
        help="The percentage a received quantity may exceed the ordered "
        "quantity without a manager's confirmation; empty means 0.")


class Template(metaclass=PoolMeta):
    __name__ = 'product.template'

    receipt_tolerance = fields.Float(
        "Receipt Tolerance", digits=(16, 2),
        domain=['OR',
            ('receipt_tolerance', '=', None),
            ('receipt_tolerance', '>=', 0)],
        help="The percentage a received quantity may exceed the ordered "
        "quantity without a manager's confirmation; overrides the "
        "supplier's tolerance.")
    home_bin = fields.Many2One(
        'stock.location', "Home Bin", ondelete='SET NULL',
        domain=[('zone', 'in', ['pick', 'reserve'])],
        help="The fixed bin the product is put away to first.")

    @classmethod
    def write(cls, *args):
        changed = set()
        actions = iter(args)
        for templates, values in zip(actions, actions):
            if MEASURES & set(values):
                changed.update(t.id for t in templates)
        super().write(*args)
        if changed:
            # What the bins holding them hold changed
            Pool().get('stock.location.load').refresh_templates(changed)


class ProductIdentifier(metaclass=PoolMeta):
    __name__ = 'product.identifier'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        # A scanned GTIN finds its identifier by code (Tryton's index starts
        # with the product)
        cls._sql_indexes.add(Index(t, (t.code, Index.Equality())))


class Lot(metaclass=PoolMeta):
    __name__ = 'stock.lot'

    production_date = fields.Date(
        "Production Date",
        help="The date the lot was produced, as printed by the supplier.")


class Move(metaclass=PoolMeta):
    __name__ = 'stock.move'

    recommended_location = fields.Many2One(
        'stock.location', "Recommended Bin", readonly=True,
        ondelete='SET NULL',
        help="The bin the putaway strategies recommended; differs from the "
        "destination when the operator chose another valid bin.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        # Tryton's indexes on the moves all start with the company: the
        # moves of a product (pending putaway, the book quantity of a bin
        # asked after a putaway) would read the whole ledger
        cls._sql_indexes.add(Index(t, (t.product, Index.Equality())))

    @classmethod
    def write(cls, *args):
        # Each of the five workflow layers of ``do`` (stock, shelf life,
        # invoice-stock, stock accounting, purchase) writes the state of
        # the moves whose state it still sees unchanged; once the innermost
        # has written it the others pass an empty list, which trytond runs
        # as three statements and the invoice-stock layer's unit price check
        actions = iter(args)
        args = [a for moves, values in zip(actions, actions) if moves
            for a in (moves, values)]
        if args:
            super().write(*args)

    @classmethod
    def check_expiration_dates(cls, moves):
        # Only the moves of an expired lot can fail the check
        # (stock_lot_sled skips the others): the warehouses' output
        # locations it searches first are not needed for a putaway
        moves = [m for m in moves if m.to_check_expiration]
        if moves:
            super().check_expiration_dates(moves)

    def _get_account_stock_move(self):
        # Moves of no accounting type (between storage locations: a
        # putaway, an internal move) make no account move; the period and
        # fiscal year read first are not needed for them
        if not self._get_account_stock_move_type():
            return
        return super()._get_account_stock_move()

    def set_effective_date(self):
        super().set_effective_date()
        # A putaway gives the move its bin in the same write as its state
        # (``put_away``): one write validated once instead of two
        into = Transaction().context.get('_putaway_into')
        if into and into[0] == self.id:
            self.to_location, self.recommended_location = into[1:]

    @classmethod
    def _cost_price_context(cls, moves):
        """Tryton's context for the average cost price (stock 8.0), with the
        storage location ids taken in one query.

        The original ``Location.search`` instantiates every storage
        location only to read its id, and record instantiation checks the
        whole id list once per record (``ModelStorage.__init__`` asserts
        ``all(isinstance(i, int) for i in _ids)``): quadratic, 2.5 s of a
        2.8 s putaway with 2 300 bins.  Same domain, record rules and
        context keys; only the ids are read."""
        pool = Pool()
        Location = pool.get('stock.location')
        Date = pool.get('ir.date')
        context = {
            'with_childs': False,
            'company': moves[0].company.id,
            }
        if all(getattr(getattr(m, 'from_location', None), 'type', None)
                == getattr(getattr(m, 'to_location', None), 'type', None)
                == 'storage' for m in moves):
            # Between storage locations (a putaway, an internal move) no
            # ``_do`` computes a cost price (stock's average and
            # product_cost_fifo's both need a side outside storage): the
            # storage locations are not needed, and a context carrying
            # 20 000 ids is copied into every record of the transition
            context['locations'] = []
        else:
            cursor = Transaction().connection.cursor()
            cursor.execute(*Location.search([
                        ('type', '=', 'storage'),
                        ], order=[], query=True))
            context['locations'] = [r[0] for r in cursor]
        with Transaction().set_context(company=moves[0].company.id):
            context['stock_date_end'] = Date.today()
        return context


class Availability(metaclass=PoolMeta):
    __name__ = 'stock.availability'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        # The putaway reads the stock of given bins (rule 8): the existing
        # index starts with the product
        cls._sql_indexes.add(Index(t, (t.location, Index.Equality())))

    @classmethod
    def rebuild(cls, products=None):
        Load = Pool().get('stock.location.load')
        locations = (None if products is None
            else Load.locations_of(products))
        result = super().rebuild(products)
        if locations is not None:
            locations |= Load.locations_of(products)
        if (backend.name == 'postgresql'
                and (products is None or len(products) >= BULK_REBUILD)):
            # The rows were all replaced: planned with the statistics of
            # the old table, the aggregate of the loads below may take a
            # nested loop over the whole catalogue (hours at scale 100)
            cursor = Transaction().connection.cursor()
            cursor.execute('ANALYZE "%s"' % cls._table)
        Load.refresh(locations)
        return result

    @classmethod
    def apply_deltas(cls, deltas):
        super().apply_deltas(deltas)
        Pool().get('stock.location.load').apply_deltas(deltas)


#: Float slack of the capacity check done in SQL: only bins refused even
#: with it are left out before the exact check (putaway.refusal)
SQL_SLACK = 1e-6

#: The room of a bin without capacity (a float every room compares below)
UNLIMITED_ROOM = 1e300

#: From so many products a rebuild refreshes the table's statistics
BULK_REBUILD = 1000

#: The product template fields the bin loads depend on
MEASURES = {'volume', 'volume_uom', 'weight', 'weight_uom'}


#: The location fields the bin loads (and their room) depend on
LOAD_FIELDS = {'zone', 'capacity_volume', 'capacity_weight'}


class Location(metaclass=PoolMeta):
    __name__ = 'stock.location'

    @classmethod
    def create(cls, vlist):
        locations = super().create(vlist)
        bins = {l.id for l, v in zip(locations, vlist) if v.get('zone')}
        if bins:
            # A new bin gets its load row (empty, all its room free)
            Pool().get('stock.location.load').refresh(bins)
        return locations

    @classmethod
    def write(cls, *args):
        changed = set()
        actions = iter(args)
        for locations, values in zip(actions, actions):
            if LOAD_FIELDS & set(values):
                changed.update(l.id for l in locations)
        super().write(*args)
        if changed:
            # Loads are kept for the bins a putaway may use only, with the
            # room their capacity leaves
            Pool().get('stock.location.load').refresh(changed)


class LocationLoad(ModelSQL):
    """Location Load

    The volume (m³) and weight (kg) each bin a putaway may use (pick or
    reserve zone) holds: the sum over its rows of the derived stock
    ``stock.availability`` of the on-hand quantity times the product's unit
    volume and weight, and the room its capacity leaves.  Every such bin
    has a row, empty or not.  Kept with the availability rows (their
    deltas and rebuilds), when a product's measures change and when a
    location's zone or capacity changes or a bin is created, so that the
    putaway finds the bins with room by an index scan of the room instead
    of summing every bin's stock at each item scan (rule 8).
    It only leaves out bins before the exact check (``putaway.refusal`` over
    the stock read for the remaining bins): the sum counts negative rows,
    so it never exceeds what the exact check sums, and the room has the
    check's slack (``SQL_SLACK``)."""
    __name__ = 'stock.location.load'

    location = fields.Many2One('stock.location', "Location", required=True,
        ondelete='CASCADE', help="The location (a bin).")
    volume = fields.Float("Volume",
        help="The volume the location holds, in cubic meters.")
    weight = fields.Float("Weight",
        help="The weight the location holds, in kilograms.")
    room_volume = fields.Float("Room Volume",
        help="The volume the location may still take in cubic meters "
        "(its capacity with a slack of one millionth, less its volume; "
        "unlimited: 1e300).")
    room_weight = fields.Float("Room Weight",
        help="The weight the location may still take in kilograms (its "
        "capacity with a slack of one millionth, less its weight; "
        "unlimited: 1e300).")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.update({
                Index(t, (t.location, Index.Equality())),
                # the bins with room for an item: a range scan of either
                Index(t, (t.room_volume, Index.Range())),
                Index(t, (t.room_weight, Index.Range())),
                })

    @classmethod
    def __register__(cls, module):
        exists = backend.TableHandler.table_exist(cls._table)
        has_room = exists and backend.TableHandler(cls, module).column_exist(
            'room_volume')
        super().__register__(module)
        if not has_room:
            # created, or from before the room was kept (every bin then
            # gets its row)
            cls.refresh()

    @classmethod
    def _room(cls, capacity, used):
        "SQL: the room capacity leaves when used is held (with the slack)"
        return Case((capacity == Null, UNLIMITED_ROOM),
            else_=capacity * (1 + SQL_SLACK) + SQL_SLACK - used)

    @classmethod
    def _unit_query(cls, products=None):
        """SQL: (product, volume m³, weight kg) of one unit of the products
        (all when None)"""
        pool = Pool()
        Product = pool.get('product.product')
        Template = pool.get('product.template')
        product = Product.__table__()
        template = Template.__table__()
        where = Literal(True)
        if products is not None:
            where = product.id.in_(products)
        return product.join(template,
            condition=product.template == template.id).select(
                product.id.as_('product'),
                _converted(Coalesce(template.volume, 0), template.volume_uom,
                    _unit_factors('uom_cubic_meter')).as_('volume'),
                _converted(Coalesce(template.weight, 0), template.weight_uom,
                    _unit_factors('uom_kilogram')).as_('weight'),
                where=where)

    @classmethod
    def locations_of(cls, products):
        "The locations holding a row of stock of the products"
        Availability = Pool().get('stock.availability')
        stock = Availability.__table__()
        cursor = Transaction().connection.cursor()
        ids = sorted({getattr(p, 'id', p) for p in products})
        result = set()
        for i in range(0, len(ids), 10000):
            cursor.execute(*stock.select(stock.location,
                    where=stock.product.in_(ids[i:i + 10000]),
                    group_by=[stock.location]))
            result.update(r[0] for r in cursor)
        return result

    @classmethod
    def refresh(cls, locations=None):
        """Recompute the loads of the locations (all when None) from
        ``stock.availability`` in one aggregate"""
        Availability = Pool().get('stock.availability')
        table = cls.__table__()
        stock = Availability.__table__()
        cursor = Transaction().connection.cursor()
        measures = cls._unit_query()
        location = Pool().get('stock.location').__table__()
        if locations is None:
            batches = [None]
            cursor.execute(*table.delete())
        else:
            ids = sorted(locations)
            batches = [ids[i:i + 10000] for i in range(0, len(ids), 10000)]
        for batch in batches:
            where = location.zone.in_(sorted(putaway_algorithm.PUTAWAY_ZONES))
            held = Literal(True)
            if batch is not None:
                cursor.execute(*table.delete(
                        where=table.location.in_(batch)))
                where &= location.id.in_(batch)
                held = stock.location.in_(batch)
            loads = stock.join(measures,
                condition=stock.product == measures.product).select(
                    stock.location,
                    Sum(stock.on_hand * measures.volume).as_('volume'),
                    Sum(stock.on_hand * measures.weight).as_('weight'),
                    where=held, group_by=[stock.location])
            volume = Coalesce(loads.volume, 0)
            weight = Coalesce(loads.weight, 0)
            cursor.execute(*table.insert(
                    [table.location, table.volume, table.weight,
                        table.room_volume, table.room_weight],
                    location.join(loads, 'LEFT',
                        condition=loads.location == location.id).select(
                        location.id, volume, weight,
                        cls._room(location.capacity_volume, volume),
                        cls._room(location.capacity_weight, weight),
                        where=where)))
        if locations is None and backend.name == 'postgresql':
            # Planned with the statistics of the table before, the rooms'
            # range scan may look like a scan of every bin
            cursor.execute('ANALYZE "%s"' % cls._table)

    @classmethod
    def refresh_templates(cls, templates):
        "Recompute the loads of the locations holding the templates' stock"
        Product = Pool().get('product.product')
        products = Product.search([
                ('template', 'in', sorted(templates)),
                ('active', 'in', [True, False]),
                ])
        cls.refresh(cls.locations_of(products))

    @classmethod
    def apply_deltas(cls, deltas):
        """Add the on-hand part of ``deltas`` {(product, location, lot):
        [on_hand, reserved]} (those of stock.availability), one statement
        per location in a stable order (as stock.availability does)"""
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        products = sorted({p for (p, l, _), (on_hand, _) in deltas.items()
                if on_hand})
        if not products:
            return
        # Only the bins a putaway may use (a load row per input, output or
        # customer location would serialize every move through them)
        location = Pool().get('stock.location').__table__()
        cursor.execute(*location.select(location.id,
                where=location.id.in_(sorted({l for _, l, _ in deltas}))
                & location.zone.in_(
                    sorted(putaway_algorithm.PUTAWAY_ZONES))))
        bins = {r[0] for r in cursor}
        if not bins:
            return
        cursor.execute(*cls._unit_query(products))
        units = {p: (v or 0, w or 0) for p, v, w in cursor}
        loads = defaultdict(lambda: [0.0, 0.0])
        for (product_id, location, _), (on_hand, _) in deltas.items():
            if location not in bins:
                continue
            # rounded as stock.availability rounds it (6 decimals)
            on_hand = round(on_hand or 0.0, 6)
            volume, weight = units.get(product_id, (0, 0))
            loads[location][0] += on_hand * volume
            loads[location][1] += on_hand * weight
        missing = []
        for location in sorted(loads):
            volume, weight = loads[location]
            if not volume and not weight:
                continue
            cursor.execute(*table.update(
                    [table.volume, table.weight,
                        table.room_volume, table.room_weight],
                    [Coalesce(table.volume, 0) + volume,
                        Coalesce(table.weight, 0) + weight,
                        table.room_volume - volume,
                        table.room_weight - weight],
                    where=table.location == location))
            if not cursor.rowcount:
                missing.append(location)
        if missing:
            # the availability rows already hold the deltas
            cls.refresh(missing)


class PurchaseConfiguration(metaclass=PoolMeta):
    __name__ = 'purchase.configuration'
    prepare_supplier_shipments = fields.Boolean(
        "Prepare Supplier Shipments",
        help="When a purchase is processed, put its incoming moves on a "
        "draft supplier shipment (one per purchase, with the purchase's "
        "reference): the warehouse sees the receipt it expects and the "
        "scanner opens it at the first scan.\n"
        "Without it the supplier shipment is made by the warehouse, or by "
        "the first scan of the purchase.")


class Purchase(metaclass=PoolMeta):
    __name__ = 'purchase.purchase'

    @classmethod
    def _process_fulfillment(cls, purchases):
        super()._process_fulfillment(purchases)
        config = Pool().get('purchase.configuration')(1)
        if config.prepare_supplier_shipments:
            cls.prepare_supplier_shipments(purchases)

    @classmethod
    def prepare_supplier_shipments(cls, purchases):
        """Put the pending incoming moves of each purchase (draft, from the
        supplier, on no shipment) on its draft supplier shipment, made if
        it has none yet (A3: the receipt the scanner opens).  Moves already
        on a shipment (made by the warehouse) are left where they are."""
        from .scanner import (
            _draft_shipment_of, _pending_moves_of, shipment_from_moves)
        Move = Pool().get('stock.move')
        for purchase in purchases:
            moves = _pending_moves_of(purchase)
            if not moves:
                continue
            shipment = _draft_shipment_of(purchase)
            if shipment:
                Move.write(moves, {'shipment': str(shipment)})
            else:
                shipment_from_moves(purchase, moves)


class ShipmentIn(metaclass=PoolMeta):
    __name__ = 'stock.shipment.in'

    receiving_lines = fields.One2Many(
        'stock.receiving.line', 'shipment', "Counted Lines",
        states={'readonly': Eval('state') != 'draft'},
        help="The quantities counted by scan, per product and lot.")
    variances = fields.One2Many(
        'stock.shipment.in.variance', 'shipment', "Variances",
        readonly=True,
        help="Counted against expected quantities, recorded when the "
        "receipt was finished.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._buttons.update({
                'finish_receiving': {
                    'invisible': ((Eval('state') != 'draft')
                        | ~Eval('receiving_lines', [])),
                    'depends': ['state', 'receiving_lines'],
                    },
                })

    @classmethod
    def copy(cls, shipments, default=None):
        default = default.copy() if default else {}
        default.setdefault('receiving_lines')
        default.setdefault('variances')
        return super().copy(shipments, default=default)

    def expected_quantities(self):
        """Return {product: quantity} expected by the incoming moves (not
        cancelled), summed by one query: ``incoming_moves`` reads every
        move and sorts them by product, reading the products, at each of
        the calls of a scan"""
        pool = Pool()
        Move = pool.get('stock.move')
        Product = pool.get('product.product')
        move = Move.__table__()
        where = (move.shipment == str(self)) & (move.state != 'cancelled')
        # As Tryton's incoming moves: those into the shipment's input
        # location, or every move when it receives into its storage
        if self.warehouse_input != self.warehouse_storage:
            where &= move.to_location == self.warehouse_input.id
        cursor = Transaction().connection.cursor()
        cursor.execute(*move.select(move.product,
                Sum(move.internal_quantity),
                where=where, group_by=[move.product]))
        rows = cursor.fetchall()
        products = Product.browse([r[0] for r in rows])
        return defaultdict(float, {p: q or 0.0
                for p, (_, q) in zip(products, rows)})

    def counted_quantities(self):
        """Return {product: quantity} counted so far (in the product's
        default unit), summed by one query per product and unit"""
        pool = Pool()
        Uom = pool.get('product.uom')
        Line = pool.get('stock.receiving.line')
        Product = pool.get('product.product')
        Template = pool.get('product.template')
        line = Line.__table__()
        product = Product.__table__()
        template = Template.__table__()
        cursor = Transaction().connection.cursor()
        # with the products' default unit: the products themselves are not
        # read (the screen reads them once, for their names)
        cursor.execute(*line
            .join(product, condition=line.product == product.id)
            .join(template, condition=product.template == template.id)
            .select(line.product, line.unit, template.default_uom,
                Sum(line.quantity),
                where=line.shipment == self.id,
                group_by=[line.product, line.unit, template.default_uom]))
        rows = cursor.fetchall()
        units = {u.id: u for u in Uom.browse(
                sorted({r[1] for r in rows} | {r[2] for r in rows}))}
        result = defaultdict(float)
        for product, (_, unit_id, default_uom, quantity) in zip(
                Product.browse([r[0] for r in rows]), rows):
            result[product] += Uom.compute_qty(units[unit_id],
                quantity or 0.0, units[default_uom], round=False)
        return result

    def tolerance(self, product):
        "Return the receipt tolerance percentage for the product"
        if product.template.receipt_tolerance is not None:
            return product.template.receipt_tolerance
        if self.supplier and self.supplier.receipt_tolerance is not None:
            return self.supplier.receipt_tolerance
        return 0

    def variance(self, product, extra=0):
        "Return the variance of product if extra more were counted"
        expected = self.expected_quantities().get(product, 0)
        counted = self.counted_quantities().get(product, 0) + extra
        return line_variance(
            expected, counted, self.tolerance(product),
            rounding=product.default_uom.rounding)

    def line_variances(self, expected=None):
        """Return [(product, expected, counted, variance)] of every product
        expected or counted, by name: the quantities read once for all
        (``expected``: the expected_quantities already read, e.g. before a
        count, which changes no move)"""
        Product = Pool().get('product.product')
        if expected is None:
            expected = self.expected_quantities()
        counted = self.counted_quantities()
        # The products of both, as one group of records: their names, units
        # and tolerances are read once for all
        products = Product.browse(sorted(
                {p.id for p in expected} | {p.id for p in counted}))
        result = []
        for product in sorted(products, key=lambda p: p.rec_name):
            result.append((product, expected.get(product, 0),
                    counted.get(product, 0), line_variance(
                        expected.get(product, 0), counted.get(product, 0),
                        self.tolerance(product),
                        rounding=product.default_uom.rounding)))
        return result

    def count(self, product, quantity, lot_number=None, serial=None,
            production_date=None, expiration_date=None):
        """Record a counted quantity of product (in its default unit);
        refuse anything that would need a manager's confirmation unless the
        user is a manager.  Returns the new line."""
        pool = Pool()
        Line = pool.get('stock.receiving.line')
        Date = pool.get('ir.date')
        if self.state != 'draft':
            raise AccessError(gettext(
                    'inventory_flow.msg_receiving_not_draft',
                    shipment=self.rec_name))
        if quantity is None or quantity <= 0:
            raise UserError(gettext(
                    'inventory_flow.msg_receiving_quantity_positive',
                    value=quantity))
        with Transaction().set_context(company=self.company.id):
            today = Date.today()
        try:
            check_dates(production_date, expiration_date, today)
        except ScanError as error:
            raise UserError(gettext(
                    'inventory_flow.msg_receiving_%s' % error.code,
                    expiry=error.value,
                    production=error.details.get('production')))
        variance = self.variance(product, quantity)
        approved_by = None
        if variance.needs_approval:
            if not is_manager():
                raise AccessError(gettext(
                        'inventory_flow.msg_receiving_needs_manager_%s'
                        % variance.kind,
                        product=product.rec_name,
                        shipment=self.rec_name))
            approved_by = Transaction().user or None
        lot = None
        number = lot_number or serial
        if number:
            lot = Lot_get_or_create(
                product, number, production_date, expiration_date)
        elif product.lot_is_required(
                self.supplier_location, self.warehouse_input):
            raise UserError(gettext(
                    'inventory_flow.msg_receiving_lot_required',
                    product=product.rec_name))
        line, = Line.create([{
                    'shipment': self.id,
                    'product': product.id,
                    'quantity': float(quantity),
                    'unit': product.default_uom.id,
                    'lot': lot.id if lot else None,
                    'serial': serial,
                    'production_date': production_date,
                    'expiration_date': expiration_date,
                    'approved_by': approved_by,
                    }])
        return line

    @classmethod
    @ModelView.button
    def finish_receiving(cls, shipments):
        """Split the incoming moves by counted lot and quantity, leave the
        short quantities as back-order moves, record the variances and
        receive the shipments."""
        pool = Pool()
        Move = pool.get('stock.move')
        Variance = pool.get('stock.shipment.in.variance')
        Uom = pool.get('product.uom')
        User = pool.get('res.user')
        to_save, back_orders, variances, unexpected = [], [], [], []
        over_lines = []
        for shipment in shipments:
            if shipment.state != 'draft':
                raise AccessError(gettext(
                        'inventory_flow.msg_receiving_not_draft',
                        shipment=shipment.rec_name))
            if not shipment.receiving_lines:
                raise UserError(gettext(
                        'inventory_flow.msg_receiving_nothing_counted',
                        shipment=shipment.rec_name))
            expected = shipment.expected_quantities()
            counted = shipment.counted_quantities()
            counts = defaultdict(list)
            for line in shipment.receiving_lines:
                counts[line.product].append(line)
            moves = defaultdict(list)
            for move in shipment.incoming_moves:
                if move.state != 'cancelled':
                    moves[move.product].append(move)
            for product in sorted(
                    set(expected) | set(counted), key=lambda p: p.id):
                result = line_variance(
                    expected.get(product, 0), counted.get(product, 0),
                    shipment.tolerance(product),
                    rounding=product.default_uom.rounding)
                approved = [l.approved_by for l in counts[product]
                    if l.approved_by]
                if result.needs_approval and not approved and is_manager():
                    # The manager finishing the receipt confirms it
                    approved = [User(Transaction().user)]
                if result.needs_approval and not approved:
                    raise AccessError(gettext(
                            'inventory_flow.msg_receiving_needs_manager_%s'
                            % result.kind,
                            product=product.rec_name,
                            shipment=shipment.rec_name))
                unit = product.default_uom
                # Stored with the digits of their fields: 1 short of 6 is
                # -16.67 %, not -16.666667
                variances.append({
                        'shipment': shipment.id,
                        'product': product.id,
                        'unit': unit.id,
                        'expected_quantity': unit.round(
                            expected.get(product, 0)),
                        'received_quantity': unit.round(
                            counted.get(product, 0)),
                        'difference': unit.round(result.difference),
                        'percent': (round(result.percent, 2)
                            if result.percent is not None else None),
                        'tolerance': shipment.tolerance(product),
                        'kind': result.kind,
                        'approved_by': approved[-1].id if approved else None,
                        })
                pieces = [(l.lot, Uom.compute_qty(
                            l.unit, l.quantity, product.default_uom,
                            round=False)) for l in counts[product]]
                product_moves = moves[product]
                if not product_moves:
                    moves_ = shipment._unexpected_moves(product, pieces)
                    to_save.extend(moves_)
                    unexpected.extend(moves_)
                    continue
                saved, backs = _allocate(product_moves, pieces)
                to_save.extend(saved)
                back_orders.extend(backs)
                if result.kind in {'over', 'over_tolerance'}:
                    # Accepted within tolerance or confirmed by a manager
                    over_lines.extend(
                        m.origin for m in product_moves
                        if getattr(m.origin, '__name__', None)
                        == 'purchase.line')
        Move.save(to_save)
        Move.save(back_orders)
        Variance.create(variances)
        cls._acknowledge_variances(unexpected, over_lines)
        cls.receive(shipments)

    @classmethod
    def _acknowledge_variances(cls, unexpected, over_lines):
        """The variances were accepted at the scan (within tolerance or by a
        manager): Tryton's warnings about the same facts are not raised
        again, i.e. unexpected moves without origin and purchase lines
        receiving more than ordered."""
        Warning = Pool().get('res.user.warning')
        if unexpected:
            Warning.skip(Warning.format('done', unexpected))
        for line in set(over_lines):
            Warning.skip(Warning.format('check_move_quantity', [line]))

    def _unexpected_moves(self, product, pieces):
        "Return new incoming moves for a product not on the shipment"
        Move = Pool().get('stock.move')
        moves = []
        for lot, quantity in pieces:
            move = Move(
                product=product, unit=product.default_uom,
                quantity=product.default_uom.round(quantity), lot=lot,
                from_location=self.supplier_location,
                to_location=self.warehouse_input,
                company=self.company, shipment=self,
                unit_price=product.cost_price or 0,
                currency=self.company.currency,
                planned_date=self.planned_date)
            moves.append(move)
        return moves


def _allocate(moves, pieces):
    """Distribute the counted (lot, quantity) pieces over the expected
    moves of one product, in order; return (moves to save, back-orders).

    A move that receives several lots is copied per lot; what a move does
    not receive stays on the purchase as a draft move without shipment
    (the back-order); anything counted over goes to the last move."""
    pieces = [[lot, quantity] for lot, quantity in pieces]
    to_save, back_orders = [], []
    assigned = []
    for move in moves:
        unit = move.unit
        factor = move.internal_quantity / move.quantity if move.quantity else 1
        remaining = move.internal_quantity
        parts = []
        while pieces and remaining > 1e-9:
            lot, quantity = pieces[0]
            take = min(quantity, remaining)
            parts.append([lot, take])
            remaining -= take
            pieces[0][1] -= take
            if pieces[0][1] <= 1e-9:
                pieces.pop(0)
        assigned.append((move, parts, remaining, unit, factor))
    # Over-counted quantities go to the last move that received something
    if pieces:
        target = [a for a in assigned if a[1]] or assigned[-1:]
        move, parts, remaining, unit, factor = target[-1]
        parts.extend(pieces)
    for move, parts, remaining, unit, factor in assigned:
        merged = {}
        for lot, quantity in parts:
            merged[lot] = merged.get(lot, 0) + quantity
        parts = list(merged.items())
        if not parts:
            # Nothing received: the whole move becomes the back-order
            move.shipment = None
            back_orders.append(move)
            continue
        for index, (lot, quantity) in enumerate(parts):
            target = move if index == 0 else copy_move(move)
            target.quantity = unit.round(quantity / factor)
            target.lot = lot
            to_save.append(target)
        if remaining > 1e-9 and unit.round(remaining / factor) > 0:
            back_order = copy_move(move)
            back_order.shipment = None
            back_order.lot = None
            back_order.quantity = unit.round(remaining / factor)
            back_orders.append(back_order)
    return to_save, back_orders


def copy_move(move):
    "Return an unsaved copy of move keeping its origin (the purchase line)"
    Move = Pool().get('stock.move')
    new = Move()
    for name in ['product', 'unit', 'quantity', 'from_location',
            'to_location', 'company', 'unit_price', 'currency',
            'planned_date', 'origin', 'shipment', 'lot']:
        if name in Move._fields:
            setattr(new, name, getattr(move, name))
    new.state = 'draft'
    return new


def Lot_get_or_create(product, number, production_date, expiration_date):
    "Return the lot of product with number, created when unknown"
    Lot = Pool().get('stock.lot')
    lots = Lot.search([
            ('product', '=', product.id),
            ('number', '=', number),
            ], limit=1)
    if lots:
        lot, = lots
        changed = False
        if production_date and not lot.production_date:
            lot.production_date = production_date
            changed = True
        if expiration_date and not lot.expiration_date:
            lot.expiration_date = expiration_date
            lot.shelf_life_expiration_date = expiration_date
            changed = True
        if changed:
            lot.save()
        return lot
    lot = Lot(
        product=product, number=number,
        production_date=production_date,
        expiration_date=expiration_date,
        shelf_life_expiration_date=expiration_date)
    lot.save()
    return lot


class ReceivingLine(ModelSQL, ModelView):
    "Receiving Count"
    __name__ = 'stock.receiving.line'

    shipment = fields.Many2One(
        'stock.shipment.in', "Shipment", required=True, ondelete='CASCADE',
        domain=[('state', '=', 'draft')],
        help="The supplier shipment being received.")
    product = fields.Many2One(
        'product.product', "Product", required=True,
        domain=[('type', 'in', ['goods', 'assets'])],
        help="The product counted.")
    quantity = fields.Float(
        "Quantity", digits='unit', required=True,
        domain=[('quantity', '>', 0)],
        help="The quantity counted.")
    unit = fields.Many2One(
        'product.uom', "Unit", required=True,
        help="The unit of the counted quantity.")
    lot = fields.Many2One(
        'stock.lot', "Lot",
        domain=[('product', '=', Eval('product', -1))],
        help="The lot or serial number captured with the count.")
    serial = fields.Char(
        "Serial Number",
        help="The serial number (GS1 AI 21) scanned with the item.")
    production_date = fields.Date(
        "Production Date", help="The production date scanned (GS1 AI 11).")
    expiration_date = fields.Date(
        "Expiration Date", help="The expiry date scanned (GS1 AI 17).")
    approved_by = fields.Many2One(
        'res.user', "Approved by", readonly=True,
        help="The manager who confirmed a count over tolerance or of an "
        "unexpected item.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('shipment')
        t = cls.__table__()
        cls._sql_indexes.add(Index(t, (t.shipment, Index.Range())))



class ShipmentInVariance(ModelSQL, ModelView):
    "Supplier Shipment Variance"
    __name__ = 'stock.shipment.in.variance'

    shipment = fields.Many2One(
        'stock.shipment.in', "Shipment", required=True, readonly=True,
        ondelete='CASCADE',
        help="The received supplier shipment.")
    product = fields.Many2One(
        'product.product', "Product", required=True, readonly=True,
        help="The product with the variance.")
    unit = fields.Many2One(
        'product.uom', "Unit", required=True, readonly=True,
        help="The unit of the quantities.")
    expected_quantity = fields.Float(
        "Expected Quantity", digits='unit', readonly=True,
        help="The quantity the purchase expected on this shipment.")
    received_quantity = fields.Float(
        "Received Quantity", digits='unit', readonly=True,
        help="The quantity counted at receipt.")
    difference = fields.Float(
        "Difference", digits='unit', readonly=True,
        help="Received minus expected; a short quantity stays on order.")
    percent = fields.Float(
        "Percent", digits=(16, 2), readonly=True,
        help="The difference in percent of the expected quantity.")
    tolerance = fields.Float(
        "Tolerance", digits=(16, 2), readonly=True,
        help="The over-delivery tolerance in percent that applied.")
    kind = fields.Selection(
        VARIANCE_KINDS, "Kind", readonly=True,
        help="How the received quantity compares with the expected one.")
    approved_by = fields.Many2One(
        'res.user', "Approved by", readonly=True,
        help="The manager who confirmed an over-tolerance or unexpected "
        "quantity.")
    supplier = fields.Function(fields.Many2One(
            'party.party', "Supplier",
            help="The supplier of the shipment."),
        'get_supplier', searcher='search_supplier')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('shipment')
        cls._order.insert(0, ('shipment', 'DESC'))

    def get_supplier(self, name):
        return self.shipment.supplier.id

    @classmethod
    def search_supplier(cls, name, clause):
        return [('shipment.supplier',) + tuple(clause[1:])]


class PutawayStrategy(sequence_ordered(), ModelSQL, ModelView):
    "Putaway Strategy"
    __name__ = 'stock.putaway.strategy'

    warehouse = fields.Many2One(
        'stock.location', "Warehouse", ondelete='CASCADE',
        domain=[('type', '=', 'warehouse')],
        help="The warehouse the strategy applies to; empty for all.")
    category = fields.Many2One(
        'product.category', "Product Category", ondelete='CASCADE',
        help="The product category the strategy applies to; empty for all.")
    strategy = fields.Selection(
        STRATEGY_KINDS, "Strategy", required=True,
        help="How bins are ranked; strategies earlier in the sequence "
        "weigh more.")
    active = fields.Boolean("Active",
        help="Uncheck to stop using the strategy without deleting it.")

    @classmethod
    def default_active(cls):
        return True

    @classmethod
    def strategies_for(cls, product, warehouse):
        """Return the ordered strategy names for product in warehouse:
        the most specific set of records wins (warehouse and category, then
        warehouse, then category, then the general records)."""
        records = cls.search([
                ['OR',
                    ('warehouse', '=', None),
                    ('warehouse', '=', warehouse.id)],
                ])
        # The product's categories (a many2many read) only when a record
        # is for a category
        categories = ({c.id for c in product.categories_all}
            if any(r.category for r in records) else set())
        groups = defaultdict(list)
        for record in records:
            if record.category and record.category.id not in categories:
                continue
            key = (record.warehouse is not None, record.category is not None)
            groups[key].append(record.strategy)
        for key in [(True, True), (True, False), (False, True),
                (False, False)]:
            if groups.get(key):
                return list(dict.fromkeys(groups[key]))
        return list(putaway_algorithm.STRATEGIES)


def _unit_measures(products):
    """Return {product id: (volume m³, weight kg)} of one default unit,
    converted by the cached unit factors (``Uom.compute_qty`` of one unit,
    as the bins' contents are)"""
    volumes = _unit_factors('uom_cubic_meter')
    weights = _unit_factors('uom_kilogram')
    result = {}
    for product in products:
        template = product.template
        volume = weight = None
        if getattr(template, 'volume', None) and template.volume_uom:
            volume = template.volume * _factor(
                volumes, template.volume_uom.id, 'uom_cubic_meter')
        if getattr(template, 'weight', None) and template.weight_uom:
            weight = template.weight * _factor(
                weights, template.weight_uom.id, 'uom_kilogram')
        result[product.id] = (volume, weight)
    return result


def _factor(factors, uom_id, target_xml_id):
    "factors[uom_id], or the factor of a unit outside the target's category"
    if uom_id in factors:
        return factors[uom_id]
    return _uom_factor(uom_id, target_xml_id)


def _uom_factor(uom_id, target_xml_id):
    "How many target units (product.uom_cubic_meter, …) one uom_id is"
    pool = Pool()
    Uom = pool.get('product.uom')
    ModelData = pool.get('ir.model.data')
    target = Uom(ModelData.get_id('product', target_xml_id))
    return Uom.compute_qty(Uom(uom_id), 1, target, round=False)


def in_(column, ids):
    """SQL: column IN ids, as one array parameter on PostgreSQL (``= ANY``):
    an IN list of a few thousand ids costs more to format, send and parse
    than to run"""
    return SQL_OPERATORS['in'](column, list(ids))


def _warehouse_bins(warehouse, putaway=False):
    """The SQL condition on ``stock.location`` of the active bins of the
    warehouse; with ``putaway`` only those :func:`putaway.refusal` does not
    refuse whatever they hold (pick or reserve zone, not blocked)."""
    location = Pool().get('stock.location').__table__()
    # The nested-set bounds of the storage location, read alone (its record
    # would be read with every field and the translated name)
    cursor = Transaction().connection.cursor()
    cursor.execute(*location.select(location.left, location.right,
            where=location.id == warehouse.storage_location.id))
    left, right = cursor.fetchone()
    where = ((location.left >= left)
        & (location.right <= right)
        & (location.zone != Null)
        & (location.active == Literal(True)))
    if putaway:
        where &= (location.zone.in_(sorted(putaway_algorithm.PUTAWAY_ZONES))
            & ((location.blocked == Null)
                | (location.blocked == Literal(False))))
    return location, where


def bin_candidates(warehouse, bins=None, product_id=None, putaway=False):
    """Return the putaway.Bin of the warehouse's bins (or of bins) with
    their current volume and weight and their contents: the (product, lot)
    pairs they hold, only of ``product_id`` when given (what consolidation
    needs).  With ``putaway`` (and no ``bins``), only the bins a putaway
    may use whatever they hold (pick or reserve zone, not blocked).

    Set-based (rule 8) and read from the derived stock per bin
    ``stock.availability`` (rule 3: maintained by the move transitions,
    rebuilt and checked against the ledger), never from the move ledger:
    one query for the bins, one aggregate of the availability rows of those
    bins with the products' volume and weight, one for the bins holding
    the product; no record is instantiated per bin or stock row."""
    if bins is None:
        location, where = _warehouse_bins(warehouse, putaway)
        warehouses = warehouse.id
    else:
        location = Pool().get('stock.location').__table__()
        ids = [b.id for b in bins] or [-1]
        return _bins(location, in_(location.id, ids), _warehouses_of(ids),
            product_id, ids=ids)
    return _bins(location, where, warehouses, product_id)


def _warehouses_of(ids):
    """{location id: warehouse id or None} of the locations: the nearest
    warehouse above each, as ``stock.location``'s ``warehouse`` (inactive
    ones too), in one query by the nested sets instead of a search and a
    read per location"""
    Location = Pool().get('stock.location')
    location = Location.__table__()
    warehouse = Location.__table__()
    cursor = Transaction().connection.cursor()
    cursor.execute(*location.join(warehouse,
            condition=(warehouse.type == 'warehouse')
            & (warehouse.left <= location.left)
            & (warehouse.right >= location.right)).select(
            location.id, warehouse.id,
            where=in_(location.id, ids),
            order_by=[location.id, warehouse.left.asc]))
    # the last row of each location is the nearest warehouse (largest left)
    result = dict.fromkeys(ids)
    for location_id, warehouse_id in cursor:
        result[location_id] = warehouse_id
    return result


#: Up to so many bins, their stock is read with the products' measures in
#: one join (more bins: by primary keys, see :func:`_bins`)
FEW_BINS = 20


def _bin_columns(location):
    "The columns of a bin row of :func:`_bins`"
    return [location.id, location.zone, location.blocked, location.aisle,
        location.position, location.level, location.capacity_volume,
        location.capacity_weight]


def _bins(location, where, warehouses, product_id=None, ids=None,
        bin_rows=None, loads=None):
    """The putaway.Bin of the locations matching ``where`` (a condition on
    the ``location`` table), in id order; ``warehouses`` is the warehouse
    id of them all or {location id: warehouse id}; ``ids`` the ids of the
    locations if known (their stock is then read by id); ``bin_rows``
    their rows of :func:`_bin_columns` in id order if already read;
    ``loads`` their {id: (volume, weight)} of ``stock.location.load`` if
    read: the volume and weight of the bins holding no negative stock
    row are then taken from them."""
    pool = Pool()
    Availability = pool.get('stock.availability')
    Product = pool.get('product.product')
    Template = pool.get('product.template')
    cursor = Transaction().connection.cursor()
    bin_query = location.select(location.id, where=where)
    if bin_rows is None:
        cursor.execute(*location.select(*_bin_columns(location),
                where=where, order_by=location.id))
        bin_rows = cursor.fetchall()
    if not bin_rows:
        return []

    # What the bins hold: volume and weight summed in the database per bin
    # and unit of measure (a handful of rows per bin), converted here
    stock = Availability.__table__()
    product = Product.__table__()
    template = Template.__table__()
    held = ((stock.location.in_(bin_query) if ids is None
            else in_(stock.location, ids))
        & (stock.on_hand > 0))
    measured = (template.volume != Null) | (template.weight != Null)
    # The bins holding a negative row, when the loads are used for the
    # others
    negative = None
    if ids is None:
        cursor.execute(*stock
            .join(product, condition=stock.product == product.id)
            .join(template, condition=product.template == template.id)
            .select(
                stock.location, template.volume_uom, template.weight_uom,
                Sum(stock.on_hand * Coalesce(template.volume, 0)),
                Sum(stock.on_hand * Coalesce(template.weight, 0)),
                where=held & measured,
                group_by=[stock.location, template.volume_uom,
                    template.weight_uom]))
        sums = cursor.fetchall()
    elif len(ids) <= FEW_BINS:
        # A bin or a few (the bin scanned at a putaway): their rows with
        # their products' measures in one join, through the location index
        # and the primary keys; the bins' contents come with them
        cursor.execute(*stock
            .join(product, condition=stock.product == product.id)
            .join(template, condition=product.template == template.id)
            .select(stock.location, stock.product, stock.lot, stock.on_hand,
                template.volume_uom, template.weight_uom,
                template.volume, template.weight, where=held))
        grouped = defaultdict(lambda: [0.0, 0.0])
        contents = defaultdict(set)
        for (location_id, held_product, lot_id, on_hand, volume_uom,
                weight_uom, volume, weight) in cursor:
            if product_id is None or held_product == product_id:
                contents[location_id].add((held_product, lot_id))
            if volume is not None or weight is not None:
                sums_ = grouped[location_id, volume_uom, weight_uom]
                sums_[0] += on_hand * (volume or 0)
                sums_[1] += on_hand * (weight or 0)
        sums = [key + tuple(values) for key, values in grouped.items()]
    else:
        exact = held
        if loads is not None:
            # The load of a bin is the same sum over all its rows: only
            # the bins holding a negative row (which the load counts and
            # this sum does not) are summed here
            cursor.execute(*stock.select(stock.location,
                    where=in_(stock.location, ids) & (stock.on_hand < 0),
                    group_by=[stock.location]))
            negative = {r[0] for r in cursor}
            exact = (in_(stock.location, sorted(negative) or [-1])
                & (stock.on_hand > 0))
        # Their rows by the location index, then the templates of their
        # products and the templates' measures, each by its primary key (a
        # join hashes the whole catalogue: 20 ms for the 2 000 products of
        # 500 bins at scale 100, against 2 × 3 ms)
        cursor.execute(*stock.select(
                stock.product, stock.location, stock.on_hand, where=exact))
        rows = cursor.fetchall()
        products = sorted({r[0] for r in rows})
        templates = defaultdict(list)
        for i in range(0, len(products), 10000):
            cursor.execute(*product.select(product.id, product.template,
                    where=in_(product.id, products[i:i + 10000])))
            for held_product, template_id in cursor:
                templates[template_id].append(held_product)
        measures = {}
        template_ids = sorted(templates)
        for i in range(0, len(template_ids), 10000):
            cursor.execute(*template.select(template.id,
                    template.volume_uom, template.weight_uom,
                    template.volume, template.weight,
                    where=in_(template.id, template_ids[i:i + 10000])
                    & measured))
            for template_id, *values in cursor:
                for held_product in templates[template_id]:
                    measures[held_product] = tuple(values)
        grouped = defaultdict(lambda: [0.0, 0.0])
        for held_product, location_id, on_hand in rows:
            if held_product in measures:
                volume_uom, weight_uom, volume, weight = measures[
                    held_product]
                sums_ = grouped[location_id, volume_uom, weight_uom]
                sums_[0] += on_hand * (volume or 0)
                sums_[1] += on_hand * (weight or 0)
        sums = [key + tuple(values) for key, values in grouped.items()]
    used = defaultdict(lambda: [0.0, 0.0])
    factors = {}

    def factor(uom_id, target):
        if target not in factors:
            factors[target] = _unit_factors(target)
        if uom_id not in factors[target]:
            factors[target][uom_id] = _uom_factor(uom_id, target)
        return factors[target][uom_id]
    if negative is not None:
        for location_id, (volume, weight) in loads.items():
            if location_id not in negative:
                used[location_id] = [volume or 0.0, weight or 0.0]
    for location_id, volume_uom, weight_uom, volume, weight in sums:
        if volume and volume_uom:
            used[location_id][0] += volume * factor(
                volume_uom, 'uom_cubic_meter')
        if weight and weight_uom:
            used[location_id][1] += weight * factor(
                weight_uom, 'uom_kilogram')
    if ids is None or len(ids) > FEW_BINS:
        # Which bins hold the product (and lot) being put away:
        # consolidation only looks at those; without a product, every
        # (product, lot)
        if product_id is not None:
            held &= stock.product == product_id
        cursor.execute(*stock.select(
                stock.location, stock.product, stock.lot, where=held))
        contents = defaultdict(set)
        for location_id, product_id_, lot_id in cursor:
            contents[location_id].add((product_id_, lot_id))
    result = []
    no_contents = frozenset()
    for (id_, zone, blocked, aisle, position, level, capacity_volume,
            capacity_weight) in bin_rows:
        volume, weight = used.get(id_, (0.0, 0.0))
        result.append(putaway_algorithm.Bin(
                id=id_,
                warehouse=(warehouses if isinstance(warehouses, int)
                    else warehouses[id_]),
                zone=zone, blocked=bool(blocked),
                aisle=aisle, position=position, level=level,
                capacity_volume=capacity_volume,
                capacity_weight=capacity_weight,
                used_volume=volume, used_weight=weight,
                contents=(frozenset(contents[id_]) if id_ in contents
                    else no_contents)))
    return result


def putaway_item(move, warehouse, quantity=None):
    """Return the putaway.Item of an inventory move (or of ``quantity`` of
    it, in the product's default unit)"""
    product = move.product
    volume, weight = _unit_measures([product])[product.id]
    if quantity is None:
        quantity = move.internal_quantity
    home = product.template.home_bin
    return putaway_algorithm.Item(
        product=product.id, warehouse=warehouse.id, quantity=quantity,
        lot=move.lot.id if move.lot else None,
        unit_volume=volume, unit_weight=weight,
        abc_class=product.abc_class,
        home_bins=frozenset([home.id] if home else []))


def _dispatch_points(warehouse):
    "The (aisle, position) of the warehouse's dispatch bins, in id order"
    location, where = _warehouse_bins(warehouse)
    cursor = Transaction().connection.cursor()
    cursor.execute(*location.select(location.aisle, location.position,
            where=where & (location.zone == 'dispatch')
            & (location.aisle != Null),
            order_by=location.id))
    return [tuple(r) for r in cursor]


#: {target XML id: {uom id: factor}}: read at every putaway scan and move
#: into a bin, changed when a unit is created, written or deleted
_UNIT_FACTORS = Cache('inventory_flow.unit_factors', context=False)


class Uom(metaclass=PoolMeta):
    __name__ = 'product.uom'

    @classmethod
    def on_modification(cls, mode, records, field_names=None):
        super().on_modification(mode, records, field_names=field_names)
        _UNIT_FACTORS.clear()


def _unit_factors(target_xml_id):
    """{uom id: how many target units one is} for the units of the
    target's category (product.uom_cubic_meter, uom_kilogram); cached
    until a unit changes"""
    factors = _UNIT_FACTORS.get(target_xml_id)
    if factors is None:
        factors = _read_unit_factors(target_xml_id)
        _UNIT_FACTORS.set(target_xml_id, factors)
    return dict(factors)


def _read_unit_factors(target_xml_id):
    pool = Pool()
    Uom = pool.get('product.uom')
    ModelData = pool.get('ir.model.data')
    target = Uom(ModelData.get_id('product', target_xml_id))
    with Transaction().set_context(active_test=False):
        uoms = Uom.search([('category', '=', target.category.id)])
    return {u.id: Uom.compute_qty(u, 1, target, round=False) for u in uoms}


def _converted(column, uom_column, factors):
    "SQL: column (in the unit uom_column) in the unit of factors"
    return Case(*[(uom_column == id_, column * factor)
            for id_, factor in sorted(factors.items())], else_=0)




def _possible_bins(item, warehouse, rows=False):
    """The ids of the warehouse's bins that putaway.refusal may accept for
    item, in one query: zone, blocking and room are checked in SQL, the
    room against the bins' loads (stock.location.load, which never exceed
    what the exact check sums) with a small slack (floating point), so no
    bin left out would be accepted by the exact check.  With ``rows``,
    their rows of :func:`_bin_columns` and their load's volume and
    weight, in id order, instead."""
    Load = Pool().get('stock.location.load')
    location, where = _warehouse_bins(warehouse, putaway=True)
    load = Load.__table__()
    # The room kept on the load rows is the capacity with the slack less
    # the load: a bin is refused when its load alone passes the capacity
    # (room < 0) or with the item (room < needed, give or take 1e-9)
    for room, unit in [
            (load.room_volume, item.unit_volume),
            (load.room_weight, item.unit_weight)]:
        needed = (unit or 0) * item.quantity
        where &= room >= max(needed - 1e-9, 0)
    cursor = Transaction().connection.cursor()
    # From the rooms (an index range) to their bins (by primary key): every
    # bin of a putaway zone has its load row
    query = load.join(location, condition=load.location == location.id)
    if rows:
        cursor.execute(*query.select(*_bin_columns(location),
                load.volume, load.weight,
                where=where, order_by=location.id))
        return cursor.fetchall()
    cursor.execute(*query.select(location.id, where=where))
    return [r[0] for r in cursor]


#: Above so many possible bins, they are read by their condition rather
#: than by id
MAX_POSSIBLE_IDS = 5000


def recommend_bins(move, limit=3, quantity=None):
    """Return the recommended bins (stock.location) for an inventory move
    (or for ``quantity`` of it, in the product's default unit).

    Only the bins that may receive it are scored: those left after the
    zone, blocking and capacity checks done in SQL (_possible_bins)."""
    pool = Pool()
    Location = pool.get('stock.location')
    Strategy = pool.get('stock.putaway.strategy')
    # The shipment's warehouse column alone (its record is read with every
    # field of the supplier shipment)
    shipment = pool.get('stock.shipment.in').__table__()
    cursor = Transaction().connection.cursor()
    cursor.execute(*shipment.select(shipment.warehouse,
            where=shipment.id == move.shipment.id))
    warehouse = Location(cursor.fetchone()[0])
    item = putaway_item(move, warehouse, quantity)
    strategies = Strategy.strategies_for(move.product, warehouse)
    origins = _dispatch_points(warehouse) or [(1, 0)]
    candidates = putaway_candidates(item, warehouse)
    ranked = putaway_algorithm.recommend(item, candidates, strategies,
        dispatch=origins, limit=limit)
    return Location.browse([r.bin for r in ranked])


def putaway_candidates(item, warehouse):
    """The putaway.Bin of the warehouse's bins that may receive item:
    those left by the zone, blocking and capacity checks done in SQL
    (:func:`_possible_bins`), with what they hold"""
    rows = _possible_bins(item, warehouse, rows=True)
    possible = [r[0] for r in rows]
    if len(possible) <= MAX_POSSIBLE_IDS:
        location = Pool().get('stock.location').__table__()
        return _bins(location, in_(location.id, possible or [-1]),
            warehouse.id, item.product, ids=possible or [-1],
            bin_rows=[r[:-2] for r in rows],
            loads={r[0]: tuple(r[-2:]) for r in rows})
    return bin_candidates(warehouse, product_id=item.product, putaway=True)


def pending_putaway(product, lot=None):
    "Return the inventory moves of received shipments waiting for putaway"
    Move = Pool().get('stock.move')
    domain = [
        ('product', '=', product.id),
        ('shipment', 'like', 'stock.shipment.in,%'),
        ('shipment.state', '=', 'received', 'stock.shipment.in'),
        ('from_location.type', '=', 'storage'),
        ('state', 'in', ['draft', 'assigned']),
        ]
    if lot:
        domain.append(('lot', '=', lot.id))
    return Move.search(domain, order=[('planned_date', 'ASC'), ('id', 'ASC')])


def put_away(move, location, recommended=None, quantity=None):
    """Do the inventory move into location (a bin), recording the
    recommended bin; refuse an invalid bin naming the reason.

    With ``quantity`` (in the move's unit) below the move's quantity, only
    that part is put away: the move is split and the rest stays waiting
    for putaway (into another bin).  Returns the move done."""
    pool = Pool()
    Move = pool.get('stock.move')
    Shipment = pool.get('stock.shipment.in')
    Location = pool.get('stock.location')
    shipment, warehouse = _shipment_in_of(move)
    warehouse = Location(warehouse)
    if move.state not in {'draft', 'assigned'}:
        raise AccessError(gettext(
                'inventory_flow.msg_putaway_move_done',
                product=move.product.rec_name))
    rest = None
    if quantity is not None:
        quantity = move.unit.round(float(quantity))
        if quantity <= 0 or quantity > move.quantity:
            raise UserError(gettext(
                    'inventory_flow.msg_putaway_quantity_over',
                    quantity=quantity, available=move.quantity,
                    product=move.product.rec_name))
        if quantity < move.quantity:
            rest = move.unit.round(move.quantity - quantity)
    candidate, = bin_candidates(
        warehouse, [location], product_id=move.product.id)
    if not location.zone:
        reason = 'zone'
    else:
        # Checked against the bin with the part that goes into it
        internal = (move.internal_quantity * quantity / move.quantity
            if rest else None)
        reason = putaway_algorithm.refusal(
            putaway_item(move, warehouse, internal), candidate)
    if reason:
        raise UserError(gettext(
                'inventory_flow.msg_putaway_refused_%s' % reason,
                bin=location.rec_name, warehouse=warehouse.rec_name))
    if recommended is None:
        recommended = (recommend_bins(move, limit=1) or [None])[0]
    if rest:
        Move.copy([move], default={
                'quantity': rest,
                'recommended_location': None,
                })
        move.quantity = quantity
        move.save()
    # The bin is written with the state, by Tryton's ``do`` (through
    # ``Move.set_effective_date``): the checks before it see the storage
    # location the move had, of the same type as the bin (storage)
    # Read before the transition: the move is read again after it
    source = move.from_location.id
    with Transaction().set_context(_putaway_into=(move.id, location.id,
                recommended.id if recommended else None)):
        Move.do([move])
    if _inventory_done(shipment, source):
        Shipment.do([Shipment(shipment.id)])
    return move


def _shipment_in_of(move):
    """(supplier shipment, its warehouse id) of an inventory move waiting
    for putaway, in one query (reading the move's shipment, a reference,
    reads the move's field and searches the shipment, then its fields)"""
    pool = Pool()
    Move = pool.get('stock.move')
    Shipment = pool.get('stock.shipment.in')
    move_t = Move.__table__()
    shipment = Shipment.__table__()
    cursor = Transaction().connection.cursor()
    cursor.execute(*move_t.join(shipment, condition=shipment.id
            == Move.shipment.sql_id(move_t.shipment, Shipment)).select(
            shipment.id, shipment.warehouse,
            where=(move_t.id == move.id)
            & move_t.shipment.like(Shipment.__name__ + ',%')))
    row = cursor.fetchone()
    if not row:
        raise AccessError(gettext(
                'inventory_flow.msg_putaway_move_done',
                product=move.product.rec_name))
    return Shipment(row[0]), row[1]


def _inventory_done(shipment, source):
    """Whether every inventory move of the supplier shipment (those from
    ``source``, its input location) is done or cancelled, in one query
    (``shipment.inventory_moves`` reads and sorts every move of the
    shipment by its product's name)"""
    move = Pool().get('stock.move').__table__()
    cursor = Transaction().connection.cursor()
    cursor.execute(*move.select(Literal(1),
            where=(move.shipment == str(shipment))
            & (move.from_location == source)
            & ~move.state.in_(['done', 'cancelled']),
            limit=1))
    return cursor.fetchone() is None
