"""Oversell-proof reservation of order lines (C2) on a derived availability
structure, with FIFO/FEFO allocation by bin and lot (B5).

``stock.move`` stays the ledger (architecture rule 3).  ``stock.availability``
holds one row per product, storage location and lot with

* ``on_hand``: the done moves into the location minus the done moves out,
* ``reserved``: the *assigned* (not yet done) moves out of the location,

both in the product's default unit.  It is maintained by the move
transitions (assign, do, draft, cancel) and can be rebuilt from the moves at
any time; :meth:`Availability.check_consistency` compares the two.

A reservation is ONE conditional statement per allocated row::

    UPDATE stock_availability SET reserved = reserved + q
    WHERE id = :row AND on_hand - reserved >= q

so two orders can never take the same unit: the second statement either
waits for the first transaction and sees its result (PostgreSQL row lock) or
fails the serialization check and is retried by trytond.  See
``docs/reservation.md``.
"""
import datetime as dt
import logging
from collections import defaultdict

from sql import Literal, Null, Union
from sql.aggregate import Max, Min, Sum

from trytond import backend
from trytond.i18n import gettext
from trytond.model import (
    DeactivableMixin, Index, ModelSQL, ModelView, Unique, fields)
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.rpc import RPC
from trytond.exceptions import UserError, UserWarning
from trytond.transaction import Transaction, TransactionError

from .allocation import Candidate, allocate
from .intake import notify_held, rollback_to_savepoint

logger = logging.getLogger(__name__)
#: The most API orders a queue task processes together

POLICIES = [
    ('backorder', "Reserve Available, Back-Order the Rest"),
    ('all_or_nothing', "All or Nothing"),
    ]
RESERVATION_STATES = [
    ('reserved', "Reserved"),
    ('consumed', "Shipped"),
    ('released', "Released"),
    ]


def _round(value):
    # Quantities are compared in SQL: keep them free of binary noise
    return round(value or 0.0, 6)


class Channel(DeactivableMixin, ModelSQL, ModelView):
    "Sales Channel"
    __name__ = 'inventory.channel'
    _history = True

    code = fields.Char(
        "Code", required=True,
        help="The identifier the channel sends in its API orders.")
    name = fields.Char("Name", required=True,
        help="The name of the shop, marketplace or CRM.")
    company = fields.Many2One('company.company', "Company", required=True,
        help="The company that sells through the channel.")
    warehouse = fields.Many2One(
        'stock.location', "Warehouse", required=True,
        domain=[('type', '=', 'warehouse')],
        help="The warehouse that ships the channel's orders.")
    reservation_policy = fields.Selection(
        POLICIES, "Reservation Policy", required=True,
        help="What to do when an order line cannot be reserved in full.")
    minimum_shelf_life = fields.Integer(
        "Minimum Shelf Life",
        domain=['OR',
            ('minimum_shelf_life', '=', None),
            ('minimum_shelf_life', '>=', 0)],
        help="The days a lot must still be good for on the ship date; "
        "shorter-dated lots are not allocated to the channel's orders.")
    owner = fields.Many2One('res.user', "Owner",
        help="The user who follows up the channel's short lines.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('code_unique', Unique(t, t.code),
                'inventory_flow.msg_channel_code_unique'),
            ]

    @classmethod
    def default_reservation_policy(cls):
        return 'backorder'

    @staticmethod
    def default_company():
        return Transaction().context.get('company')


