"""Internal moves by scan and pick-face replenishment (B3).

A *move order* is Tryton's internal shipment (``stock.shipment.internal``)
inside one warehouse whose moves name the product, lot, quantity, source
bin and target bin.  The operator confirms each line on the scanner (the
``move`` step): source bin, product, quantity, target bin; the line's move
is done at once.  Ad-hoc moves (no prepared order) are for warehouse
managers: the step creates a one-line order and does it.

A move may only take what the source bin holds that is not promised to an
order: the line is first reserved on the derived ``stock.availability`` row
with the same conditional UPDATE as an order reservation (``on_hand -
reserved >= q``), then assigned and done, so that a move racing an order on
the same bin can never oversell and the availability rows stay equal to
the ledger (architecture rule 3).

Pick faces (``stock.pick_face``) carry a minimum and a maximum per bin and
product; :meth:`PickFace.replenish` (cron, button, wave hook) proposes a
draft move order from reserve for every face under its minimum, FEFO/FIFO
by ``replenishment.propose``.  See ``docs/moves.md``.
"""
from collections import defaultdict
from http import HTTPStatus

from sql import Null

from trytond.exceptions import UserError
from trytond.i18n import gettext
from trytond.model import (
    DeactivableMixin, ModelSQL, ModelView, Unique, fields)
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval, If
from trytond.transaction import Transaction

from .replenishment import Face, propose
from .reservation import _round, _strategy
from .scanner import (
    ScanFailure, Step, _bin_label, _format_quantity,
    product_by_gtin, read_quantity, read_scan, register_step)

#: The states of an open move order (the scanner offers them)
OPEN_STATES = ('draft', 'waiting', 'assigned')
#: Zones a move may not take stock from, nor put stock into
FORBIDDEN_ZONES = frozenset({'quarantine'})


class MoveRefused(ScanFailure):
    """A move refused, on the scanner or not: ``code`` for the client, the
    message for the user; nothing was written."""


