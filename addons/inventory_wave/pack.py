"""Pack verification (C4): the pack station checks every item of a picked
order against its moves, packs it in one or more packages
(``stock.package``), logs every verification event and reports the order
accuracy; the scanner step ``pack`` drives it (D4).

The station opens a shipment by its tote, its number or its order
reference; each scan of an item (GTIN or GS1 with the lot) must be a
product and lot of the shipment with units still to pack, else it is
refused at once with the reason.  "New package" asks the weight of the
current package and opens the next one; when the last unit is scanned the
weight of the last package is asked and the shipment is packed by
Tryton's ``pack`` transition, the moves split over the packages.
"""
import datetime as dt
import re
from collections import defaultdict
from decimal import Decimal, InvalidOperation
from http import HTTPStatus

from sql import Literal, Null
from sql.aggregate import Count, Max, Min, Sum
from sql.conditionals import Case
from sql.functions import DateTrunc

from trytond.exceptions import UserError
from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, fields
from trytond.modules.inventory_flow.gs1 import ScanError, parse_scan
from trytond.model.exceptions import AccessError
from trytond.modules.inventory_flow.scanner import (
    ScanFailure, Step, error_response, register_step)
from trytond.protocols.wrappers import (
    Response, with_pool, with_transaction)
from trytond.pool import Pool, PoolMeta
from trytond.rpc import RPC
from trytond.transaction import Transaction, without_check_access
from trytond.wsgi import app

from .pick import format_quantity

#: Refusals that are order errors caught at packing (wrong item, wrong lot,
#: one too many); a malformed scan is an operator's slip, not an order error
ORDER_ERRORS = ('wrong_item', 'wrong_lot', 'lot_missing', 'over_pack')
#: A scale's output: an optional status prefix, a number, an optional unit
SCALE = re.compile(
    r'^\s*(?:[A-Z]{2},){0,2}\s*\+?\s*(\d+(?:[.,]\d+)?)\s*(kg|g|lb)?\s*$',
    re.IGNORECASE)
_round = lambda value: round(value or 0.0, 6)  # noqa: E731


