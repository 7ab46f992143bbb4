"""Picking a batch: confirming a stop, short picks and their
re-allocation (C3, B5, B4), and the scanner step ``pick`` (D4).

A *stop* is the pending pick tasks of a batch with the lowest route
sequence: one bin, one product, one lot, for one or several orders (totes).
The picker scans the bin, then the product (GS1 with the lot), then types
the quantity taken; the quantity is sorted to the totes in tote order.

A short pick (the bin holds less) keeps what was found on the order's
move, re-allocates the rest from the other bins by the same FEFO/FIFO rule
as the reservation (``inventory_flow.allocation``), reserves it with the
same conditional update, inserts the new stops where they cost the least
walking, and records the find as a count of the bin (``stock.count.task``).
"""
from collections import defaultdict
from http import HTTPStatus

from trytond.exceptions import UserError
from trytond.i18n import gettext
from trytond.modules.inventory_flow.allocation import Candidate, allocate
from trytond.modules.inventory_flow.gs1 import ScanError, parse_scan
from trytond.modules.inventory_flow.scanner import (
    ScanFailure, Step, read_quantity, read_scan, register_step)
from trytond.pool import Pool
from trytond.transaction import Transaction

from . import batching, routing


def _round(value):
    return round(value or 0.0, 6)


def format_quantity(quantity, unit):
    Lang = Pool().get('ir.lang')
    return Lang.get().format_number_symbol(
        unit.round(quantity), unit, digits=unit.digits)


def bin_label(location):
    return location.code or location.rec_name


def current_stop(batch):
    "Return the pending tasks of the next stop of the batch (maybe [])"
    Line = Pool().get('stock.wave.batch.line')
    lines = Line.search([
            ('batch', '=', batch.id),
            ('state', '=', 'pending'),
            ], order=[('sequence', 'ASC'), ('tote', 'ASC'), ('id', 'ASC')])
    if not lines:
        return []
    first = lines[0]
    key = (first.sequence, first.location, first.product, first.lot)
    return [l for l in lines
        if (l.sequence, l.location, l.product, l.lot) == key]


def check_open(batch):
    if batch.state != 'open':
        raise UserError(gettext('inventory_wave.msg_batch_closed',
                batch=batch.rec_name))
    if batch.wave.state != 'released':
        raise UserError(gettext('inventory_wave.msg_batch_not_released',
                batch=batch.rec_name, wave=batch.wave.rec_name))


def confirm_stop(lines, quantity):
    """Confirm that ``quantity`` (unit of the tasks) was taken at the stop
    of ``lines``; sort it to the totes in tote order; re-allocate any
    shortage.  Return a dict with ``totes`` [(tote, quantity)], ``short``
    (quantity missing), ``reallocated``, ``unfilled`` and
    ``completed`` (shipments whose totes are complete)."""
    pool = Pool()
    Line = pool.get('stock.wave.batch.line')
    if not lines:
        raise UserError(gettext('inventory_wave.msg_pick_nothing'))
    batch = lines[0].batch
    check_open(batch)
    for line in lines:
        if line.state != 'pending':
            raise UserError(gettext('inventory_wave.msg_pick_not_pending',
                    product=line.product.rec_name,
                    bin=bin_label(line.location)))
    unit = lines[0].unit
    expected = _round(sum(l.quantity for l in lines))
    quantity = _round(quantity)
    if quantity < 0 or quantity > expected + 1e-9:
        raise UserError(gettext('inventory_wave.msg_pick_too_many',
                quantity=format_quantity(quantity, unit),
                expected=format_quantity(expected, unit),
                product=lines[0].product.rec_name))
    remaining = quantity
    picked, shorts, totes = [], [], []
    for line in lines:
        take = _round(min(remaining, line.quantity))
        remaining = _round(remaining - take)
        if take:
            totes.append((line.tote, take))
        if take >= line.quantity - 1e-9:
            picked.append(line)
        else:
            shorts.append((line, take))
    if picked:
        to_write = []
        for line in picked:
            to_write.extend([[line], {
                        'state': 'picked',
                        'picked_quantity': line.quantity}])
        Line.write(*to_write)
    result = {'totes': totes, 'short': _round(expected - quantity),
        'reallocated': 0.0, 'unfilled': 0.0, 'completed': []}
    if shorts:
        reallocated, unfilled = short_pick(shorts, quantity)
        result['reallocated'] = reallocated
        result['unfilled'] = unfilled
    result['completed'] = complete(batch)
    return result