class PickFace(DeactivableMixin, ModelSQL, ModelView):
    "Pick Face"
    __name__ = 'stock.pick_face'
    __string__ = "Pick Face"

    company = fields.Many2One('company.company', "Company", required=True,
        help="The company that owns the stock.")
    location = fields.Many2One('stock.location', "Bin", required=True,
        ondelete='CASCADE',
        domain=[('type', '=', 'storage'), ('zone', '=', 'pick')],
        help="The pick-face bin pickers take the product from.")
    warehouse = fields.Function(fields.Many2One('stock.location',
            "Warehouse", help="The warehouse of the bin."),
        'on_change_with_warehouse')
    product = fields.Many2One('product.product', "Product", required=True,
        ondelete='CASCADE', domain=[('type', '=', 'goods')],
        context={'company': Eval('company', -1)}, depends={'company'},
        help="The product the pick face holds.")
    unit = fields.Function(fields.Many2One('product.uom', "Unit",
            help="The default unit of the product."),
        'on_change_with_unit')
    minimum = fields.Float("Minimum", required=True,
        digits='unit', domain=[('minimum', '>=', 0)],
        help="Under this quantity left for new orders (on hand minus "
        "reserved) a replenishment from reserve is proposed.")
    maximum = fields.Float("Maximum", required=True,
        digits='unit', domain=[('maximum', '>=', Eval('minimum', 0))],
        help="The quantity a replenishment brings the pick face back to.")
    on_hand = fields.Function(fields.Float("On Hand", digits='unit',
            help="The quantity in the bin according to the done moves."),
        'get_quantities')
    reserved = fields.Function(fields.Float("Reserved", digits='unit',
            help="The quantity in the bin promised to orders."),
        'get_quantities')
    open_order = fields.Function(fields.Many2One(
            'stock.shipment.internal', "Open Replenishment",
            help="The replenishment move order proposed and not done yet; "
            "no other is proposed while it is open."),
        'get_open_order')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('location_product_unique', Unique(t, t.location, t.product),
                'inventory_flow.msg_pick_face_unique'),
            ]
        cls._order = [('location', 'ASC'), ('product', 'ASC'), ('id', 'ASC')]
        cls._buttons.update({
                'propose': {
                    'invisible': ~Eval('active', True),
                    'depends': ['active'],
                    },
                })

    @staticmethod
    def default_company():
        return Transaction().context.get('company')

    @fields.depends('location')
    def on_change_with_warehouse(self, name=None):
        return self.location.warehouse if self.location else None

    @fields.depends('product')
    def on_change_with_unit(self, name=None):
        return self.product.default_uom if self.product else None

    def get_rec_name(self, name):
        return f'{_bin_label(self.location)} · {self.product.rec_name}'

    @classmethod
    def _bin_quantities(cls, faces):
        "Return {(location, product): (on hand, reserved)} in one query"
        Availability = Pool().get('stock.availability')
        table = Availability.__table__()
        cursor = Transaction().connection.cursor()
        result = defaultdict(lambda: [0.0, 0.0])
        locations = list({f.location.id for f in faces})
        products = list({f.product.id for f in faces})
        if not faces:
            return result
        cursor.execute(*table.select(
                table.location, table.product,
                table.on_hand, table.reserved,
                where=table.location.in_(locations)
                & table.product.in_(products)))
        for location, product, on_hand, reserved in cursor:
            result[location, product][0] += on_hand or 0
            result[location, product][1] += reserved or 0
        return result

    @classmethod
    def get_quantities(cls, faces, names):
        quantities = cls._bin_quantities(faces)
        result = {n: {} for n in names}
        for face in faces:
            on_hand, reserved = quantities.get(
                (face.location.id, face.product.id), (0, 0))
            if 'on_hand' in result:
                result['on_hand'][face.id] = _round(on_hand)
            if 'reserved' in result:
                result['reserved'][face.id] = _round(reserved)
        return result

    @classmethod
    def _open_orders(cls, faces):
        Shipment = Pool().get('stock.shipment.internal')
        shipments = Shipment.search([
                ('pick_face', 'in', [f.id for f in faces]),
                ('state', 'in', list(OPEN_STATES)),
                ], order=[('id', 'ASC')])
        return {s.pick_face.id: s for s in shipments}

    @classmethod
    def get_open_order(cls, faces, name):
        orders = cls._open_orders(faces)
        return {f.id: orders[f.id].id if f.id in orders else None
            for f in faces}

    @classmethod
    def validate_fields(cls, faces, field_names):
        super().validate_fields(faces, field_names)
        for face in faces:
            if face.maximum < face.minimum:
                raise UserError(gettext(
                        'inventory_flow.msg_pick_face_maximum',
                        face=face.rec_name, minimum=face.minimum,
                        maximum=face.maximum))

    @classmethod
    @ModelView.button
    def propose(cls, faces):
        "Propose a replenishment now for the faces under their minimum"
        cls.replenish(faces)

    @classmethod
    def replenish_all(cls):
        "Evaluate every active pick face (run by ir.cron)"
        return cls.replenish(cls.search([]))

    @classmethod
    def replenish_for_shipments(cls, shipments):
        """Evaluate the pick faces of the products the customer shipments
        (e.g. of a released wave) still need: the quantities of their
        inventory moves not assigned yet are the demand on the first face
        of each product in the shipment's warehouse.  Return the move
        orders created."""
        pool = Pool()
        Uom = pool.get('product.uom')
        demand = defaultdict(float)
        for shipment in shipments:
            for move in getattr(shipment, 'inventory_moves', []):
                if move.state not in {'draft', 'staging'}:
                    continue
                demand[shipment.warehouse.id, move.product.id] += (
                    Uom.compute_qty(move.unit, move.quantity,
                        move.product.default_uom, round=False))
        if not demand:
            return []
        faces = cls.search([
                ('product', 'in', list({p for _, p in demand})),
                ], order=[('location', 'ASC'), ('id', 'ASC')])
        by_face, seen = {}, set()
        for face in faces:
            key = (face.location.warehouse.id if face.location.warehouse
                else None, face.product.id)
            if key in demand and key not in seen:
                seen.add(key)
                by_face[face.id] = demand[key]
        chosen = [f for f in faces if f.id in by_face]
        return cls.replenish(chosen, demand=by_face)

    @classmethod
    def replenish(cls, faces, demand=None):
        """Propose a draft move order from reserve for every face under its
        minimum that has no open replenishment yet; ``demand`` maps a face
        id to what a wave needs from it beyond the reserved picks.  Return
        the move orders created."""
        pool = Pool()
        Availability = pool.get('stock.availability')
        Date = pool.get('ir.date')
        Shipment = pool.get('stock.shipment.internal')
        demand = demand or {}
        open_orders = cls._open_orders(faces)
        faces = [f for f in faces if f.active and f.id not in open_orders]
        quantities = cls._bin_quantities(faces)
        by_warehouse = defaultdict(list)
        for face in faces:
            if face.location.warehouse:
                by_warehouse[face.location.warehouse].append(face)
        to_create = []
        for warehouse, w_faces in by_warehouse.items():
            with Transaction().set_context(company=w_faces[0].company.id):
                today = Date.today()
            products = {f.product.id: f.product for f in w_faces}
            candidates = Availability.candidates(warehouse, list(products))
            rules = []
            for face in w_faces:
                on_hand, reserved = quantities.get(
                    (face.location.id, face.product.id), (0, 0))
                rules.append(Face(
                        face.id, face.product.id, face.minimum, face.maximum,
                        _round(on_hand), _round(reserved),
                        _round(demand.get(face.id, 0)),
                        location=face.location.id))
            strategies = {p: _strategy(products[p]) for p in products}
            faces_by_id = {f.id: f for f in w_faces}
            for proposal in propose(rules, candidates, strategies, today):
                if not proposal.lines:
                    continue
                face = faces_by_id[proposal.face]
                unit = face.product.default_uom
                storage = warehouse.storage_location
                to_create.append({
                        'company': face.company.id,
                        'from_location': storage.id,
                        'to_location': storage.id,
                        'planned_date': today,
                        'planned_start_date': today,
                        'pick_face': face.id,
                        'moves': [('create', [{
                                        'product': face.product.id,
                                        'unit': unit.id,
                                        'quantity': unit.round(quantity),
                                        'lot': candidate.lot,
                                        'from_location': candidate.location,
                                        'to_location': face.location.id,
                                        'planned_date': today,
                                        'company': face.company.id,
                                        } for candidate, quantity
                                    in proposal.lines])],
                        })
        if not to_create:
            return []
        shipments = Shipment.create(to_create)
        Shipment.set_number(shipments)
        return shipments