class Availability(ModelSQL, ModelView):
    "Stock Availability"
    __name__ = 'stock.availability'

    product = fields.Many2One(
        'product.product', "Product", required=True, readonly=True,
        ondelete='CASCADE',
        help="The product the quantities are about.")
    location = fields.Many2One(
        'stock.location', "Location", required=True, readonly=True,
        ondelete='CASCADE',
        help="The storage location or bin holding the stock.")
    lot = fields.Many2One('stock.lot', "Lot", readonly=True,
        ondelete='CASCADE',
        help="The lot of the stock, empty for products without lots.")
    on_hand = fields.Float("On Hand", readonly=True,
        help="The quantity physically in the location according to the "
        "done stock moves, in the default unit of the product.")
    reserved = fields.Float("Reserved", readonly=True,
        help="The quantity promised to orders: the assigned moves out of "
        "the location that are not done yet.")
    available = fields.Function(fields.Float("Available",
            help="On hand minus reserved."), 'get_available')
    received = fields.Date("First Receipt", readonly=True,
        help="The date the stock first entered the location; "
        "FIFO allocation takes the oldest first.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.update({
                Index(t,
                    (t.product, Index.Equality()),
                    (t.location, Index.Equality()),
                    (t.lot, Index.Equality())),
                })
        cls._order = [('product', 'ASC'), ('location', 'ASC'),
            ('id', 'ASC')]
        cls.__rpc__.update({
                'check_consistency': RPC(),
                'rebuild': RPC(readonly=False),
                })

    def get_available(self, name):
        return _round((self.on_hand or 0) - (self.reserved or 0))

    # -- ledger queries ---------------------------------------------------

    @classmethod
    def _ledger_query(cls, product_ids=None):
        """Return a query of (product, location, lot, on_hand, reserved,
        received) computed from the stock moves of storage locations and
        the reservation rows that have no move yet."""
        pool = Pool()
        Move = pool.get('stock.move')
        Location = pool.get('stock.location')
        Reservation = pool.get('stock.reservation')
        move = Move.__table__()
        location = Location.__table__()

        where = Literal(True)
        if product_ids is not None:
            where &= move.product.in_(list(product_ids) or [-1])
        done = where & (move.state == 'done')
        entering = move.select(
            move.product.as_('product'),
            move.to_location.as_('location'),
            move.lot.as_('lot'),
            move.internal_quantity.as_('on_hand'),
            Literal(0.0).as_('reserved'),
            move.effective_date.as_('received'),
            where=done)
        leaving = move.select(
            move.product.as_('product'),
            move.from_location.as_('location'),
            move.lot.as_('lot'),
            (-move.internal_quantity).as_('on_hand'),
            Literal(0.0).as_('reserved'),
            Literal(None).as_('received'),
            where=done)
        assigned = move.select(
            move.product.as_('product'),
            move.from_location.as_('location'),
            move.lot.as_('lot'),
            Literal(0.0).as_('on_hand'),
            move.internal_quantity.as_('reserved'),
            Literal(None).as_('received'),
            where=where & (move.state == 'assigned'))
        # Reservation rows the intake committed whose move the queued
        # processing of the order has not created yet count as reserved
        reservation = Reservation.__table__()
        pending_where = ((reservation.state == 'reserved')
            & (reservation.move == Null))
        if product_ids is not None:
            pending_where &= reservation.product.in_(
                list(product_ids) or [-1])
        pending = reservation.select(
            reservation.product.as_('product'),
            reservation.location.as_('location'),
            reservation.lot.as_('lot'),
            Literal(0.0).as_('on_hand'),
            reservation.quantity.as_('reserved'),
            Literal(None).as_('received'),
            where=pending_where)
        union = Union(entering, leaving, assigned, pending, all_=True)
        return union.join(
            location, condition=union.location == location.id
            ).select(
                union.product, union.location, union.lot,
                Sum(union.on_hand), Sum(union.reserved), Min(union.received),
                where=location.type == 'storage',
                group_by=[union.product, union.location, union.lot])

    @classmethod
    def rebuild(cls, products=None):
        """Recompute the rows of the products (all when None) from the
        ledger in one aggregate query and one batched insert."""
        transaction = Transaction()
        cursor = transaction.connection.cursor()
        table = cls.__table__()
        product_ids = None if products is None else [
            getattr(p, 'id', p) for p in products]
        cursor.execute(*cls._ledger_query(product_ids))
        rows = [r for r in cursor if _round(r[3]) or _round(r[4])]
        if product_ids is None:
            cursor.execute(*table.delete())
        else:
            cursor.execute(*table.delete(
                    where=table.product.in_(product_ids or [-1])))
        columns = [table.product, table.location, table.lot, table.on_hand,
            table.reserved, table.received, table.create_uid,
            table.create_date]
        now = dt.datetime.now()
        for i in range(0, len(rows), 1000):
            cursor.execute(*table.insert(columns, [
                        [p, l, lot, _round(o), _round(r), rec,
                            transaction.user, now]
                        for p, l, lot, o, r, rec in rows[i:i + 1000]]))
        cls._clear_cache()
        return len(rows)

    @classmethod
    def _clear_cache(cls):
        transaction = Transaction()
        transaction.cache.pop(cls.__name__, None)
        transaction.counter += 1

    @classmethod
    def check_consistency(cls, products=None):
        """Return the differences between the rows and the ledger as a list
        of (product, location, lot, field, stored, ledger); empty when
        consistent.  Also reports rows breaking reserved <= on_hand."""
        cursor = Transaction().connection.cursor()
        table = cls.__table__()
        product_ids = None if products is None else [
            getattr(p, 'id', p) for p in products]
        cursor.execute(*cls._ledger_query(product_ids))
        ledger = {(p, l, lot): (_round(o), _round(r))
            for p, l, lot, o, r, _ in cursor}
        where = Literal(True)
        if product_ids is not None:
            where = table.product.in_(product_ids or [-1])
        cursor.execute(*table.select(
                table.product, table.location, table.lot,
                Sum(table.on_hand), Sum(table.reserved),
                where=where,
                group_by=[table.product, table.location, table.lot]))
        stored = {(p, l, lot): (_round(o), _round(r))
            for p, l, lot, o, r in cursor}
        differences = []
        for key in sorted(set(ledger) | set(stored),
                key=lambda k: tuple(x or 0 for x in k)):
            s = stored.get(key, (0, 0))
            g = ledger.get(key, (0, 0))
            for name, a, b in [('on_hand', s[0], g[0]),
                    ('reserved', s[1], g[1])]:
                if abs(a - b) > 1e-6:
                    differences.append(key + (name, a, b))
            if s[1] > s[0] + 1e-6:
                differences.append(key + ('reserved>on_hand', s[1], s[0]))
        return differences

    # -- incremental maintenance by the move transitions -------------------

    @classmethod
    def apply_deltas(cls, deltas):
        """Add ``deltas`` {(product, location, lot): [on_hand, reserved]} to
        the rows, creating the missing ones; one statement per key in a
        stable order (so that concurrent transactions lock rows in the same
        order and cannot deadlock)."""
        cursor = Transaction().connection.cursor()
        table = cls.__table__()
        to_insert = []
        for key in sorted(deltas, key=lambda k: tuple(x or 0 for x in k)):
            on_hand, reserved = (_round(v) for v in deltas[key])
            if not on_hand and not reserved:
                continue
            product, location, lot = key
            lot_clause = (table.lot == lot) if lot else (table.lot == Null)
            # The first row of the key (by id), found and updated by one
            # statement
            first = table.select(table.id,
                where=(table.product == product)
                & (table.location == location) & lot_clause,
                order_by=[table.id.asc], limit=1)
            cursor.execute(*table.update(
                    [table.on_hand, table.reserved],
                    [table.on_hand + on_hand, table.reserved + reserved],
                    where=table.id.in_(first)))
            if not cursor.rowcount:
                to_insert.append([product, location, lot, on_hand, reserved,
                        dt.date.today()])
        if to_insert:
            cursor.execute(*table.insert(
                    [table.product, table.location, table.lot,
                        table.on_hand, table.reserved, table.received],
                    to_insert))
        cls._clear_cache()

    @classmethod
    def reserve_row(cls, row_id, quantity):
        """Reserve ``quantity`` on the row if and only if it is available.

        One atomic conditional UPDATE; return whether it succeeded."""
        cursor = Transaction().connection.cursor()
        table = cls.__table__()
        quantity = _round(quantity)
        cursor.execute(*table.update(
                [table.reserved], [table.reserved + quantity],
                where=(table.id == row_id)
                & (table.on_hand - table.reserved >= quantity - 1e-9)))
        return cursor.rowcount == 1

    @classmethod
    def candidates(cls, warehouse, product_ids, labels=None):
        """Return {product: [Candidate]} of the warehouse's storage tree
        (``warehouse``: the record, or the (left, right) of its storage
        location) in one query (bins with their zone, blocked flag and lot expiry).

        ``labels``, a dict, receives {row id: (location, lot, bin label,
        lot number, lot expiry)} for the API's answer."""
        result = defaultdict(list)
        for product, _, _, candidate in cls._warehouse_rows(
                warehouse, product_ids, positive=True, labels=labels):
            result[product].append(candidate)
        return result

    @classmethod
    def stock_rows(cls, warehouse, product_ids):
        "Return [(on hand, reserved, Candidate)] of the warehouse"
        return [(o, r, c) for _, o, r, c in cls._warehouse_rows(
                warehouse, product_ids)]

    @classmethod
    def _warehouse_rows(cls, warehouse, product_ids, positive=False,
            labels=None):
        pool = Pool()
        Location = pool.get('stock.location')
        Lot = pool.get('stock.lot')
        cursor = Transaction().connection.cursor()
        table = cls.__table__()
        location = Location.__table__()
        lot = Lot.__table__()
        if isinstance(warehouse, tuple):
            left, right = warehouse
        else:
            left = warehouse.storage_location.left
            right = warehouse.storage_location.right
        where = (table.product.in_(list(product_ids) or [-1])
            & (location.left >= left)
            & (location.right <= right))
        if positive:
            where &= table.on_hand - table.reserved > 0
        query = table.join(location,
            condition=table.location == location.id
            ).join(lot, 'LEFT', condition=table.lot == lot.id
            ).select(
                table.id, table.product, table.location, table.lot,
                table.on_hand, table.reserved, lot.expiration_date,
                table.received, location.zone, location.blocked,
                location.code, location.name, lot.number,
                where=where)
        cursor.execute(*query)
        result = []
        for (id_, product, location_id, lot_id, on_hand, reserved, expiry,
                received, zone, blocked, code, name, number) in cursor:
            if isinstance(expiry, str):
                expiry = dt.date.fromisoformat(expiry)
            if isinstance(received, str):
                received = dt.date.fromisoformat(received)
            if labels is not None:
                labels[id_] = (location_id, lot_id, code or name, number,
                    expiry)
            result.append((product, on_hand or 0.0, reserved or 0.0, Candidate(
                    key=id_, location=location_id, lot=lot_id,
                    available=_round((on_hand or 0) - (reserved or 0)),
                    expiry=expiry, received=received, zone=zone,
                    blocked=bool(blocked))))
        return result

    @classmethod
    def rows(cls, row_ids):
        "Return {id: (product, location, lot)} of the rows"
        cursor = Transaction().connection.cursor()
        table = cls.__table__()
        cursor.execute(*table.select(
                table.id, table.product, table.location, table.lot,
                where=table.id.in_(list(row_ids) or [-1])))
        return {r[0]: r[1:] for r in cursor}