class PackEvent(ModelSQL, ModelView):
    "Pack Verification Event"
    __name__ = 'stock.pack.event'

    shipment = fields.Many2One('stock.shipment.out', "Shipment",
        required=True, readonly=True, ondelete='CASCADE',
        help="The customer shipment being packed.")
    user = fields.Many2One('res.user', "User", readonly=True,
        help="The packer who scanned.")
    date = fields.Timestamp("Date", required=True, readonly=True,
        help="When the scan was verified.")
    scanned = fields.Char("Scanned", readonly=True,
        help="The value scanned or typed.")
    result = fields.Selection([
            ('ok', "Accepted"),
            ('refused', "Refused"),
            ('packed', "Order Packed"),
            ], "Result", required=True, readonly=True,
        help="Whether the scan was accepted; \"Order Packed\" marks the "
        "completion of the order.")
    code = fields.Char("Reason Code", readonly=True,
        help="The machine code of the refusal, e.g. wrong_item.")
    reason = fields.Char("Reason", readonly=True,
        help="Why the scan was refused, as the packer read it.")
    product = fields.Many2One('product.product', "Product", readonly=True,
        help="The product scanned.")
    lot = fields.Many2One('stock.lot', "Lot", readonly=True,
        help="The lot scanned.")
    move = fields.Many2One('stock.move', "Move", readonly=True,
        ondelete='SET NULL', help="The outgoing move the unit counts for.")
    quantity = fields.Float("Quantity", readonly=True,
        help="The units the accepted scan counts.")
    package = fields.Many2One('stock.package', "Package", readonly=True,
        ondelete='SET NULL', help="The package the unit was put in.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order.insert(0, ('date', 'DESC'))
        cls._order.insert(1, ('id', 'DESC'))

    @staticmethod
    def default_date():
        return dt.datetime.now()

    @staticmethod
    def default_user():
        return Transaction().user or None

    @classmethod
    def log_refusal(cls, shipment, scanned, code, reason):
        """Record a refused scan in its own transaction: the refusal rolls
        back the scan's transaction, the log of it stays."""
        with Transaction().new_transaction() as transaction:
            cls.create([{
                        'shipment': shipment.id, 'scanned': scanned,
                        'result': 'refused', 'code': code,
                        'reason': reason,
                        'user': transaction.user or None,
                        }])


class PackAccuracyContext(ModelView):
    "Pack Accuracy Context"
    __name__ = 'stock.pack.accuracy.context'

    from_date = fields.Date("From Date",
        help="The first day of the period.")
    to_date = fields.Date("To Date",
        help="The last day of the period.")

    @classmethod
    def default_from_date(cls):
        return Pool().get('ir.date').today() - dt.timedelta(days=30)

    @classmethod
    def default_to_date(cls):
        return Pool().get('ir.date').today()


class PackAccuracy(ModelSQL, ModelView):
    "Order Accuracy at Packing"
    __name__ = 'stock.pack.accuracy'

    date = fields.Date("Date", help="The day the orders were packed.")
    orders = fields.Integer("Orders Packed",
        help="The orders packed that day.")
    orders_with_errors = fields.Integer("Orders with Errors",
        help="The orders in which packing caught at least one error.")
    errors = fields.Integer("Errors Caught",
        help="Wrong items, wrong lots and units too many refused at "
        "packing.")
    accuracy = fields.Function(fields.Float("Accuracy (%)", digits=(5, 2),
            help="The share of orders picked without error; the target "
            "is 99.9 %."), 'get_accuracy')
    target_met = fields.Function(fields.Boolean("Target Met",
            help="Whether the accuracy reaches the 99.9 % target."),
        'get_accuracy')

    TARGET = 99.9

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order.insert(0, ('date', 'DESC'))

    @classmethod
    def table_query(cls):
        "One row a day: a subquery by shipment, then grouped by day"
        Event = Pool().get('stock.pack.event')
        context = Transaction().context
        event = Event.__table__()
        error = Case(((event.result == 'refused')
                & event.code.in_(ORDER_ERRORS), Literal(1)), else_=Literal(0))
        packed = Case((event.result == 'packed', event.date), else_=Null)
        by_shipment = event.select(
            event.shipment.as_('shipment'),
            Max(packed).as_('packed'),
            Sum(error).as_('errors'),
            group_by=[event.shipment])
        day = cls.date.sql_cast(DateTrunc('day', by_shipment.packed))
        where = by_shipment.packed != Null
        if context.get('from_date'):
            where &= day >= context['from_date']
        if context.get('to_date'):
            where &= day <= context['to_date']
        # the day is a column of its own before grouping: PostgreSQL does
        # not match DATE_TRUNC(%s, …) in GROUP BY with the one selected
        by_day = by_shipment.select(
            by_shipment.shipment.as_('shipment'),
            day.as_('date'),
            by_shipment.errors.as_('errors'),
            where=where)
        return by_day.select(
            Min(by_day.shipment).as_('id'),
            by_day.date.as_('date'),
            Count(by_day.shipment).as_('orders'),
            # PostgreSQL sums integers as numeric: back to integers
            cls.orders_with_errors.sql_cast(
                Sum(Case((by_day.errors > 0, Literal(1)),
                        else_=Literal(0)))).as_('orders_with_errors'),
            cls.errors.sql_cast(Sum(by_day.errors)).as_('errors'),
            group_by=[by_day.date])

    @classmethod
    def get_accuracy(cls, rows, names):
        result = {n: {} for n in names}
        for row in rows:
            accuracy = (100.0 * (row.orders - (row.orders_with_errors or 0))
                / row.orders) if row.orders else None
            if 'accuracy' in names:
                result['accuracy'][row.id] = (
                    round(accuracy, 2) if accuracy is not None else None)
            if 'target_met' in names:
                result['target_met'][row.id] = (
                    accuracy is not None and accuracy >= cls.TARGET - 1e-9)
        return result


class Package(metaclass=PoolMeta):
    __name__ = 'stock.package'

    gross_weight = fields.Float("Gross Weight (kg)", digits=(16, 3),
        domain=['OR', ('gross_weight', '=', None),
            ('gross_weight', '>', 0)],
        help="The weight of the packed package, typed or read from the "
        "scale at the pack station.")
    sscc = fields.Char("SSCC", readonly=True, size=18,
        help="The Serial Shipping Container Code of the package (AI 00), "
        "printed on its carrier label.")


class ShipmentOut(metaclass=PoolMeta):
    __name__ = 'stock.shipment.out'

    pack_events = fields.One2Many('stock.pack.event', 'shipment',
        "Pack Events", readonly=True,
        help="Every scan verified at the pack station.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__rpc__.update({
                'pack_scan': RPC(readonly=False, instantiate=0),
                'pack_new_package': RPC(readonly=False, instantiate=0),
                'pack_weigh': RPC(readonly=False, instantiate=0),
                })

    @classmethod
    def pack_scan(cls, shipments, value):
        "Verify one scan for each shipment (RPC); return the results"
        return [verify_item(s, value) for s in shipments]

    @classmethod
    def pack_new_package(cls, shipments, box_type=None):
        "Open a new package of box_type (id) on each shipment (RPC)"
        Type = Pool().get('stock.package.type')
        return [new_package(s, Type(box_type) if box_type else None).id
            for s in shipments]

    @classmethod
    def pack_weigh(cls, shipments, value):
        """Record the weight of the current package of each shipment (RPC);
        pack those whose items are all scanned"""
        return [weigh(s, value) for s in shipments]