def short_pick(shorts, found):
    """Handle the tasks ``shorts`` [(line, quantity taken)] of one stop;
    ``found`` is what the picker took in all.  Return (quantity
    re-allocated, quantity left unfilled) in the unit of the tasks."""
    pool = Pool()
    Line = pool.get('stock.wave.batch.line')
    Move = pool.get('stock.move')
    Reservation = pool.get('stock.reservation')
    Availability = pool.get('stock.availability')
    CountTask = pool.get('stock.count.task')
    Uom = pool.get('product.uom')
    Date = pool.get('ir.date')

    first = shorts[0][0]
    batch = first.batch
    warehouse = batch.wave.warehouse
    product, location, lot = first.product, first.location, first.lot
    unit = first.unit
    with Transaction().set_context(company=first.shipment.company.id):
        today = Date.today()

    # The picker's find answers "does the bin hold what the book says?":
    # recorded as a count of the bin (B4); beyond tolerance it is recounted
    CountTask.record_answer(location, product, lot,
        Uom.compute_qty(unit, found, product.default_uom, round=False),
        'short_pick', origin=first, company=first.shipment.company)

    moves = Move.browse([line.move.id for line, _ in shorts if line.move])
    move_of = {m.id: m for m in moves}
    reservations = {r.move.id: r for r in Reservation.search([
                ('move', 'in', [m.id for m in moves]),
                ('state', '=', 'reserved'),
                ])}
    # Back to draft releases the reservation of the bin; what was found
    # is reserved again on the same move
    Move.draft(moves)
    for line, take in shorts:
        if line.move:
            move_of[line.move.id].quantity = take
    Move.save(moves)
    kept = [m for m in moves if m.quantity]
    Move.assign(kept)
    Reservation.save([_reservation(reservations[m.id], m)
            for m in kept if m.id in reservations])
    to_write = []
    for line, take in shorts:
        to_write.extend([[line], {'state': 'short', 'picked_quantity': take}])
    Line.write(*to_write)

    strategy = ('fefo' if getattr(product, 'expiration_state', 'none')
        not in {None, 'none'} else 'fifo')
    candidates = [c for c in Availability.candidates(
            warehouse, [product.id]).get(product.id, [])
        if c.location != location.id]
    new_moves, new_lines, origins = [], [], []
    reallocated = unfilled = 0.0
    for line, take in shorts:
        rest = _round(line.quantity - take)
        internal = Uom.compute_qty(unit, rest, product.default_uom,
            round=False)
        if internal <= 0:
            continue
        allocation = allocate(_round(internal), candidates, strategy,
            today=today, partial=True)
        taken = {}
        for key, quantity in allocation.lines:
            if Availability.reserve_row(key, quantity):
                taken[key] = quantity
        candidates = [c if c.key not in taken else Candidate(
                c.key, c.location, c.lot, _round(c.available - taken[c.key]),
                c.expiry, c.received, c.zone, c.blocked) for c in candidates]
        keys = Availability.rows(taken)
        got = 0.0
        for key, quantity in taken.items():
            _, location_id, lot_id = keys[key]
            move = line.move
            new_moves.append(Move(
                    from_location=location_id, to_location=move.to_location,
                    product=product, unit=product.default_uom,
                    quantity=quantity, lot=lot_id, shipment=move.shipment,
                    planned_date=move.planned_date, company=move.company,
                    origin=move.origin, state='draft',
                    unit_price=move.unit_price, currency=move.currency))
            origins.append((line, location_id, lot_id, quantity))
            got += quantity
        got_unit = Uom.compute_qty(product.default_uom, got, unit,
            round=False)
        reallocated += got_unit
        unfilled += max(rest - got_unit, 0)
    if new_moves:
        Move.save(new_moves)
        with Transaction().set_context(_stock_reserved=True):
            Move.assign(new_moves)
        Reservation.save([_reservation(reservations[line.move.id], m)
                for (line, *_), m in zip(origins, new_moves)
                if line.move.id in reservations])
        for (line, location_id, lot_id, quantity), move in zip(
                origins, new_moves):
            new_lines.append(Line(
                    batch=batch, location=location_id, product=product,
                    lot=lot_id, quantity=quantity, unit=product.default_uom,
                    tote=line.tote, shipment=line.shipment, move=move,
                    state='pending', sequence=line.sequence))
        Line.save(new_lines)
        resequence(batch, new_lines)
    return _round(reallocated), _round(unfilled)