class Reservation(ModelSQL, ModelView):
    "Stock Reservation"
    __name__ = 'stock.reservation'

    api_order = fields.Many2One('inventory.api.order', "API Order",
        readonly=True, ondelete='CASCADE',
        help="The order taken in by the API that reserved the stock.")
    line = fields.Integer("Line", readonly=True,
        help="The line of the API order (1 for the first).")
    sale = fields.Many2One('sale.sale', "Sale",
        readonly=True, ondelete='CASCADE',
        help="The order the stock is promised to; set when the sale of an "
        "API order is made.")
    sale_line = fields.Many2One('sale.line', "Sale Line",
        readonly=True, ondelete='CASCADE',
        domain=[('sale', '=', Eval('sale', -1))],
        help="The order line the stock is promised to.")
    product = fields.Many2One('product.product', "Product", required=True,
        readonly=True, ondelete='RESTRICT',
        help="The product reserved.")
    location = fields.Many2One('stock.location', "Bin", required=True,
        readonly=True, ondelete='RESTRICT',
        help="The bin the system chose to pick from.")
    lot = fields.Many2One('stock.lot', "Lot", readonly=True,
        ondelete='RESTRICT',
        help="The lot the system chose (FEFO or FIFO).")
    quantity = fields.Float("Quantity", required=True, readonly=True,
        help="The quantity reserved in the default unit of the product.")
    move = fields.Many2One('stock.move', "Move", readonly=True,
        ondelete='SET NULL',
        help="The assigned inventory move of the shipment that carries "
        "the reservation to the picker.")
    state = fields.Selection(RESERVATION_STATES, "State", required=True,
        readonly=True,
        help="Reserved until the move is done (shipped) or cancelled "
        "(released).")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.update({
                Index(t, (t.move, Index.Equality())),
                Index(t, (t.sale_line, Index.Equality())),
                Index(t, (t.api_order, Index.Equality())),
                Index(t, (t.state, Index.Equality(cardinality='low'))),
                })
        cls._order = [('sale', 'DESC'), ('id', 'ASC')]

    @classmethod
    def default_state(cls):
        return 'reserved'

    @classmethod
    def close_for_moves(cls, moves, state):
        "Mark the open reservations of the moves as consumed or released"
        cursor = Transaction().connection.cursor()
        table = cls.__table__()
        ids = [m.id for m in moves]
        for i in range(0, len(ids), 1000):
            cursor.execute(*table.update(
                    [table.state], [state],
                    where=table.move.in_(ids[i:i + 1000])
                    & (table.state == 'reserved')))


    @classmethod
    def outstanding(cls, product_ids=None, with_lot=False):
        """Return {(location, product[, lot]): quantity} promised by open
        reservations that no assigned move carries yet: an API order between
        its intake and its queued processing (C2).  Few rows: the filter is
        on the open rows without move."""
        cursor = Transaction().connection.cursor()
        table = cls.__table__()
        columns = [table.location, table.product]
        if with_lot:
            columns.append(table.lot)
        where = (table.state == 'reserved') & (table.move == Null)
        if product_ids is not None:
            where &= table.product.in_(list(product_ids) or [-1])
        cursor.execute(*table.select(*columns, Sum(table.quantity),
                where=where, group_by=columns))
        return {tuple(row[:-1]): row[-1] for row in cursor}