# --- the verification ------------------------------------------------------

def refuse(shipment, scanned, code, message,
        status=HTTPStatus.UNPROCESSABLE_ENTITY):
    "Log the refusal and raise it"
    Pool().get('stock.pack.event').log_refusal(
        shipment, scanned, code, message)
    raise ScanFailure(code, message, status)


def check_packable(shipment):
    if shipment.state != 'picked':
        raise ScanFailure('not_picked', gettext(
                'inventory_wave.msg_pack_not_picked',
                shipment=shipment.rec_name,
                state=dict(shipment.fields_get(['state'])['state'][
                        'selection']).get(shipment.state, shipment.state)))


def expected_lines(shipment):
    """Return {(product id, lot id): [moves]} of the outgoing moves to
    pack, and the quantities already scanned {(product, lot): quantity}
    (one query on the events)."""
    Event = Pool().get('stock.pack.event')
    lines = defaultdict(list)
    for move in shipment.outgoing_moves:
        if move.state == 'cancelled' or not move.quantity:
            continue
        lines[(move.product.id, move.lot.id if move.lot else None)].append(
            move)
    scanned = defaultdict(float)
    for event in Event.search([
                ('shipment', '=', shipment.id), ('result', '=', 'ok')]):
        scanned[(event.product.id, event.lot.id if event.lot else None)] += (
            event.quantity or 0)
    return lines, scanned


def current_package(shipment):
    "The open (not yet weighed) package of the shipment, or None"
    Package = Pool().get('stock.package')
    packages = Package.search([
            ('shipment', '=', str(shipment)),
            ('gross_weight', '=', None),
            ], order=[('id', 'DESC')], limit=1)
    return packages[0] if packages else None


def default_box_type():
    Type = Pool().get('stock.package.type')
    types = Type.search([], order=[('id', 'ASC')], limit=1)
    if not types:
        raise ScanFailure('no_box_type', gettext(
                'inventory_wave.msg_pack_no_box_type'))
    return types[0]


def new_package(shipment, box_type=None):
    """Open a package on the shipment; the current package must be weighed
    first (it is closed by its weight)."""
    Package = Pool().get('stock.package')
    check_packable(shipment)
    package = current_package(shipment)
    if package and package_count(package):
        raise ScanFailure('weigh_first', gettext(
                'inventory_wave.msg_pack_weigh_first',
                package=package.rec_name))
    if package:
        if box_type and package.type != box_type:
            package.type = box_type
            package.save()
        return package
    package = Package(shipment=shipment, company=shipment.company,
        type=box_type or default_box_type())
    package.on_change_type()
    package.save()
    return package


def package_count(package):
    Event = Pool().get('stock.pack.event')
    return len(Event.search([
                ('package', '=', package.id), ('result', '=', 'ok')]))