def _reservation(old, move):
    Reservation = Pool().get('stock.reservation')
    return Reservation(
        api_order=old.api_order, line=old.line,
        sale=old.sale, sale_line=old.sale_line, product=move.product,
        location=move.from_location, lot=move.lot,
        quantity=move.internal_quantity, move=move)


def resequence(batch, new_lines):
    """Give the new tasks a stop: an existing pending stop of the same
    bin, product and lot, or the cheapest insertion into the rest of the
    route; then number the stops 1, 2, … again (one write)."""
    Line = Pool().get('stock.wave.batch.line')
    layout, spot = batch.wave.warehouse.pick_layout()
    layout = routing.parse_layout(layout)
    lines = Line.search([('batch', '=', batch.id)],
        order=[('sequence', 'ASC'), ('id', 'ASC')])
    new_ids = {l.id for l in new_lines}

    def key(line):
        return (line.location.id, line.product.id,
            line.lot.id if line.lot else None)

    order = []  # stop keys in route order
    for line in lines:
        if line.id in new_ids:
            continue
        if not order or order[-1] != (line.sequence, key(line)):
            order.append((line.sequence, key(line)))
    stops = [k for _, k in order]
    done_count = 0
    pending_keys = {key(l) for l in lines
        if l.state == 'pending' and l.id not in new_ids}
    for k in stops:
        if k in pending_keys:
            break
        done_count += 1
    locations = {l.location.id: l.location for l in lines}
    for line in new_lines:
        k = key(line)
        if k in stops[done_count:]:
            continue
        rest = stops[done_count:]
        current = stops[done_count - 1] if done_count else None
        path = ([current] if current else []) + rest

        def spot_of(stop_key):
            loc = locations[stop_key[0]]
            return spot(loc.aisle or 0, loc.position or 1)
        if not path:
            stops.append(k)
            continue
        where = batching.cheapest_insertion(
            layout, [spot_of(s) for s in path], spot_of(k))
        offset = done_count - (1 if current else 0)
        stops.insert(offset + where + 1, k)
    rank = {k: n for n, k in enumerate(stops, 1)}
    by_sequence = defaultdict(list)
    for line in lines:
        k = key(line)
        if line.state == 'pending' or line.id in new_ids:
            sequence = rank[k]
        else:
            sequence = rank.get(k, line.sequence)
        if sequence != line.sequence:
            by_sequence[sequence].append(line)
    args = []
    for sequence, records in by_sequence.items():
        args.extend([records, {'sequence': sequence}])
    if args:
        Line.write(*args)


def complete(batch):
    """Pick the shipments of the batch whose totes are complete, close
    the batch when nothing is pending and the wave when every batch is
    closed.  Return the shipments picked."""
    pool = Pool()
    Line = pool.get('stock.wave.batch.line')
    Batch = pool.get('stock.wave.batch')
    Shipment = pool.get('stock.shipment.out')
    Wave = pool.get('stock.wave')
    lines = Line.search([('batch', '=', batch.id)])
    pending = {l.shipment.id for l in lines if l.state == 'pending'}
    shipments = {l.shipment for l in lines if l.shipment.id not in pending}
    to_pick = [s for s in shipments if s.state == 'assigned']
    if to_pick:
        Shipment.pick(to_pick)
    if not pending:
        batch = Batch(batch.id)
        Batch.write([batch], {'state': 'done'})
        wave = batch.wave
        if all(b.state != 'open' for b in Wave(wave.id).batches):
            Wave.do([wave])
    return to_pick


# --- the scanner step ------------------------------------------------------