class Product(metaclass=PoolMeta):
    __name__ = 'product.product'

    @classmethod
    def products_by_location(cls, location_ids, with_childs=False,
            grouping=('product',), grouping_filter=None):
        """Tryton's assign_try (context ``stock_assign``) also keeps its
        hands off the stock promised to API orders whose moves are not made
        yet, so a shipment assigned by hand in that window never takes
        units already promised (C2)."""
        quantities = super().products_by_location(location_ids,
            with_childs=with_childs, grouping=grouping,
            grouping_filter=grouping_filter)
        context = Transaction().context
        if (context.get('stock_assign') and not with_childs
                and not context.get('_stock_reserved')
                and tuple(grouping) in {('product',), ('product', 'lot')}):
            Reservation = Pool().get('stock.reservation')
            product_ids = None
            if grouping_filter and grouping_filter[0]:
                product_ids = grouping_filter[0]
            locations = set(location_ids)
            outstanding = Reservation.outstanding(
                product_ids, with_lot=len(grouping) == 2)
            for key, quantity in outstanding.items():
                if key[0] in locations:
                    quantities[key] = quantities.get(key, 0) - quantity
        return quantities


class Move(metaclass=PoolMeta):
    __name__ = 'stock.move'

    @classmethod
    def _availability_deltas(cls, moves, previous, new_state):
        "Return the availability deltas of moves leaving previous states"
        deltas = defaultdict(lambda: [0.0, 0.0])
        for move in moves:
            before = previous.get(move.id)
            if before == new_state or move.state != new_state:
                continue
            quantity = move.internal_quantity or 0.0
            lot = getattr(move, 'lot', None)
            lot = lot.id if lot else None
            source = (move.product.id, move.from_location.id, lot)
            target = (move.product.id, move.to_location.id, lot)
            source_storage = move.from_location.type == 'storage'
            target_storage = move.to_location.type == 'storage'
            if before == 'assigned' and source_storage:
                deltas[source][1] -= quantity
            if new_state == 'assigned' and source_storage:
                deltas[source][1] += quantity
            if new_state == 'done':
                if source_storage:
                    deltas[source][0] -= quantity
                if target_storage:
                    deltas[target][0] += quantity
            if before == 'done' and new_state == 'cancelled':
                if source_storage:
                    deltas[source][0] += quantity
                if target_storage:
                    deltas[target][0] -= quantity
        return deltas

    @classmethod
    def _track_availability(cls, moves, previous, new_state):
        pool = Pool()
        Availability = pool.get('stock.availability')
        Reservation = pool.get('stock.reservation')
        deltas = cls._availability_deltas(moves, previous, new_state)
        context = Transaction().context
        if new_state == 'assigned' and context.get('_stock_reserved'):
            # The conditional UPDATE of the reservation already counted them
            for key in deltas:
                deltas[key][1] = 0.0
        Availability.apply_deltas(deltas)
        changed = [m for m in moves
            if previous.get(m.id) == 'assigned' != new_state
            and m.state == new_state]
        if changed:
            Reservation.close_for_moves(changed,
                'consumed' if new_state == 'done' else 'released')

    @classmethod
    def assign(cls, moves):
        previous = {m.id: m.state for m in moves}
        super().assign(moves)
        cls._track_availability(moves, previous, 'assigned')

    @classmethod
    def do(cls, moves):
        previous = {m.id: m.state for m in moves}
        super().do(moves)
        cls._track_availability(moves, previous, 'done')

    @classmethod
    def draft(cls, moves):
        previous = {m.id: m.state for m in moves}
        super().draft(moves)
        cls._track_availability(moves, previous, 'draft')

    @classmethod
    def cancel(cls, moves):
        previous = {m.id: m.state for m in moves}
        super().cancel(moves)
        cls._track_availability(moves, previous, 'cancelled')