def verify_item(shipment, value):
    """Verify the scan of one unit of the shipment; log it; return a dict
    with ``product``, ``lot``, ``packed`` / ``expected`` of that line and
    ``complete`` (every line scanned in full).  A wrong item, a wrong or
    missing lot, one unit too many or a malformed scan is refused (logged,
    then :class:`ScanFailure`)."""
    pool = Pool()
    Event = pool.get('stock.pack.event')
    Product = pool.get('product.product')
    check_packable(shipment)
    value = (value or '').strip()
    try:
        scan = parse_scan(value)
    except ScanError as error:
        refuse(shipment, value, error.code, gettext(
                'inventory_flow.msg_scan_%s' % error.code,
                value=error.value))
    if scan.kind == 'text':
        refuse(shipment, value, 'expected_item', gettext(
                'inventory_wave.msg_pack_expected_item', value=value))
    lines, scanned = expected_lines(shipment)
    products = {p for p, _ in lines}
    matching = [p for p in Product.browse(list(products))
        if (p.gtin or '').lstrip('0') == scan.gtin.lstrip('0')]
    if not matching:
        others = Product.search([('gtin', '=', scan.gtin)], limit=1)
        name = others[0].rec_name if others else scan.gtin
        refuse(shipment, value, 'wrong_item', gettext(
                'inventory_wave.msg_pack_wrong_item', product=name,
                shipment=shipment.rec_name))
    product = matching[0]
    lots = {lot: moves for (p, lot), moves in lines.items()
        if p == product.id}
    lot_number = scan.lot or scan.serial
    lot_id = None
    if any(lots):
        numbers = {m.lot.number: m.lot.id for ms in lots.values()
            for m in ms if m.lot}
        if not lot_number:
            refuse(shipment, value, 'lot_missing', gettext(
                    'inventory_wave.msg_pack_lot_missing',
                    product=product.rec_name,
                    lots=', '.join(sorted(numbers))))
        if lot_number not in numbers:
            refuse(shipment, value, 'wrong_lot', gettext(
                    'inventory_wave.msg_pack_wrong_lot', lot=lot_number,
                    product=product.rec_name,
                    lots=', '.join(sorted(numbers))))
        lot_id = numbers[lot_number]
    key = (product.id, lot_id)
    moves = lots[lot_id]
    unit = moves[0].unit
    expected = _round(sum(m.quantity for m in moves))
    quantity = float(scan.quantity) if scan.quantity else 1.0
    if _round(scanned[key] + quantity) > expected + 1e-9:
        refuse(shipment, value, 'over_pack', gettext(
                'inventory_wave.msg_pack_over', product=product.rec_name,
                packed=format_quantity(scanned[key], unit),
                expected=format_quantity(expected, unit)))
    package = new_package(shipment) if not current_package(
        shipment) else current_package(shipment)
    # The unit counts for the first move of the line with room left
    done, move = scanned[key], moves[-1]
    for candidate in moves:
        if done < candidate.quantity - 1e-9:
            move = candidate
            break
        done -= candidate.quantity
    Event.create([{
                'shipment': shipment.id, 'scanned': value, 'result': 'ok',
                'product': product.id, 'lot': lot_id, 'move': move.id,
                'quantity': quantity, 'package': package.id,
                }])
    scanned[key] += quantity
    complete = all(_round(scanned[k]) >= _round(sum(m.quantity for m in ms))
        for k, ms in lines.items())
    return {
        'product': product.rec_name,
        'lot': lot_number if lot_id else None,
        'packed': _round(scanned[key]),
        'expected': expected,
        'unit': unit.symbol,
        'packed_text': format_quantity(scanned[key], unit),
        'expected_text': format_quantity(expected, unit),
        'complete': complete,
        'package': package.rec_name,
        }


def parse_weight(value):
    """Return the weight in kg of a typed value or a scale's output
    ("2.5", "2,5 kg", "ST,GS,+0002.50kg", "750 g"); raise ValueError if
    it is not a positive number."""
    match = SCALE.match(value or '')
    if not match:
        raise ValueError(value)
    try:
        number = Decimal(match.group(1).replace(',', '.'))
    except InvalidOperation:
        raise ValueError(value)
    unit = (match.group(2) or 'kg').lower()
    factor = {'kg': Decimal(1), 'g': Decimal('0.001'),
        'lb': Decimal('0.45359237')}[unit]
    weight = float(number * factor)
    if weight <= 0:
        raise ValueError(value)
    return round(weight, 3)


