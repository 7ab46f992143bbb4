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
from collections import defaultdict

from sql import Literal, Null, Union
from sql.aggregate import Min, Sum

from trytond.model import (
    DeactivableMixin, Index, ModelSQL, ModelView, Unique, fields)
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.rpc import RPC
from trytond.transaction import Transaction

from .allocation import Candidate, allocate

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
        received) computed from the stock moves of storage locations."""
        pool = Pool()
        Move = pool.get('stock.move')
        Location = pool.get('stock.location')
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
        union = Union(entering, leaving, assigned, all_=True)
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
            cursor.execute(*table.select(table.id,
                    where=(table.product == product)
                    & (table.location == location) & lot_clause,
                    order_by=[table.id.asc], limit=1))
            row = cursor.fetchone()
            if row:
                cursor.execute(*table.update(
                        [table.on_hand, table.reserved],
                        [table.on_hand + on_hand, table.reserved + reserved],
                        where=table.id == row[0]))
            else:
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
    def candidates(cls, warehouse, product_ids):
        """Return {product: [Candidate]} of the warehouse's storage tree
        in one query (bins with their zone, blocked flag and lot expiry)."""
        result = defaultdict(list)
        for product, _, _, candidate in cls._warehouse_rows(
                warehouse, product_ids, positive=True):
            result[product].append(candidate)
        return result

    @classmethod
    def stock_rows(cls, warehouse, product_ids):
        "Return [(on hand, reserved, Candidate)] of the warehouse"
        return [(o, r, c) for _, o, r, c in cls._warehouse_rows(
                warehouse, product_ids)]

    @classmethod
    def _warehouse_rows(cls, warehouse, product_ids, positive=False):
        pool = Pool()
        Location = pool.get('stock.location')
        Lot = pool.get('stock.lot')
        cursor = Transaction().connection.cursor()
        table = cls.__table__()
        location = Location.__table__()
        lot = Lot.__table__()
        storage = warehouse.storage_location
        where = (table.product.in_(list(product_ids) or [-1])
            & (location.left >= storage.left)
            & (location.right <= storage.right))
        if positive:
            where &= table.on_hand - table.reserved > 0
        query = table.join(location,
            condition=table.location == location.id
            ).join(lot, 'LEFT', condition=table.lot == lot.id
            ).select(
                table.id, table.product, table.location, table.lot,
                table.on_hand, table.reserved, lot.expiration_date,
                table.received, location.zone, location.blocked,
                where=where)
        cursor.execute(*query)
        result = []
        for (id_, product, location_id, lot_id, on_hand, reserved, expiry,
                received, zone, blocked) in cursor:
            if isinstance(expiry, str):
                expiry = dt.date.fromisoformat(expiry)
            if isinstance(received, str):
                received = dt.date.fromisoformat(received)
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

    sale = fields.Many2One('sale.sale', "Sale", required=True,
        readonly=True, ondelete='CASCADE',
        help="The order the stock is promised to.")
    sale_line = fields.Many2One('sale.line', "Sale Line", required=True,
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

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('channel_reference_unique',
                Unique(t, t.channel, t.channel_reference),
                'inventory_flow.msg_sale_channel_reference_unique'),
            ]


def _split_move(move, quantity):
    "Return a new draft move like move for another part of its quantity"
    Move = Pool().get('stock.move')
    return Move(
        from_location=move.from_location, to_location=move.to_location,
        product=move.product, unit=move.unit, quantity=quantity,
        shipment=move.shipment, planned_date=move.planned_date,
        company=move.company, origin=move.origin, state='draft',
        unit_price=move.unit_price, currency=move.currency)


def reserve_sale(sale, channel, today):
    """Allocate and reserve every line of the sale on the warehouse of its
    shipment, write the bins and lots on the shipment's inventory moves and
    assign them.

    Return ({line: reserved quantity}, {line: shortfall}).  With the
    all-or-nothing policy nothing is kept when one line is short: the caller
    must then roll the transaction back.
    """
    pool = Pool()
    Availability = pool.get('stock.availability')
    Reservation = pool.get('stock.reservation')
    Move = pool.get('stock.move')
    Shipment = pool.get('stock.shipment.out')

    lines = [l for l in sale.lines if l.type == 'line' and l.product]
    warehouse = sale.warehouse
    partial = channel.reservation_policy != 'all_or_nothing'
    min_life = dt.timedelta(days=channel.minimum_shelf_life or 0)
    reserved, short = {}, {}
    inventory_moves = {}
    for shipment in sale.shipments:
        for move in shipment.inventory_moves:
            if move.state == 'draft' and move.origin and getattr(
                    move.origin, 'origin', None) in lines:
                inventory_moves[move.origin.origin] = move

    product_ids = {l.product.id for l in lines}
    for attempt in range(3):
        candidates = Availability.candidates(warehouse, product_ids)
        plan = {}
        for line in lines:
            product = line.product
            strategy = ('fefo' if getattr(product, 'expiration_state', 'none')
                not in {None, 'none'} else 'fifo')
            allocation = allocate(
                _round(line.quantity), candidates.get(product.id, []),
                strategy, today=today, min_shelf_life=min_life,
                partial=partial)
            plan[line] = allocation
            # Lines of the same product share the candidates
            taken = dict(allocation.lines)
            candidates[product.id] = [
                c if c.key not in taken else Candidate(
                    c.key, c.location, c.lot,
                    _round(c.available - taken[c.key]), c.expiry,
                    c.received, c.zone, c.blocked)
                for c in candidates.get(product.id, [])]
        if not partial and any(a.shortfall for a in plan.values()):
            return {}, {l: _round(l.quantity) for l in lines}
        # Lock rows in id order: concurrent orders never deadlock
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
            break
        # Someone took the stock between our read and our update: undo and
        # allocate again on fresh figures
        for row_id in done:
            Availability.reserve_row(row_id, -per_row[row_id])
    else:
        plan = {l: type(a)([], _round(l.quantity)) for l, a in plan.items()}
        if not partial:
            return {}, {l: _round(l.quantity) for l in lines}

    keys = Availability.rows(
        {k for a in plan.values() for k, _ in a.lines})
    to_save, to_assign, reservations = [], [], []
    for line, allocation in plan.items():
        reserved[line] = _round(sum(q for _, q in allocation.lines))
        if allocation.shortfall:
            short[line] = _round(allocation.shortfall)
        move = inventory_moves.get(line)
        for index, (key, quantity) in enumerate(allocation.lines):
            product_id, location_id, lot_id = keys[key]
            if move is None:
                target = None
            elif index == 0:
                target = move
            else:
                target = _split_move(move, quantity)
            if target is not None:
                target.quantity = quantity
                target.from_location = location_id
                target.lot = lot_id
                to_save.append(target)
                to_assign.append(target)
            reservations.append(Reservation(
                    sale=sale, sale_line=line, product=product_id,
                    location=location_id, lot=lot_id, quantity=quantity,
                    move=target))
        if move is not None and allocation.shortfall:
            if allocation.lines:
                to_save.append(_split_move(move, allocation.shortfall))
            else:
                move.quantity = allocation.shortfall
                to_save.append(move)
    Move.save(to_save)
    with Transaction().set_context(_stock_reserved=True):
        Move.assign(to_assign)
    Reservation.save(reservations)
    shipments = [s for s in sale.shipments if s.state == 'waiting'
        and all(m.state == 'assigned' for m in s.inventory_moves)]
    if shipments:
        with Transaction().set_context(_stock_reserved=True):
            Shipment.assign(shipments)
    return reserved, short