class Sale(metaclass=PoolMeta):
    __name__ = 'sale.sale'

    channel = fields.Many2One('inventory.channel', "Channel", readonly=True,
        ondelete='RESTRICT',
        help="The sales channel the order came from through the API.")
    channel_reference = fields.Char("Channel Reference", readonly=True,
        help="The order number in the sales channel; unique per channel.")
    requested_carrier = fields.Char("Requested Carrier", readonly=True,
        help="The carrier the channel asked for.")
    reservations = fields.One2Many('stock.reservation', 'sale',
        "Reservations", readonly=True,
        help="The stock reserved for the order by bin and lot.")
    api_error = fields.Text("Processing Error", readonly=True,
        states={
            'invisible': ~Eval('api_error'),
            },
        help="Why the queued processing of the API order failed: its "
        "reservation was released; fix the order and quote it by hand.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('channel_reference_unique',
                Unique(t, t.channel, t.channel_reference),
                'inventory_flow.msg_sale_channel_reference_unique'),
            ]

    @classmethod
    def cancel(cls, sales):
        super().cancel(sales)
        release_pending(sales)

    @classmethod
    def process_api_order(cls, sales):
        """Quote, confirm and process draft API sales, carry their
        reservation rows onto the shipments' moves and notify the channel's
        owner of the short lines (called by the queued task of
        ``inventory.api.order`` once it made the sales).  The sales are
        processed together — Tryton's document work costs far less per
        order in a batch; when one of them fails, each is processed on its
        own and the ones refused for good are held.  Safe to run twice: a
        sale already processed is left alone."""
        transaction = Transaction()
        batch = [s for s in cls.browse(sales)
            if s.channel and s.state == 'draft' and not s.api_error]
        if not batch:
            return
        # No lock: the sales were made by the caller's transaction, under
        # the lock of their API orders
        if len(batch) == 1:
            cls._process_or_hold(batch)
            return
        cursor = transaction.connection.cursor()
        cursor.execute('SAVEPOINT api_batch')
        tasks = list(transaction.tasks)
        try:
            cls._process_api_orders(batch)
        except (backend.DatabaseOperationalError, TransactionError):
            raise
        except Exception:
            logger.warning("API batch of %s failed, processing each alone",
                [s.id for s in batch], exc_info=True)
            rollback_to_savepoint('api_batch', tasks)
            for sale in cls.browse(batch):
                cls._process_or_hold([sale])

    @classmethod
    def _process_or_hold(cls, sales):
        """Process the orders; when the processing refuses them for good
        (a UserError of the sale workflow: a missing address, a product no
        longer salable…), hold them instead: retrying would fail the same
        way, and their reservation must not keep the stock from others."""
        transaction = Transaction()
        cursor = transaction.connection.cursor()
        cursor.execute('SAVEPOINT api_order')
        tasks = list(transaction.tasks)
        try:
            cls._process_api_orders(sales)
        except (UserError, UserWarning) as exception:
            logger.warning("API orders %s held: %s", [s.id for s in sales],
                exception.message)
            rollback_to_savepoint('api_order', tasks)
            cls.hold_api_orders(
                cls.browse([s.id for s in sales]), exception.message)

    @classmethod
    def hold_api_orders(cls, sales, message):
        """Release the reservation of draft API orders that cannot be
        processed, record why and tell the channel's owner"""
        sales = [s for s in sales if s.state == 'draft']
        if not sales:
            return
        release_pending(sales)
        cls.write(sales, {'api_error': message})
        for sale in sales:
            notify_held(sale, message)

    def _notify_owner(self, icon, label, description):
        "Notify the owner of the order's channel (if any) about the order"
        from .intake import notify_owner
        notify_owner(self.channel, icon, label, description, self)

    @classmethod
    def _process_api_orders(cls, sales):
        pool = Pool()
        Queue = pool.get('ir.queue')
        transaction = Transaction()
        drafts = [s for s in cls.browse(sales) if s.state == 'draft']
        if not drafts:
            return
        cls.quote(drafts)
        queue = Queue.__table__()
        cursor = transaction.connection.cursor()
        cursor.execute(*queue.select(Max(queue.id)))
        last = cursor.fetchone()[0] or 0
        cls.confirm(drafts)
        # Processed right away below: drop the 'process' tasks confirm
        # queued (the rows after ``last`` visible here are this
        # transaction's own)
        queued = [q for q in Queue.search([('id', '>', last)])
            if q.data.get('model') == cls.__name__
            and q.data.get('method') == 'process']
        if queued:
            ids = {q.id for q in queued}
            Queue.delete(queued)
            transaction.tasks[:] = [
                t for t in transaction.tasks if t not in ids]
        to_process = [s for s in cls.browse(drafts) if s.state == 'confirmed']
        if not to_process:
            return
        cls.process(to_process)
        cls.set_requested_carriers(cls.browse(to_process))
        # Only the sales processed now: a finished order is never touched
        # twice (a failed run is rolled back as a whole)
        for sale in cls.browse(to_process):
            if sale.state not in {'processing', 'done'}:
                continue
            short = attach_reservations(sale)
            if short:
                sale.notify_short(short)

    @classmethod
    def set_requested_carriers(cls, sales):
        """Put on the outgoing shipments of sales the carrier record the
        channel named in ``requested_carrier`` (C1), matched without case
        on the carrier's party name, its service product's name or code.
        A text that names no carrier, or several, leaves the shipment's
        carrier empty for the packer to choose; the text stays on the
        order."""
        pool = Pool()
        ShipmentOut = pool.get('stock.shipment.out')
        texts = {s.requested_carrier.strip().lower()
            for s in sales if s.requested_carrier}
        if not texts:
            return
        carriers = carriers_by_name(texts)
        to_write = []
        for sale in sales:
            text = (sale.requested_carrier or '').strip().lower()
            carrier = carriers.get(text)
            if not carrier:
                continue
            shipments = [s for s in sale.shipments
                if s.state in {'draft', 'waiting', 'assigned'}
                and not s.carrier]
            if shipments:
                to_write.extend((shipments, {'carrier': carrier}))
        if to_write:
            ShipmentOut.write(*to_write)

    def notify_short(self, short):
        "Tell the channel's owner which lines of the order are short"
        if not short or not self.channel:
            return
        lines = ', '.join(
            f'{l.product.code or l.product.rec_name} {q:g}'
            for l, q in short.items())
        self._notify_owner('tryton-warning',
            gettext('inventory_flow.msg_order_short_label',
                order=self.number or self.channel_reference),
            gettext('inventory_flow.msg_order_short_description',
                channel=self.channel.code,
                reference=self.channel_reference, lines=lines))