def weigh(shipment, value):
    """Record the weight (kg) of the current package, which closes it;
    when every line is scanned in full, pack the shipment.  Return
    ``packed`` (bool) and the ``package`` number."""
    check_packable(shipment)
    package = current_package(shipment)
    if not package or not package_count(package):
        raise ScanFailure('package_empty', gettext(
                'inventory_wave.msg_pack_package_empty'))
    try:
        weight = parse_weight(value)
    except ValueError:
        raise ScanFailure('bad_weight', gettext(
                'inventory_wave.msg_pack_bad_weight', value=value))
    package.gross_weight = weight
    package.save()
    lines, scanned = expected_lines(shipment)
    complete = all(_round(scanned[k]) >= _round(sum(m.quantity for m in ms))
        for k, ms in lines.items())
    if complete:
        finish(shipment)
    return {'packed': complete, 'package': package.rec_name,
        'weight': weight}


def finish(shipment):
    """Put the moves in their packages (a move whose units went in
    several packages is split), give each package its SSCC and pack the
    shipment by Tryton's transition."""
    pool = Pool()
    Move = pool.get('stock.move')
    Event = pool.get('stock.pack.event')
    Package = pool.get('stock.package')
    Shipment = pool.get('stock.shipment.out')
    Configuration = pool.get('stock.configuration')
    events = Event.search([
            ('shipment', '=', shipment.id), ('result', '=', 'ok')],
        order=[('id', 'ASC')])
    split = defaultdict(lambda: defaultdict(float))
    for event in events:
        split[event.move][event.package] += event.quantity
    to_write = []
    for move, packages in split.items():
        (first, quantity), *others = packages.items()
        to_write.extend([[move], {'package': first.id,
                    'quantity': _round(quantity)}])
        for package, quantity in others:
            Move.copy([move], {'package': package.id,
                    'quantity': _round(quantity)})
    if to_write:
        Move.write(*to_write)
    configuration = Configuration(1)
    packages = Package.search([('shipment', '=', str(shipment))],
        order=[('id', 'ASC')])
    for package in packages:
        if not package.sscc:
            package.sscc = configuration.next_sscc(shipment.company)
    Package.save(packages)
    # Tryton's own Pack button is for managers only (pack.xml): an operator
    # packs here, once every unit is verified
    with without_check_access():
        Shipment.pack([shipment])
    Event.create([{'shipment': shipment.id, 'result': 'packed',
                'scanned': shipment.number}])


class Configuration(metaclass=PoolMeta):
    __name__ = 'stock.configuration'

    gs1_company_prefix = fields.Char("GS1 Company Prefix",
        help="The company prefix GS1 assigned to the company (6 to 12 "
        "digits), the start of the SSCC of every package.")
    sscc_extension_digit = fields.Integer("SSCC Extension Digit",
        domain=['OR', ('sscc_extension_digit', '=', None),
            [('sscc_extension_digit', '>=', 0),
                ('sscc_extension_digit', '<=', 9)]],
        help="The first digit of the SSCC (0 to 9), chosen by the "
        "company to widen its serial range.")
    @classmethod
    def default_gs1_company_prefix(cls):
        return '0614141'

    @classmethod
    def default_sscc_extension_digit(cls):
        return 0

    def next_sscc(self, company=None):
        "Return a new SSCC-18 from the prefix and the sequence"
        pool = Pool()
        ModelData = pool.get('ir.model.data')
        Sequence = pool.get('ir.sequence')
        from . import labels
        sequence = Sequence(ModelData.get_id(
                'inventory_wave', 'sequence_sscc'))
        prefix = self.gs1_company_prefix or '0614141'
        try:
            return labels.sscc(prefix, int(sequence.get()),
                self.sscc_extension_digit or 0)
        except labels.LabelError as error:
            raise UserError(gettext('inventory_wave.msg_sscc_invalid',
                    field=error.code, value=error.value))


# --- the scanner step ------------------------------------------------------

#: A tote label: "T7", "TOTE-7", "Tote 7"
TOTE = re.compile(r'^(?:TOTE[- ]?|T)(\d{1,6})$', re.IGNORECASE)