class ShipmentInternal(metaclass=PoolMeta):
    __name__ = 'stock.shipment.internal'

    pick_face = fields.Many2One('stock.pick_face', "Replenishment of",
        readonly=True, ondelete='SET NULL',
        help="The pick face this move order replenishes from reserve.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        # A move order names its bins from the start: a draft's moves may
        # run between any bins under the shipment's locations
        bins = [
            ('from_location', 'child_of', [Eval('from_location', -1)],
                'parent'),
            ('to_location', 'child_of', [Eval('to_location', -1)],
                'parent'),
            ]
        domain = list(cls.moves.domain)
        first = domain[0]
        if isinstance(first, If):
            domain[0] = If(Eval('state').in_(['request', 'draft']), bins,
                first._else_statement)
            cls.moves.domain = domain

    @classmethod
    def draft(cls, shipments):
        # Tryton resets the moves to the shipment's locations: keep the
        # bins of a move order (same warehouse, no transit)
        Move = Pool().get('stock.move')
        keep = defaultdict(list)
        for shipment in shipments:
            if shipment.transit_location or shipment.state == 'draft':
                continue
            for move in shipment.moves:
                if move.state not in {'done', 'staging'}:
                    keep[move.from_location.id, move.to_location.id].append(
                        move)
        super().draft(shipments)
        to_write = []
        for (from_, to), moves in keep.items():
            to_write.extend([moves, {'from_location': from_,
                        'to_location': to}])
        if to_write:
            Move.write(*to_write)

    def pending_moves(self):
        "The moves of the order still to do, by source bin"
        return sorted(
            (m for m in self.moves if m.state in {'draft', 'assigned'}),
            key=lambda m: (m.from_location.code or '', m.id))

    @classmethod
    def finish_if_complete(cls, shipments):
        "Do the orders whose lines are all done (or cancelled)"
        complete = [s for s in cls.browse(shipments)
            if s.state in OPEN_STATES and s.moves
            and all(m.state in {'done', 'cancelled'} for m in s.moves)]
        if not complete:
            return []
        drafts = [s for s in complete if s.state == 'draft']
        if drafts:
            cls.wait(drafts)
        waiting = [s for s in cls.browse(complete) if s.state == 'waiting']
        if waiting:
            cls.assign(waiting)
        cls.do(cls.browse(complete))
        return complete


# --- doing one line -------------------------------------------------------

def free_quantity(product, location, lot):
    """On hand minus reserved of product in the bin (lot or all lots when
    lot is None), in the default unit, from the availability rows."""
    Availability = Pool().get('stock.availability')
    table = Availability.__table__()
    cursor = Transaction().connection.cursor()
    where = (table.product == product.id) & (table.location == location.id)
    if lot is not False:
        where &= (table.lot == lot.id) if lot else (table.lot == Null)
    cursor.execute(*table.select(table.on_hand, table.reserved, where=where))
    on_hand = reserved = 0.0
    for o, r in cursor:
        on_hand += o or 0
        reserved += r or 0
    return _round(on_hand), _round(reserved)


def check_source(location):
    if location.zone in FORBIDDEN_ZONES:
        raise MoveRefused('quarantine', gettext(
                'inventory_flow.msg_move_source_quarantine',
                bin=_bin_label(location)))


def check_target(location, source=None):
    if location.type != 'storage':
        raise MoveRefused('not_bin', gettext(
                'inventory_flow.msg_move_target_not_bin',
                bin=_bin_label(location)))
    if location.blocked:
        raise MoveRefused('blocked', gettext(
                'inventory_flow.msg_move_target_blocked',
                bin=_bin_label(location)))
    if location.zone in FORBIDDEN_ZONES:
        raise MoveRefused('quarantine', gettext(
                'inventory_flow.msg_move_target_quarantine',
                bin=_bin_label(location)))
    if source is not None and location == source:
        raise MoveRefused('same_bin', gettext(
                'inventory_flow.msg_move_same_bin',
                bin=_bin_label(location)))


def check_quantity(move, quantity):
    """Refuse a quantity over the line or over what the bin holds for
    moves (on hand minus reserved; the line's own reservation counts)."""
    Uom = Pool().get('product.uom')
    product = move.product
    if quantity is None or quantity <= 0:
        raise MoveRefused('quantity_positive', gettext(
                'inventory_flow.msg_move_quantity_positive',
                quantity=quantity))
    if move.id and move.id > 0 and move.unit.round(quantity) > move.quantity:
        raise MoveRefused('quantity_over_line', gettext(
                'inventory_flow.msg_move_quantity_over_line',
                quantity=_format_quantity(quantity, move.unit),
                line=_format_quantity(move.quantity, move.unit),
                product=product.rec_name))
    internal = Uom.compute_qty(move.unit, quantity, product.default_uom,
        round=False)
    on_hand, reserved = free_quantity(product, move.from_location, move.lot)
    own = (move.internal_quantity or 0) if move.state == 'assigned' else 0
    free = _round(on_hand - reserved + own)
    if _round(internal) > free:
        unit = product.default_uom
        if _round(internal) > on_hand:
            raise MoveRefused('quantity_over_bin', gettext(
                    'inventory_flow.msg_move_quantity_over_bin',
                    quantity=_format_quantity(internal, unit),
                    product=product.rec_name, bin=_bin_label(
                        move.from_location),
                    on_hand=_format_quantity(on_hand, unit)))
        raise MoveRefused('reserved', gettext(
                'inventory_flow.msg_move_reserved',
                quantity=_format_quantity(internal, unit),
                product=product.rec_name,
                bin=_bin_label(move.from_location),
                on_hand=_format_quantity(on_hand, unit),
                reserved=_format_quantity(reserved - own, unit),
                free=_format_quantity(max(free, 0), unit)))
    return internal


def _reserve_source(move, internal):
    """Take ``internal`` (default unit) of the move's source rows with the
    conditional UPDATE of the reservations; refuse when a concurrent order
    took the stock between the check and the write."""
    Availability = Pool().get('stock.availability')
    table = Availability.__table__()
    cursor = Transaction().connection.cursor()
    lot = move.lot
    cursor.execute(*table.select(table.id, table.on_hand - table.reserved,
            where=(table.product == move.product.id)
            & (table.location == move.from_location.id)
            & ((table.lot == lot.id) if lot else (table.lot == Null)),
            order_by=[table.id.asc]))
    remaining = _round(internal)
    taken = []
    for row_id, available in cursor.fetchall():
        if remaining <= 0:
            break
        quantity = _round(min(available or 0, remaining))
        if quantity <= 0:
            continue
        if Availability.reserve_row(row_id, quantity):
            taken.append((row_id, quantity))
            remaining = _round(remaining - quantity)
    if remaining > 0:
        for row_id, quantity in taken:
            Availability.reserve_row(row_id, -quantity)
        raise MoveRefused('reserved', gettext(
                'inventory_flow.msg_move_taken_concurrently',
                product=move.product.rec_name,
                bin=_bin_label(move.from_location)),
            HTTPStatus.CONFLICT)


def execute_move(move, quantity, target=None):
    """Do ``quantity`` (in the move's unit) of the draft or assigned move
    now, into ``target`` (must be the move's target bin when given).  A
    smaller quantity splits the line: the rest stays to do.  Every check
    runs before any write; return the done move."""
    pool = Pool()
    Move = pool.get('stock.move')
    Shipment = pool.get('stock.shipment.internal')
    if move.state not in {'draft', 'assigned'}:
        raise MoveRefused('line_done', gettext(
                'inventory_flow.msg_move_line_done',
                product=move.product.rec_name))
    check_source(move.from_location)
    if target is not None and target != move.to_location:
        raise MoveRefused('wrong_target', gettext(
                'inventory_flow.msg_move_wrong_target',
                scanned=_bin_label(target), bin=_bin_label(move.to_location)))
    check_target(move.to_location, move.from_location)
    quantity = move.unit.round(quantity)
    internal = check_quantity(move, quantity)
    if move.state == 'assigned':
        # Its reservation is given back and taken again for the quantity
        # moved: the same row, still locked by this transaction
        Move.draft([move])
        move = Move(move.id)
    if quantity < move.quantity:
        rest, = Move.copy([move], default={'quantity': move.quantity
                - quantity, 'shipment': str(move.shipment)
                if move.shipment else None})
        move.quantity = quantity
        move.save()
    _reserve_source(move, internal)
    with Transaction().set_context(_stock_reserved=True):
        Move.assign([move])
    Move.do([move])
    if move.shipment and move.shipment.__name__ == Shipment.__name__:
        shipment = move.shipment
        if shipment.state == 'draft':
            Shipment.wait([shipment])
            # wait() resets the other lines to draft: nothing else to do
        Shipment.finish_if_complete([shipment])
    return Move(move.id)


def create_adhoc_move(source, target, product, lot, quantity):
    """Create and do a one-line move order (managers' ad-hoc move); every
    check runs before anything is written."""
    pool = Pool()
    Move = pool.get('stock.move')
    Shipment = pool.get('stock.shipment.internal')
    check_manager()
    warehouse = source.warehouse
    if not warehouse or target.warehouse != warehouse:
        raise MoveRefused('other_warehouse', gettext(
                'inventory_flow.msg_move_other_warehouse',
                source=_bin_label(source), target=_bin_label(target)))
    check_source(source)
    check_target(target, source)
    company = Transaction().context.get('company')
    probe = Move(product=product, unit=product.default_uom,
        quantity=quantity, lot=lot, from_location=source, to_location=target,
        state='draft', internal_quantity=quantity)
    check_quantity(probe, quantity)
    storage = warehouse.storage_location
    shipment, = Shipment.create([{
                'company': company,
                'from_location': storage.id,
                'to_location': storage.id,
                'moves': [('create', [{
                                'product': product.id,
                                'unit': product.default_uom.id,
                                'quantity': quantity,
                                'lot': lot.id if lot else None,
                                'from_location': source.id,
                                'to_location': target.id,
                                'company': company,
                                }])],
                }])
    move, = shipment.moves
    return execute_move(move, quantity, target)


# --- the scanner step -----------------------------------------------------

def check_manager():
    "Refuse an ad-hoc move to a user outside the warehouse manager group"
    from .receiving import is_manager
    if not is_manager():
        raise MoveRefused('adhoc_forbidden', gettext(
                'inventory_flow.msg_move_adhoc_forbidden'),
            HTTPStatus.FORBIDDEN)


def scanned_product(source, value):
    "Return the GS1 scan and the product scanned in the source bin"
    scan = read_scan(value)
    if scan.kind == 'text':
        raise MoveRefused('expected_item', gettext(
                'inventory_flow.msg_prompt_move_product',
                bin=_bin_label(source)))
    return scan, product_by_gtin(scan.gtin)


def find_bin(text):
    "Return the bin of a scanned barcode or code, or refuse"
    Location = Pool().get('stock.location')
    locations = Location.search([
            ('barcode', '=', text), ('zone', '!=', None)], limit=1)
    if not locations:
        locations = Location.search([
                ('code', '=', text), ('type', '=', 'storage')], limit=1)
    if not locations:
        raise ScanFailure('unknown_bin', gettext(
                'inventory_flow.msg_move_unknown_bin', value=text),
            HTTPStatus.NOT_FOUND)
    return locations[0]


def open_move_orders(limit=8):
    "The open move orders an operator may do, oldest first"
    Shipment = Pool().get('stock.shipment.internal')
    return Shipment.search([
            ('state', 'in', list(OPEN_STATES)),
            ('number', '!=', None),
            ('internal_transit_location', '=', None),
            ('moves.state', 'in', ['draft', 'assigned']),
            ], order=[('planned_date', 'ASC NULLS LAST'), ('id', 'ASC')],
        limit=limit)


def _line_label(move):
    return ' · '.join(filter(None, [
                move.product.rec_name, move.lot.number if move.lot else None,
                f'{_bin_label(move.from_location)} → '
                f'{_bin_label(move.to_location)}']))


@register_step
class MoveStep(Step):
    """Move stock between bins by scan: open a move order (its number or
    one of the buttons), then for each line scan the source bin, the
    product (GTIN or GS1 with lot and quantity), the quantity and the
    target bin: the line is done at once.  A manager may instead scan a
    bin to start an ad-hoc move.  State: ``order`` (or ``adhoc``),
    ``phase`` (source, product, quantity, target), ``source``, ``move``,
    ``product``, ``lot``, ``quantity``."""
    name = 'move'
    title = 'inventory_flow.msg_step_move'
    sequence = 25

    def start(self, message=None, level='info'):
        from .receiving import is_manager
        actions = [{'value': s.number, 'label': ' · '.join(filter(None, [
                            s.number, s.reference or (
                                '→ ' + _bin_label(s.pick_face.location)
                                if s.pick_face else None),
                            str(len(s.pending_moves()))]))}
            for s in open_move_orders()]
        if is_manager():
            actions.append({'value': '__adhoc__',
                    'label': gettext('inventory_flow.msg_action_adhoc')})
        return self.screen({}, gettext('inventory_flow.msg_prompt_move_order'),
            message, level, actions=actions)

    def scan(self, state, value):
        value = (value or '').strip() if isinstance(value, str) else value
        if value == '__cancel__':
            return self.start(), False
        if state.get('order'):
            return self._order_scan(state, value)
        if state.get('adhoc'):
            return self._adhoc_scan(state, value)
        return self._open(value), False

    # -- opening -----------------------------------------------------------

    def _open(self, value):
        Shipment = Pool().get('stock.shipment.internal')
        if value == '__adhoc__':
            check_manager()
            return self._adhoc_screen({'adhoc': True, 'phase': 'source'})
        orders = Shipment.search([('number', '=', value)], limit=1)
        if orders:
            order, = orders
            if order.state not in OPEN_STATES or not order.pending_moves():
                raise MoveRefused('order_closed', gettext(
                        'inventory_flow.msg_move_order_closed',
                        order=order.rec_name), HTTPStatus.CONFLICT)
            return self._order_screen(order, {'order': order.id,
                    'phase': 'source'}, gettext(
                    'inventory_flow.msg_move_order_opened',
                    order=order.rec_name,
                    lines=len(order.pending_moves())), 'success')
        Location = Pool().get('stock.location')
        if Location.search([('barcode', '=', value), ('zone', '!=', None)],
                limit=1):
            # A bin scanned without an order: an ad-hoc move
            check_manager()
            return self._adhoc_scan({'adhoc': True, 'phase': 'source'},
                value)[0]
        raise MoveRefused('unknown_order', gettext(
                'inventory_flow.msg_move_unknown_order', value=value),
            HTTPStatus.NOT_FOUND)

    # -- a move order ------------------------------------------------------

    def _order_scan(self, state, value):
        pool = Pool()
        Shipment = pool.get('stock.shipment.internal')
        Move = pool.get('stock.move')
        Location = pool.get('stock.location')
        order = Shipment(int(state['order']))
        pending = order.pending_moves()
        if order.state not in OPEN_STATES or not pending:
            raise MoveRefused('order_closed', gettext(
                    'inventory_flow.msg_move_order_closed',
                    order=order.rec_name), HTTPStatus.CONFLICT)
        phase = state.get('phase', 'source')
        if phase == 'source':
            location = find_bin(value)
            check_source(location)
            if not any(m.from_location == location for m in pending):
                raise MoveRefused('wrong_bin', gettext(
                        'inventory_flow.msg_move_wrong_source',
                        scanned=_bin_label(location), order=order.rec_name,
                        bin=_bin_label(pending[0].from_location)))
            return self._order_screen(order, dict(state, phase='product',
                    source=location.id)), False
        source = Location(int(state['source']))
        if phase == 'product':
            scan, product = scanned_product(source, value)
            lines = [m for m in pending
                if m.from_location == source and m.product == product]
            if not lines:
                raise MoveRefused('not_on_order', gettext(
                        'inventory_flow.msg_move_not_on_order',
                        product=product.rec_name, order=order.rec_name,
                        bin=_bin_label(source)))
            if scan.lot or scan.serial:
                number = scan.lot or scan.serial
                matching = [m for m in lines if m.lot and m.lot.number == number]
                if not matching:
                    raise MoveRefused('wrong_lot', gettext(
                            'inventory_flow.msg_move_wrong_lot',
                            lot=number, product=product.rec_name,
                            expected=', '.join(sorted({m.lot.number
                                        for m in lines if m.lot})) or '-'))
                lines = matching
            move = lines[0]
            new = dict(state, phase='quantity', move=move.id)
            if scan.quantity is not None:
                quantity = move.unit.round(float(scan.quantity))
                check_quantity(move, quantity)
                new.update(phase='target', quantity=str(quantity))
            return self._order_screen(order, new), False
        move = Move(int(state['move']))
        if move.shipment != order or move.state not in {'draft', 'assigned'}:
            raise MoveRefused('line_done', gettext(
                    'inventory_flow.msg_move_line_done',
                    product=move.product.rec_name), HTTPStatus.CONFLICT)
        if phase == 'quantity':
            quantity = move.unit.round(float(
                    read_quantity(value, move.unit.digits)))
            check_quantity(move, quantity)
            return self._order_screen(order, dict(state, phase='target',
                    quantity=str(quantity))), False
        # phase == 'target'
        target = find_bin(value)
        quantity = float(state['quantity'])
        done = execute_move(move, quantity, target)
        message = gettext('inventory_flow.msg_move_done',
            quantity=_format_quantity(done.quantity, done.unit),
            product=done.product.rec_name,
            source=_bin_label(done.from_location),
            target=_bin_label(done.to_location))
        order = Shipment(order.id)
        if order.state == 'done' or not order.pending_moves():
            return self.start(message + ' ' + gettext(
                    'inventory_flow.msg_move_order_done',
                    order=order.rec_name), 'success'), True
        return self._order_screen(order, {'order': order.id,
                'phase': 'source'}, message, 'success'), True

    def _order_screen(self, order, state, message=None, level='info'):
        pool = Pool()
        Move = pool.get('stock.move')
        pending = order.pending_moves()
        phase = state.get('phase', 'source')
        move = Move(int(state['move'])) if state.get('move') else None
        input_ = 'scan'
        if phase == 'source':
            prompt = gettext('inventory_flow.msg_prompt_move_source',
                bin=_bin_label(pending[0].from_location))
        elif phase == 'product':
            source = pool.get('stock.location')(int(state['source']))
            prompt = gettext('inventory_flow.msg_prompt_move_product',
                bin=_bin_label(source))
        elif phase == 'quantity':
            prompt = gettext('inventory_flow.msg_prompt_move_quantity',
                product=move.product.rec_name,
                quantity=_format_quantity(move.quantity, move.unit))
            input_ = 'quantity'
        else:
            prompt = gettext('inventory_flow.msg_prompt_move_target',
                quantity=_format_quantity(float(state['quantity']),
                    move.unit),
                product=move.product.rec_name,
                bin=_bin_label(move.to_location))
        lines = [{'product': _line_label(m),
                'status': 'current' if move and m == move else 'pending',
                'status_label': _format_quantity(m.quantity, m.unit)}
            for m in pending]
        screen = self.screen(state, prompt, message, level, lines,
            [{'value': '__cancel__',
                    'label': gettext('inventory_flow.msg_action_cancel')}],
            input_)
        screen['header'] = order.rec_name
        return screen

    # -- an ad-hoc move ----------------------------------------------------

    def _adhoc_scan(self, state, value):
        pool = Pool()
        Location = pool.get('stock.location')
        Product = pool.get('product.product')
        Lot = pool.get('stock.lot')
        check_manager()
        phase = state.get('phase', 'source')
        if phase == 'source':
            location = find_bin(value)
            check_source(location)
            return self._adhoc_screen(dict(state, phase='product',
                    source=location.id)), False
        source = Location(int(state['source']))
        if phase == 'product':
            scan, product = scanned_product(source, value)
            on_hand, _ = free_quantity(product, source, False)
            if on_hand <= 0:
                raise MoveRefused('not_in_bin', gettext(
                        'inventory_flow.msg_move_not_in_bin',
                        product=product.rec_name, bin=_bin_label(source)))
            lot = None
            number = scan.lot or scan.serial
            if number:
                lots = Lot.search([('product', '=', product.id),
                        ('number', '=', number)], limit=1)
                if not lots or free_quantity(
                        product, source, lots[0])[0] <= 0:
                    raise MoveRefused('not_in_bin', gettext(
                            'inventory_flow.msg_move_lot_not_in_bin',
                            lot=number, product=product.rec_name,
                            bin=_bin_label(source)))
                lot, = lots
            else:
                lots = self._lots_in_bin(product, source)
                if len(lots) > 1:
                    raise MoveRefused('lot_needed', gettext(
                            'inventory_flow.msg_move_lot_needed',
                            product=product.rec_name, bin=_bin_label(source),
                            lots=', '.join(l.number for l in lots)))
                lot = lots[0] if lots else None
            new = dict(state, phase='quantity', product=product.id,
                lot=lot.id if lot else None)
            if scan.quantity is not None:
                quantity = product.default_uom.round(float(scan.quantity))
                self._check_adhoc_quantity(source, product, lot, quantity)
                new.update(phase='target', quantity=str(quantity))
            return self._adhoc_screen(new), False
        product = Product(int(state['product']))
        lot = Lot(int(state['lot'])) if state.get('lot') else None
        if phase == 'quantity':
            quantity = product.default_uom.round(float(
                    read_quantity(value, product.default_uom.digits)))
            self._check_adhoc_quantity(source, product, lot, quantity)
            return self._adhoc_screen(dict(state, phase='target',
                    quantity=str(quantity))), False
        target = find_bin(value)
        done = create_adhoc_move(
            source, target, product, lot, float(state['quantity']))
        message = gettext('inventory_flow.msg_move_done',
            quantity=_format_quantity(done.quantity, done.unit),
            product=product.rec_name, source=_bin_label(source),
            target=_bin_label(target))
        return self._adhoc_screen({'adhoc': True, 'phase': 'source'},
            message, 'success'), True

    def _lots_in_bin(self, product, location):
        Availability = Pool().get('stock.availability')
        rows = Availability.search([
                ('product', '=', product.id),
                ('location', '=', location.id),
                ('on_hand', '>', 0),
                ])
        return sorted({r.lot for r in rows if r.lot}, key=lambda l: l.id)

    def _check_adhoc_quantity(self, source, product, lot, quantity):
        Move = Pool().get('stock.move')
        probe = Move(product=product, unit=product.default_uom,
            quantity=quantity, lot=lot, from_location=source,
            state='draft', internal_quantity=quantity)
        check_quantity(probe, quantity)

    def _adhoc_screen(self, state, message=None, level='info'):
        pool = Pool()
        phase = state.get('phase', 'source')
        input_ = 'scan'
        header = gettext('inventory_flow.msg_move_adhoc_header')
        if phase == 'source':
            prompt = gettext('inventory_flow.msg_prompt_adhoc_source')
        else:
            source = pool.get('stock.location')(int(state['source']))
            header += ' · ' + _bin_label(source)
            if phase == 'product':
                prompt = gettext('inventory_flow.msg_prompt_move_product',
                    bin=_bin_label(source))
            else:
                product = pool.get('product.product')(int(state['product']))
                lot = (pool.get('stock.lot')(int(state['lot']))
                    if state.get('lot') else None)
                on_hand, reserved = free_quantity(product, source, lot)
                if phase == 'quantity':
                    prompt = gettext(
                        'inventory_flow.msg_prompt_adhoc_quantity',
                        product=product.rec_name,
                        free=_format_quantity(max(on_hand - reserved, 0),
                            product.default_uom))
                    input_ = 'quantity'
                else:
                    prompt = gettext('inventory_flow.msg_prompt_adhoc_target',
                        quantity=_format_quantity(float(state['quantity']),
                            product.default_uom),
                        product=product.rec_name)
        screen = self.screen(state, prompt, message, level, [],
            [{'value': '__cancel__',
                    'label': gettext('inventory_flow.msg_action_cancel')}],
            input_)
        screen['header'] = header
        return screen


__all__ = ['PickFace', 'ShipmentInternal', 'MoveStep', 'execute_move',
    'create_adhoc_move']