def carriers_by_name(names):
    """Return {lower-case name: carrier id} for the names (lower case) that
    name exactly one carrier by its party name or its product's name or
    code.  Reads the carriers once: a company has a handful."""
    Carrier = Pool().get('carrier')
    names = set(names)
    found = {}
    for carrier in Carrier.search([]):
        keys = {carrier.party.name, carrier.carrier_product.name,
            carrier.carrier_product.code}
        for key in {k.strip().lower() for k in keys if k}:
            if key in names:
                found.setdefault(key, set()).add(carrier.id)
    return {k: ids.pop() for k, ids in found.items() if len(ids) == 1}


def _split_move(move, quantity):
    "Return a new draft move like move for another part of its quantity"
    Move = Pool().get('stock.move')
    return Move(
        from_location=move.from_location, to_location=move.to_location,
        product=move.product, unit=move.unit, quantity=quantity,
        shipment=move.shipment, planned_date=move.planned_date,
        company=move.company, origin=move.origin, state='draft',
        unit_price=move.unit_price, currency=move.currency)



def _strategy(product):
    return ('fefo' if getattr(product, 'expiration_state', 'none')
        not in {None, 'none'} else 'fifo')


def plan_lines(warehouse, channel, lines, today, labels=None):
    """Allocate ``lines``, a list of (key, product, quantity in the default
    unit), on the current availability of the warehouse; read only.

    Return {key: Allocation}.  Lines of the same product share the stock."""
    Availability = Pool().get('stock.availability')
    partial = channel.reservation_policy != 'all_or_nothing'
    min_life = dt.timedelta(days=channel.minimum_shelf_life or 0)
    candidates = Availability.candidates(
        warehouse, {p.id for _, p, _ in lines}, labels=labels)
    plan = {}
    for key, product, quantity in lines:
        allocation = allocate(
            _round(quantity), candidates.get(product.id, []),
            _strategy(product), today=today, min_shelf_life=min_life,
            partial=partial)
        plan[key] = allocation
        taken = dict(allocation.lines)
        candidates[product.id] = [
            c if c.key not in taken else Candidate(
                c.key, c.location, c.lot,
                _round(c.available - taken[c.key]), c.expiry,
                c.received, c.zone, c.blocked)
            for c in candidates.get(product.id, [])]
    return plan