def find_shipment(value):
    """The shipment of a tote label ("T7", "TOTE-7"), a shipment number,
    an order reference or a sale number; a bare number that is no
    shipment number is taken as a tote.  Among the shipments of a tote,
    the latest picked one."""
    pool = Pool()
    Shipment = pool.get('stock.shipment.out')
    Line = pool.get('stock.wave.batch.line')
    Sale = pool.get('sale.sale')

    def tote(number):
        lines = Line.search([
                ('tote', '=', int(number)),
                ('shipment.state', '=', 'picked'),
                ], order=[('id', 'DESC')], limit=1)
        return lines[0].shipment if lines else None

    match = TOTE.match(value)
    if match and (shipment := tote(match.group(1))):
        return shipment
    shipments = Shipment.search(['OR',
            ('number', '=', value),
            ('reference', '=', value),
            ], order=[('id', 'DESC')], limit=1)
    if shipments:
        return shipments[0]
    if value.isdigit() and (shipment := tote(value)):
        return shipment
    for sale in Sale.search(['OR', ('number', '=', value),
                ('reference', '=', value)], limit=1):
        shipments = sorted(sale.shipments, key=lambda s: s.state != 'picked')
        if shipments:
            return shipments[0]
    raise ScanFailure('unknown_order', gettext(
            'inventory_wave.msg_pack_unknown_order', value=value),
        HTTPStatus.NOT_FOUND)


@register_step
class PackStep(Step):
    """Pack an order by scan: scan its tote or number, then every item; the
    commands "new package" and the box types, and the weight of each
    package.  State: ``shipment`` id and ``phase`` (``items`` or
    ``weight``)."""
    name = 'pack'
    title = 'inventory_wave.msg_step_pack'
    sequence = 40

    def start(self, message=None, level='info'):
        Shipment = Pool().get('stock.shipment.out')
        actions = [{'value': s.number, 'label': s.rec_name}
            for s in Shipment.search([('state', '=', 'picked')],
                order=[('id', 'ASC')], limit=8)]
        return self.screen({}, gettext('inventory_wave.msg_prompt_pack_order'),
            message, level, actions=actions)

    def scan(self, state, value):
        Shipment = Pool().get('stock.shipment.out')
        Type = Pool().get('stock.package.type')
        value = (value or '').strip()
        if value == '__cancel__':
            return self.start(), False
        if not state.get('shipment'):
            shipment = find_shipment(value)
            check_packable(shipment)
            return self._items(shipment, gettext(
                    'inventory_wave.msg_pack_opened',
                    shipment=shipment.rec_name), 'success'), False
        shipment = Shipment(int(state['shipment']))
        check_packable(shipment)
        if state.get('phase') == 'weight':
            result = weigh(shipment, value)
            if result['packed']:
                return self._packed(shipment), True
            new_package(shipment)
            return self._items(shipment, gettext(
                    'inventory_wave.msg_pack_weighed',
                    package=result['package'], weight=result['weight']),
                'success'), True
        if value == '__package__':
            package = current_package(shipment)
            if not package or not package_count(package):
                raise ScanFailure('package_empty', gettext(
                        'inventory_wave.msg_pack_package_empty'))
            return self._weight(shipment, package), False
        if value.startswith('__box__:'):
            boxes = Type.search([
                    ('id', '=', int(value.split(':', 1)[1] or 0)
                        if value.split(':', 1)[1].isdigit() else -1)])
            if not boxes:
                raise ScanFailure('unknown_box', gettext(
                        'inventory_wave.msg_pack_expected_item',
                        value=value))
            box, = boxes
            package = new_package(shipment, box)
            return self._items(shipment, gettext(
                    'inventory_wave.msg_pack_box', package=package.rec_name,
                    box=box.name), 'success'), True
        if not value:
            raise ScanFailure('empty', gettext(
                    'inventory_wave.msg_pack_expected_item', value=value))
        result = verify_item(shipment, value)
        message = gettext('inventory_wave.msg_pack_item_ok',
            product=result['product'], packed=result['packed_text'],
            expected=result['expected_text'], package=result['package'])
        if result['complete']:
            return self._weight(shipment, current_package(shipment),
                message), True
        return self._items(shipment, message, 'success'), True

    def _lines(self, shipment):
        lines, scanned = expected_lines(shipment)
        rows = []
        for (product, lot), moves in lines.items():
            expected = sum(m.quantity for m in moves)
            done = scanned[(product, lot)]
            unit = moves[0].unit
            status = ('match' if _round(done) >= _round(expected)
                else 'pending')
            name = moves[0].product.rec_name
            if moves[0].lot:
                name += f' · {moves[0].lot.number}'
            rows.append({
                    'product': name,
                    'expected': format_quantity(expected, unit),
                    'counted': format_quantity(done, unit),
                    'status': status,
                    'status_label': moves[0].product.gtin or '',
                    })
        return rows

    def _header(self, shipment):
        Package = Pool().get('stock.package')
        packages = Package.search([('shipment', '=', str(shipment))])
        return ' · '.join(filter(None, [shipment.rec_name,
                    shipment.reference,
                    shipment.customer.rec_name if shipment.customer
                    else None,
                    gettext('inventory_wave.msg_pack_packages',
                        count=len(packages)) if packages else None]))

    def _actions(self, shipment):
        Type = Pool().get('stock.package.type')
        actions = [{'value': '__package__',
                'label': gettext('inventory_wave.msg_action_new_package')}]
        package = current_package(shipment)
        for box in Type.search([], order=[('name', 'ASC')], limit=6):
            label = box.name
            if package and package.type == box:
                label = '✓ ' + label
            actions.append({'value': f'__box__:{box.id}', 'label': label})
        actions.append({'value': '__cancel__',
                'label': gettext('inventory_flow.msg_action_cancel')})
        return actions

    def _items(self, shipment, message=None, level='info'):
        screen = self.screen(
            {'shipment': shipment.id, 'phase': 'items'},
            gettext('inventory_wave.msg_prompt_pack_item'), message, level,
            lines=self._lines(shipment), actions=self._actions(shipment))
        screen['header'] = self._header(shipment)
        screen['links'] = self._links(shipment)
        return screen

    def _weight(self, shipment, package, message=None):
        screen = self.screen(
            {'shipment': shipment.id, 'phase': 'weight'},
            gettext('inventory_wave.msg_prompt_pack_weight',
                package=package.rec_name, box=package.type.name),
            message, 'success' if message else 'info',
            lines=self._lines(shipment),
            actions=[{'value': '__cancel__',
                    'label': gettext('inventory_flow.msg_action_cancel')}],
            input='quantity')
        screen['header'] = self._header(shipment)
        return screen

    def _links(self, shipment):
        database = Transaction().database.name
        return [{'label': gettext('inventory_wave.msg_pack_link_%s' % kind),
                'url': f'/{database}/scanner/document/{kind}/{shipment.id}'}
            for kind in ('delivery_note', 'carrier_label')]

    def _packed(self, shipment):
        screen = self.start(gettext('inventory_wave.msg_pack_done',
                shipment=shipment.rec_name), 'success')
        screen['links'] = self._links(shipment)
        screen['done'] = True
        return screen