def open_batches():
    Batch = Pool().get('stock.wave.batch')
    return Batch.search([
            ('state', '=', 'open'),
            ('wave.state', '=', 'released'),
            ['OR',
                ('picker', '=', None),
                ('picker', '=', Transaction().user)],
            ], limit=10)


@register_step
class PickStep(Step):
    """Pick a batch by scan: scan the pick list (or choose an open
    batch), then at each stop the bin, the product (GS1 with lot) and the
    quantity.  State: ``batch`` id and ``phase`` (``bin``, ``product`` or
    ``quantity``)."""
    name = 'pick'
    title = 'inventory_wave.msg_step_pick'
    sequence = 30

    def start(self, message=None, level='info'):
        actions = [{'value': b.code,
                'label': f'{b.rec_name} · {len(b.lines)}'}
            for b in open_batches()]
        return self.screen({}, gettext('inventory_wave.msg_prompt_batch'),
            message, level, actions=actions)

    def scan(self, state, value):
        Batch = Pool().get('stock.wave.batch')
        value = (value or '').strip()
        if value == '__cancel__':
            return self.start(), False
        if not state.get('batch'):
            return self._open(value)
        batch = Batch(int(state['batch']))
        check_open(batch)
        user = Transaction().user
        if batch.picker and user and batch.picker.id != user:
            raise ScanFailure('taken', gettext(
                    'inventory_wave.msg_batch_taken', batch=batch.rec_name,
                    picker=batch.picker.rec_name), HTTPStatus.CONFLICT)
        lines = current_stop(batch)
        if not lines:
            return self.start(), False
        phase = state.get('phase', 'bin')
        if phase == 'bin':
            return self._bin(batch, lines, value), False
        if phase == 'product':
            return self._product(batch, lines, value), False
        return self._quantity(batch, lines, value), True

    def _open(self, value):
        Batch = Pool().get('stock.wave.batch')
        batches = Batch.search([('code', '=', value)], limit=1)
        if not batches or batches[0].state != 'open':
            raise ScanFailure('unknown_batch', gettext(
                    'inventory_wave.msg_batch_unknown', value=value),
                HTTPStatus.NOT_FOUND)
        batch, = batches
        check_open(batch)
        user = Transaction().user
        if batch.picker and batch.picker.id != user:
            raise ScanFailure('taken', gettext(
                    'inventory_wave.msg_batch_taken', batch=batch.rec_name,
                    picker=batch.picker.rec_name), HTTPStatus.CONFLICT)
        changed = False
        if not batch.picker and user:
            Batch.write([batch], {'picker': user})
            changed = True
        message = gettext('inventory_wave.msg_batch_opened',
            batch=batch.rec_name, stops=len({l.sequence
                    for l in batch.lines if l.state == 'pending'}),
            distance=round(batch.distance or 0))
        return self._stop(batch, 'bin', message, 'success'), changed

    def _bin(self, batch, lines, value):
        location = lines[0].location
        if value not in {location.barcode, location.code}:
            raise ScanFailure('wrong_bin', gettext(
                    'inventory_wave.msg_wrong_bin', scanned=value,
                    bin=bin_label(location)))
        return self._stop(batch, 'product')

    def _product(self, batch, lines, value):
        line = lines[0]
        scan = read_scan(value)
        gtin = getattr(line.product, 'gtin', None)
        if scan.kind == 'text' or not gtin or scan.gtin.lstrip('0') != (
                gtin.lstrip('0')):
            raise ScanFailure('wrong_product', gettext(
                    'inventory_wave.msg_wrong_product',
                    scanned=scan.gtin if scan.kind != 'text' else scan.text,
                    bin=bin_label(line.location),
                    product=line.product.rec_name))
        if line.lot:
            lot = scan.lot or scan.serial
            if not lot:
                raise ScanFailure('lot_missing', gettext(
                        'inventory_wave.msg_lot_missing',
                        lot=line.lot.number, product=line.product.rec_name))
            if lot != line.lot.number:
                raise ScanFailure('wrong_lot', gettext(
                        'inventory_wave.msg_wrong_lot', scanned=lot,
                        lot=line.lot.number, product=line.product.rec_name))
        return self._stop(batch, 'quantity')

    def _quantity(self, batch, lines, value):
        unit = lines[0].unit
        try:
            parse_scan(value)
            is_code = parse_scan(value).kind != 'text'
        except ScanError:
            is_code = False
        if is_code:
            raise ScanFailure('expected_quantity', gettext(
                    'inventory_wave.msg_prompt_pick_quantity',
                    product=lines[0].product.rec_name,
                    quantity=format_quantity(
                        sum(l.quantity for l in lines), unit)))
        quantity = float(read_quantity(value, unit.digits))
        result = confirm_stop(lines, quantity)
        messages = [gettext('inventory_wave.msg_picked',
                quantity=format_quantity(quantity, unit),
                product=lines[0].product.rec_name,
                totes=', '.join(gettext('inventory_wave.msg_tote_quantity',
                        tote=t, quantity=format_quantity(q, unit))
                    for t, q in result['totes']) or '-')]
        level = 'success'
        if result['short']:
            level = 'warning'
            messages.append(gettext('inventory_wave.msg_short_pick',
                    bin=bin_label(lines[0].location),
                    found=format_quantity(quantity, unit),
                    expected=format_quantity(
                        sum(l.quantity for l in lines), unit),
                    reallocated=format_quantity(
                        result['reallocated'], unit)))
            if result['unfilled']:
                messages.append(gettext('inventory_wave.msg_short_unfilled',
                        quantity=format_quantity(result['unfilled'], unit),
                        product=lines[0].product.rec_name))
        if result['completed']:
            Line = Pool().get('stock.wave.batch.line')
            totes = sorted({l.tote for l in Line.search([
                            ('batch', '=', batch.id),
                            ('shipment', 'in',
                                [s.id for s in result['completed']]),
                            ])})
            messages.append(gettext('inventory_wave.msg_totes_complete',
                    totes=', '.join(map(str, totes))))
        batch = Pool().get('stock.wave.batch')(batch.id)
        if batch.state != 'open':
            messages.append(gettext('inventory_wave.msg_batch_done',
                    batch=batch.rec_name))
            screen = self.start(' '.join(messages), level)
            screen['done'] = True
            return screen
        return self._stop(batch, 'bin', ' '.join(messages), level)

    def _stop(self, batch, phase, message=None, level='info'):
        lines = current_stop(batch)
        if not lines:
            return self.start(message, level)
        first = lines[0]
        unit = first.unit
        quantity = sum(l.quantity for l in lines)
        product = first.product.rec_name
        if phase == 'bin':
            prompt = gettext('inventory_wave.msg_prompt_bin',
                bin=bin_label(first.location))
            input_ = 'scan'
        elif phase == 'product':
            if first.lot:
                prompt = gettext('inventory_wave.msg_prompt_pick_item_lot',
                    product=product, lot=first.lot.number)
            else:
                prompt = gettext('inventory_wave.msg_prompt_pick_item',
                    product=product)
            input_ = 'scan'
        else:
            prompt = gettext('inventory_wave.msg_prompt_pick_quantity',
                product=product, quantity=format_quantity(quantity, unit))
            input_ = 'quantity'
        screen = self.screen(
            {'batch': batch.id, 'phase': phase}, prompt, message, level,
            lines=[{
                    'product': gettext('inventory_wave.msg_tote',
                        tote=l.tote),
                    'expected': format_quantity(l.quantity, unit),
                    'counted': '',
                    'status': 'pending',
                    'status_label': l.shipment.rec_name,
                    } for l in lines],
            actions=[{'value': '__cancel__',
                    'label': gettext('inventory_flow.msg_action_cancel')}],
            input=input_)
        screen['header'] = ' · '.join(filter(None, [
                    batch.rec_name, batch.cart,
                    gettext('inventory_wave.msg_stop', stop=first.sequence),
                    bin_label(first.location), product,
                    first.lot.number if first.lot else None,
                    format_quantity(quantity, unit)]))
        screen['stop'] = {
            'sequence': first.sequence,
            'bin': bin_label(first.location),
            'product': product,
            'lot': first.lot.number if first.lot else None,
            'quantity': quantity,
            'totes': [[l.tote, l.quantity] for l in lines],
            }
        return screen


__all__ = ['PickStep', 'confirm_stop', 'short_pick', 'complete',
    'current_stop']