def is_short(plan):
    return any(a.shortfall for a in plan.values())


def reserve_lines(warehouse, channel, lines, today, labels=None, plan=None):
    """Reserve ``lines`` (see :func:`plan_lines`) with one conditional
    UPDATE per allocated availability row, in row-id order (concurrent
    orders never deadlock).

    An UPDATE matching nothing means a concurrent order took the stock
    between the read and the write: what this order already took is given
    back and the lines are allocated again on fresh figures (3 attempts,
    then nothing is reserved).  Return {key: Allocation}; with the
    all-or-nothing policy, None when one line is short (nothing kept)."""
    Availability = Pool().get('stock.availability')
    partial = channel.reservation_policy != 'all_or_nothing'
    for attempt in range(3):
        if plan is None or attempt:
            plan = plan_lines(warehouse, channel, lines, today, labels)
        if not partial and is_short(plan):
            return None
        per_row = defaultdict(float)
        for allocation in plan.values():
            for key, quantity in allocation.lines:
                per_row[key] += quantity
        done = []
        for row_id in sorted(per_row):
            if not Availability.reserve_row(row_id, per_row[row_id]):
                break
            done.append(row_id)
        else:
            return plan
        for row_id in done:
            Availability.reserve_row(row_id, -per_row[row_id])
    if not partial:
        return None
    return {k: type(a)([], _round(q))
        for (k, _, q), a in zip(lines, plan.values())}