__all__ = ['PackStep', 'PackEvent', 'PackAccuracy', 'verify_item',
    'new_package', 'weigh', 'finish', 'parse_weight']


# --- the documents of the pack station -------------------------------------

DOCUMENT_REPORTS = {
    'delivery_note': 'stock.shipment.out.delivery_note_pdf',
    'carrier_label': 'stock.shipment.out.carrier_label_pdf',
    }


@with_transaction(user='request')
def _document_transaction(request, pool, kind, shipment_id):
    Report = pool.get(DOCUMENT_REPORTS[kind], type='report')
    User = pool.get('res.user')
    with Transaction().set_context(User.get_preferences(context_only=True)):
        _, content, _, name = Report.execute([shipment_id], {})
    return content, name


@with_pool
def _document(request, pool, kind, shipment_id):
    if kind not in DOCUMENT_REPORTS:
        return error_response('not_found', kind, HTTPStatus.NOT_FOUND)
    try:
        content, name = _document_transaction(
            request, pool, kind, shipment_id)
    except AccessError as error:
        return error_response(
            'forbidden', error.message, HTTPStatus.FORBIDDEN)
    except UserError as error:
        return error_response(
            'refused', error.message, HTTPStatus.UNPROCESSABLE_ENTITY)
    response = Response(content, content_type='application/pdf')
    response.headers['Content-Disposition'] = (
        f'inline; filename="{kind}-{shipment_id}.pdf"')
    return response


@app.route('/<database_name>/scanner/document/<kind>/<int:shipment_id>',
    methods=['GET'])
@app.auth_required
def pack_document(request, database_name, kind, shipment_id):
    "The delivery note or the carrier labels of a shipment, as PDF"
    return _document(request, database_name, kind, shipment_id)