def insert_reservations(api_order_id, lines, plan, candidates_rows):
    """Insert the reservation rows of an order taken in by the API in one
    statement.

    ``lines`` are (key, product, quantity) with the keys 0, 1, … of the
    order's lines; ``candidates_rows`` map the availability row ids to
    (location, lot)."""
    Reservation = Pool().get('stock.reservation')
    transaction = Transaction()
    cursor = transaction.connection.cursor()
    table = Reservation.__table__()
    now = dt.datetime.now()
    values = []
    for key, product, _ in lines:
        for row_id, quantity in plan[key].lines:
            location, lot = candidates_rows[row_id]
            values.append([api_order_id, key + 1, product.id, location, lot,
                    _round(quantity), 'reserved', transaction.user, now])
    if values:
        cursor.execute(*table.insert(
                [table.api_order, table.line, table.product, table.location,
                    table.lot, table.quantity, table.state, table.create_uid,
                    table.create_date],
                values))
    return len(values)


def attach_reservations(sale):
    """Carry the pending reservation rows of a processed sale onto its
    shipment: each inventory move is split per reserved (bin, lot), written
    with them and assigned (the conditional UPDATE already counted them, so
    the assign hook does not count them twice); the remainder of a short
    line stays a draft move from the warehouse storage — a back-order that
    the purchase suggestions see as demand.  Return {line: shortfall}."""
    pool = Pool()
    Move = pool.get('stock.move')
    Reservation = pool.get('stock.reservation')
    Shipment = pool.get('stock.shipment.out')

    pending = defaultdict(list)
    for reservation in sale.reservations:
        if reservation.state == 'reserved' and not reservation.move:
            pending[reservation.sale_line].append(reservation)
    inventory_moves = {}
    for shipment in sale.shipments:
        for move in shipment.inventory_moves:
            if move.state == 'draft' and move.origin and getattr(
                    move.origin, 'origin', None) in sale.lines:
                inventory_moves.setdefault(move.origin.origin, move)
    to_save, to_assign, reservations, short = [], [], [], {}
    for line in sale.lines:
        if line.type != 'line' or not line.product:
            continue
        rows = sorted(pending.get(line, []), key=lambda r: r.id)
        reserved = _round(sum(r.quantity for r in rows))
        shortfall = _round(line.quantity - reserved)
        if shortfall > 0:
            short[line] = shortfall
        move = inventory_moves.get(line)
        if move is None:
            continue
        for index, reservation in enumerate(rows):
            target = move if index == 0 else _split_move(
                move, reservation.quantity)
            target.quantity = reservation.quantity
            target.from_location = reservation.location
            target.lot = reservation.lot
            to_save.append(target)
            to_assign.append(target)
            reservation.move = target
            reservations.append(reservation)
        if shortfall > 0:
            if rows:
                to_save.append(_split_move(move, shortfall))
            else:
                move.quantity = shortfall
                to_save.append(move)
    Move.save(to_save)
    with Transaction().set_context(_stock_reserved=True):
        Move.assign(to_assign)
    Reservation.save(reservations)
    shipments = [s for s in Shipment.browse(sale.shipments)
        if s.state == 'waiting'
        and all(m.state == 'assigned' for m in s.inventory_moves)]
    if shipments:
        with Transaction().set_context(_stock_reserved=True):
            Shipment.assign(shipments)
    return short


def release_pending(sales=None, api_orders=None):
    """Give back the stock of the reservation rows of the sales (or of the
    API orders) that have no move yet: an order cancelled or held before
    its processing."""
    pool = Pool()
    Availability = pool.get('stock.availability')
    Reservation = pool.get('stock.reservation')
    domain = [('state', '=', 'reserved'), ('move', '=', None)]
    if sales is not None:
        domain.append(('sale', 'in', [s.id for s in sales]))
    if api_orders is not None:
        domain.append(('api_order', 'in', [o.id for o in api_orders]))
    reservations = Reservation.search(domain)
    if not reservations:
        return
    deltas = defaultdict(lambda: [0.0, 0.0])
    for r in reservations:
        deltas[(r.product.id, r.location.id, r.lot.id if r.lot else None)][
            1] -= r.quantity
    Availability.apply_deltas(deltas)
    Reservation.write(reservations, {'state': 'released'})
