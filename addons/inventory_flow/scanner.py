"""The scanner app: a step framework and the HTTP routes serving it (D4).

The page (``static/scanner/``) only renders what the server returns: every
scan is posted to ``/<database>/scanner/step`` with the step name, the
state the server returned last time and a client-generated ``key``; the
step validates the scan, changes the database or not, and answers with the
next screen.  A confirmation whose key was already applied is answered from
``scanner.confirmation`` without being applied again.

Steps are registered by modules with :func:`register_step`; each names the
groups (XML ids) allowed to use it.  Authentication is Tryton's own session:
the page logs in with ``common.db.login`` and sends ``Authorization:
Session …``, or reuses the web client's session cookie.
"""
import datetime as dt
import gc
import json
import mimetypes
import os
import re
from decimal import Decimal
from http import HTTPStatus

from sql import Conflict
from sql.functions import CurrentTimestamp

from trytond import config
from trytond.exceptions import UserError, UserWarning
from trytond.i18n import gettext
from trytond.model import ModelSQL, Unique, fields
from trytond.model.exceptions import AccessError
from trytond.pool import Pool
from trytond.protocols.wrappers import (
    Response, with_pool, with_transaction)
from trytond.transaction import Transaction, without_check_access
from trytond.wsgi import app

from .gs1 import ScanError, check_dates, parse_scan
from .variance import QuantityError, parse_quantity

STATIC = os.path.join(os.path.dirname(__file__), 'static', 'scanner')
STEPS = {}
#: Where ``scripts/bootstrap.sh`` unpacks the zxing-wasm npm package (the
#: camera fallback); ``[scanner] zxing_root`` in trytond.conf overrides it.
ZXING_ROOT = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
                os.path.abspath(__file__)))), 'var', 'zxing-wasm', 'package')
#: The only files of the package the page loads, served under
#: ``/<database>/scanner/vendor/zxing-wasm/<name>``.
ZXING_FILES = {
    'zxing-reader.js': ('dist', 'iife', 'reader', 'index.js'),
    'zxing_reader.wasm': ('dist', 'reader', 'zxing_reader.wasm'),
    }
#: Applied confirmation keys are kept at least this long (hours) so that a
#: retried request is still recognised; the purge keeps them 24 h by default
CONFIRMATION_KEEP_HOURS = 24
#: A short number typed where a bin is expected is a partial quantity
QUANTITY = re.compile(r'[-+]?\d{1,7}([.,]\d*)?|[-+]?[.,]\d+')


class ScanFailure(UserError):
    "A refused scan: ``code`` for the client, the message for the user"

    def __init__(self, code, message, status=HTTPStatus.UNPROCESSABLE_ENTITY):
        super().__init__(message)
        self.code = code
        self.status = status


def register_step(cls):
    "Register a step class (a class decorator)"
    STEPS[cls.name] = cls
    return cls


class Confirmation(ModelSQL):
    "Scanner Confirmation"
    __name__ = 'scanner.confirmation'

    key = fields.Char("Key", required=True,
        help="The client-generated key of the confirmation.")
    user = fields.Many2One('res.user', "User", required=True,
        ondelete='CASCADE', help="The user who confirmed.")
    step = fields.Char("Step", required=True,
        help="The scanner step that applied the confirmation.")
    response = fields.Text("Response",
        help="The answer sent, replayed for a repeated key.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('key_unique', Unique(t, t.user, t.key),
                'inventory_flow.msg_scan_already_applied'),
            ]

    @classmethod
    def purge(cls, hours=None):
        """Delete the confirmations older than ``hours`` (at least 24, the
        default ``[scanner] confirmation_keep_hours``), in one statement;
        return how many.  Run daily by ``ir.cron``."""
        if hours is None:
            hours = config.getint('scanner', 'confirmation_keep_hours',
                default=CONFIRMATION_KEEP_HOURS)
        hours = max(hours, CONFIRMATION_KEEP_HOURS)
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        threshold = dt.datetime.now() - dt.timedelta(hours=hours)
        where = table.create_date < threshold
        cursor.execute(*table.select(
                table.id, where=where))
        count = len(cursor.fetchall())
        if count:
            cursor.execute(*table.delete(where=where))
        return count


class Step:
    """A scanner step.  ``scan`` returns ``(screen, changed)``; it raises
    :class:`ScanFailure` (or a ``UserError``) to refuse a scan, and then
    nothing is written."""
    name = None
    title = None
    sequence = 100  # the order of the steps on the menu
    groups = ('group_operator', 'group_manager')

    def start(self):
        raise NotImplementedError

    def scan(self, state, value):
        raise NotImplementedError

    def screen(self, state, prompt, message=None, level='info', lines=None,
            actions=None, input='scan'):
        return {
            'step': self.name,
            'title': gettext(self.title),
            'state': state,
            'prompt': prompt,
            'message': message,
            'level': level,
            'lines': lines or [],
            'actions': actions or [],
            'input': input,
            }


def allowed(step):
    pool = Pool()
    ModelData = pool.get('ir.model.data')
    User = pool.get('res.user')
    if Transaction().user == 0:
        return True
    groups = set(User.get_groups())
    return any(
        ModelData.get_id('inventory_flow', g) in groups for g in step.groups)


def read_scan(value, separator=None):
    "Parse value, turning parser errors into translated ScanFailures"
    try:
        return parse_scan(value, separator=separator)
    except ScanError as error:
        raise ScanFailure(error.code, gettext(
                'inventory_flow.msg_scan_%s' % error.code,
                value=error.value))


def read_quantity(value, digits=None):
    try:
        return parse_quantity(value, digits)
    except QuantityError as error:
        raise ScanFailure('quantity_%s' % error.code, gettext(
                'inventory_flow.msg_scan_quantity_%s' % error.code,
                value=error.value))


def product_by_gtin(gtin):
    pool = Pool()
    Product = pool.get('product.product')
    Identifier = pool.get('product.identifier')
    # The identifiers by their code first: searched through the products, a
    # GTIN is looked for in every product's identifiers (SQLite runs the
    # EXISTS once per product: 80 ms for 100 000 products)
    (_, _, where), = Product.search_gtin('gtin', ('gtin', '=', gtin))
    ids = sorted({i.product.id for i in Identifier.search(where)})
    # By code, not by the translated name (a join with the translations of
    # every template); a GTIN names one product
    products = Product.search([('id', 'in', ids)], limit=1,
        order=[('code', 'ASC'), ('id', 'ASC')]) if ids else []
    if not products:
        raise ScanFailure('unknown_product', gettext(
                'inventory_flow.msg_scan_unknown_product', value=gtin),
            HTTPStatus.NOT_FOUND)
    return products[0]


#: The databases whose pool was loaded when the heap was frozen
_FROZEN = set()


def freeze_heap(database=None):
    """Once per database pool and process: collect, then move every object
    alive (the pool's models, fields, views and caches: over a million
    objects) to the garbage collector's permanent generation.

    A full collection otherwise walks them all, 100–200 ms at a random
    scan (one in about 60 steps on the large demo data): the tail of the
    step times (and of the order API's answers).  Objects created later are
    collected as usual; only the cyclic garbage alive at this moment would
    be kept, hence the collection first.  ``database``: the name of the
    pool, by default the transaction's."""
    if database is None:
        database = Transaction().database.name
    if database not in _FROZEN:
        _FROZEN.add(database)
        gc.collect()
        gc.freeze()


def run_step(name, state, value, key):
    """Run one scan of step name and return the screen (a dict).

    A non-empty ``key`` marks a confirmation: if the user already applied
    it, the stored screen is returned and nothing is changed."""
    freeze_heap()
    step_class = STEPS.get(name)
    if step_class is None:
        raise ScanFailure('unknown_step', gettext(
                'inventory_flow.msg_scan_unknown_step', step=name),
            HTTPStatus.NOT_FOUND)
    if not allowed(step_class):
        raise ScanFailure('forbidden', gettext(
                'inventory_flow.msg_scan_step_forbidden', step=name),
            HTTPStatus.FORBIDDEN)
    step = step_class()
    user = Transaction().user
    if key:
        done = _confirmed(user, key)
        if done:
            screen = json.loads(done)
            screen['message'] = gettext(
                'inventory_flow.msg_scan_already_applied')
            screen['level'] = 'info'
            screen['replayed'] = True
            return screen
    if value is None:
        return step.start()
    screen, changed = step.scan(state or {}, value)
    if changed:
        if not key:
            raise ScanFailure('key_missing', gettext(
                    'inventory_flow.msg_scan_key_missing'),
                HTTPStatus.BAD_REQUEST)
        _confirm(user, key, name, screen)
    return screen


# The confirmations are read and written with python-sql: the ORM reads
# every column and reads the new row back to validate it

def _confirmed(user, key):
    "The response stored for the user's confirmation key, or None"
    table = Pool().get('scanner.confirmation').__table__()
    cursor = Transaction().connection.cursor()
    cursor.execute(*table.select(table.response,
            where=(table.user == user) & (table.key == key), limit=1))
    row = cursor.fetchone()
    return row[0] if row else None


def _confirm(user, key, step, screen):
    """Store the user's confirmation key with the screen answered; the
    same key stored meanwhile by a concurrent request (``key_unique``) is
    refused: this request is rolled back.  The row is inserted unless it
    conflicts (a failed INSERT would end a PostgreSQL transaction before
    the refusal is even worded)"""
    table = Pool().get('scanner.confirmation').__table__()
    cursor = Transaction().connection.cursor()
    cursor.execute(*table.insert(
            [table.key, table.user, table.step, table.response,
                table.create_uid, table.create_date],
            [[key, user, step, json.dumps(screen), user,
                    CurrentTimestamp()]],
            on_conflict=Conflict(table)))
    if not cursor.rowcount:
        raise UserError(gettext('inventory_flow.msg_scan_already_applied'))


def steps_for_user():
    steps = sorted(STEPS.values(), key=lambda s: (s.sequence, s.name))
    return [{'name': s.name, 'title': gettext(s.title)}
        for s in steps if allowed(s)]


# --- HTTP routes -----------------------------------------------------------

def json_response(data, status=HTTPStatus.OK):
    return Response(
        json.dumps(data, default=str), status=status,
        content_type='application/json')


def error_response(code, message, status):
    return json_response({'error': code, 'message': message}, status)


def _user_context():
    User = Pool().get('res.user')
    return User.get_preferences(context_only=True)


@with_transaction(user='request')
def _step_transaction(request, pool):
    data = request.parsed_data if request.method == 'POST' else {}
    if not isinstance(data, dict):
        raise ScanFailure('bad_request', 'JSON object expected',
            HTTPStatus.BAD_REQUEST)
    with Transaction().set_context(_user_context()):
        if request.method == 'GET':
            return {'steps': steps_for_user(),
                'user': pool.get('res.user')(Transaction().user).rec_name,
                'language': Transaction().language}
        return run_step(
            data.get('step'), data.get('state'), data.get('scan'),
            data.get('key'))


@with_pool
def _step(request, pool):
    # Errors are caught outside the transaction so that it is rolled back:
    # a refused scan changes nothing.
    try:
        return json_response(_step_transaction(request, pool))
    except ScanFailure as error:
        return error_response(error.code, error.message, error.status)
    except AccessError as error:
        return error_response(
            'forbidden', error.message, HTTPStatus.FORBIDDEN)
    except UserError as error:
        return error_response(
            'refused', error.message, HTTPStatus.UNPROCESSABLE_ENTITY)
    except UserWarning as error:
        # The scanner cannot show Tryton's warning dialog: the warning is
        # reported and the office resolves it in the web client.
        return error_response(
            'warning', error.message, HTTPStatus.CONFLICT)


@app.route('/<database_name>/scanner/step', methods=['POST', 'GET'])
@app.auth_required
def scanner_step(request, database_name):
    return _step(request, database_name)


def zxing_root():
    return config.get('scanner', 'zxing_root') or ZXING_ROOT


@app.route('/<database_name>/scanner/', methods=['GET'])
@app.route('/<database_name>/scanner/<path:filename>', methods=['GET'])
def scanner_static(request, database_name, filename='index.html'):
    cache = 'no-cache'
    if filename.startswith('vendor/zxing-wasm/'):
        # The camera fallback, from the npm package installed at build time
        # (no CDN); only the files the page needs
        parts = ZXING_FILES.get(filename[len('vendor/zxing-wasm/'):])
        path = os.path.join(zxing_root(), *parts) if parts else ''
        cache = 'public, max-age=86400'
    else:
        path = os.path.normpath(os.path.join(STATIC, filename))
        if not path.startswith(STATIC + os.sep):
            path = ''
    if not path or not os.path.isfile(path):
        return error_response(
            'not_found', filename, HTTPStatus.NOT_FOUND)
    with open(path, 'rb') as fp:
        content = fp.read()
    if path.endswith('.wasm'):
        mimetype = 'application/wasm'  # needed by instantiateStreaming
    else:
        mimetype = (mimetypes.guess_type(path)[0]
            or 'application/octet-stream')
    response = Response(content, content_type=mimetype)
    response.headers['Cache-Control'] = cache
    return response


# --- Steps of inventory_flow: receive (A3) and put away (A5) ---------------

def _format_quantity(quantity, unit):
    Lang = Pool().get('ir.lang')
    return Lang.get().format_number_symbol(
        unit.round(quantity), unit, digits=unit.digits)


def _bin_label(location):
    return location.code or location.rec_name


def _variance_label(kind):
    Variance = Pool().get('stock.shipment.in.variance')
    return dict(Variance.fields_get(['kind'])['kind']['selection'])[kind]


@register_step
class ReceiveStep(Step):
    """Receive a supplier shipment by scan: open it from a PO number, a
    supplier reference or a GTIN; count items (GS1 quantity or typed);
    finish.  State: ``shipment`` id and the ``pending`` item waiting for
    its quantity."""
    name = 'receive'
    title = 'inventory_flow.msg_step_receive'
    sequence = 10

    def start(self):
        return self.screen({}, gettext('inventory_flow.msg_prompt_shipment'))

    def scan(self, state, value):
        Shipment = Pool().get('stock.shipment.in')
        if value == '__cancel__':
            return self.start(), False
        shipment = None
        if state.get('shipment'):
            shipment = Shipment(int(state['shipment']))
            if shipment.state != 'draft':
                raise ScanFailure('not_draft', gettext(
                        'inventory_flow.msg_receiving_not_draft',
                        shipment=shipment.rec_name))
        if shipment and value == '__finish__':
            Shipment.finish_receiving([shipment])
            return self.screen({}, gettext(
                    'inventory_flow.msg_prompt_shipment'),
                gettext('inventory_flow.msg_receipt_finished',
                    shipment=shipment.rec_name), 'success'), True
        pending = state.get('pending')
        if shipment and pending:
            scan = None
            try:
                scan = parse_scan(value)
            except ScanError:
                pass
            if scan is None or scan.kind == 'text':
                product = Pool().get('product.product')(
                    int(pending['product']))
                quantity = read_quantity(value, product.default_uom.digits)
                return self._count(shipment, product, quantity, pending)
        scan = read_scan(value)
        created = False
        if shipment is None:
            shipment, created = self._find_shipment(scan)
            if scan.kind == 'text':
                return self._screen(shipment, {}, gettext(
                        'inventory_flow.msg_shipment_opened',
                        shipment=shipment.rec_name,
                        supplier=shipment.supplier.rec_name),
                    'success'), created
        if scan.kind == 'text':
            raise ScanFailure('expected_item', gettext(
                    'inventory_flow.msg_scan_expected_item'))
        screen, changed = self._item(shipment, scan)
        return screen, changed or created

    def _item(self, shipment, scan):
        pool = Pool()
        Date = pool.get('ir.date')
        product = product_by_gtin(scan.gtin)
        with Transaction().set_context(company=shipment.company.id):
            today = Date.today()
        try:
            check_dates(scan.production_date, scan.expiry_date, today)
        except ScanError as error:
            raise ScanFailure(error.code, gettext(
                    'inventory_flow.msg_receiving_%s' % error.code,
                    expiry=error.value,
                    production=error.details.get('production')))
        attached = False
        # The expected quantities, read once for the checks, the count
        # (which changes no move) and the screen after it
        expected = shipment.expected_quantities()
        if product not in expected:
            # Expected on another open order of the supplier: that order's
            # pending moves join this receipt
            attached = attach_pending_moves(shipment, product)
            if attached:
                shipment = Pool().get('stock.shipment.in')(shipment.id)
                expected = shipment.expected_quantities()
        if product not in expected:
            from .receiving import is_manager
            if not is_manager():
                raise ScanFailure('not_on_shipment', gettext(
                        'inventory_flow.msg_receiving_needs_manager_'
                        'unexpected',
                        product=product.rec_name,
                        shipment=shipment.rec_name), HTTPStatus.CONFLICT)
        pending = {
            'product': product.id,
            'lot': scan.lot,
            'serial': scan.serial,
            'production_date': (scan.production_date.isoformat()
                if scan.production_date else None),
            'expiry_date': (scan.expiry_date.isoformat()
                if scan.expiry_date else None),
            }
        if scan.quantity is not None:
            return self._count(
                shipment, product, scan.quantity, pending, expected)
        if scan.serial and not scan.lot:
            return self._count(shipment, product, 1, pending, expected)
        return self._screen(shipment, {'pending': pending}, None, 'info',
            prompt=gettext('inventory_flow.msg_prompt_quantity',
                product=product.rec_name), input='quantity'), attached

    def _count(self, shipment, product, quantity, pending, expected=None):
        import datetime as dt

        def date(value):
            return dt.date.fromisoformat(value) if value else None
        # The expected quantities, as the count reads them (it changes no
        # move: the screen after it reuses them)
        if expected is None:
            expected = shipment.expected_quantities()
        shipment.count(
            product, float(quantity), lot_number=pending.get('lot'),
            serial=pending.get('serial'),
            production_date=date(pending.get('production_date')),
            expiration_date=date(pending.get('expiry_date')))
        shipment = Pool().get('stock.shipment.in')(shipment.id)
        # The variances of the screen, read once: the message names the
        # counted product's
        variances = shipment.line_variances(expected=expected)
        variance, = [v for p, _, _, v in variances if p == product]
        return self._screen(shipment, {}, gettext(
                'inventory_flow.msg_counted',
                quantity=_format_quantity(
                    float(quantity), product.default_uom),
                product=product.rec_name,
                variance=_variance_label(variance.kind)),
            'success', variances=variances), True

    def _screen(self, shipment, state, message, level, prompt=None,
            input='scan', variances=None):
        lines = []
        labels = {}
        if variances is None:
            variances = shipment.line_variances()
        for product, expected, counted, variance in variances:
            unit = product.default_uom
            if variance.kind not in labels:
                labels[variance.kind] = _variance_label(variance.kind)
            lines.append({
                    'product': product.rec_name,
                    'expected': _format_quantity(expected, unit),
                    'counted': _format_quantity(counted, unit),
                    'status': variance.kind,
                    'status_label': labels[variance.kind],
                    })
        state = dict(state, shipment=shipment.id)
        actions = [{'value': '__cancel__',
                'label': gettext('inventory_flow.msg_action_cancel')}]
        # Counted lines exist when something was counted (a line counts a
        # positive quantity): the lines themselves are not read
        if any(counted for _, _, counted, _ in variances):
            actions.insert(0, {'value': '__finish__',
                    'label': gettext('inventory_flow.msg_action_finish'),
                    'confirm': True})
        screen = self.screen(state,
            prompt or gettext('inventory_flow.msg_prompt_item'),
            message, level, lines, actions, input)
        screen['header'] = f'{shipment.rec_name} · {shipment.supplier.rec_name}'
        return screen

    def _find_shipment(self, scan):
        """Return the draft supplier shipment expected for the scan,
        created from the pending moves of a purchase if needed."""
        pool = Pool()
        Shipment = pool.get('stock.shipment.in')
        Purchase = pool.get('purchase.purchase')
        Move = pool.get('stock.move')
        if scan.kind == 'text':
            text = scan.text
            # The supplier's delivery note first, then the purchase order,
            # then our own shipment number: numbering sequences may overlap.
            order = [('planned_date', 'ASC NULLS LAST'), ('id', 'ASC')]
            shipments = Shipment.search([
                    ('state', '=', 'draft'),
                    ('reference', '=', text),
                    ], order=order, limit=1)
            if shipments:
                return shipments[0], False
            purchases = Purchase.search([
                    ('state', 'in', ['processing', 'confirmed']),
                    ['OR', ('number', '=', text), ('reference', '=', text)],
                    ], limit=1)
            if not purchases:
                shipments = Shipment.search([
                        ('state', '=', 'draft'),
                        ('number', '=', text),
                        ], order=order, limit=1)
                if shipments:
                    return shipments[0], False
                raise ScanFailure('unknown', gettext(
                        'inventory_flow.msg_scan_unknown', value=text),
                    HTTPStatus.NOT_FOUND)
            purchase, = purchases
            shipment = _draft_shipment_of(purchase)
            if shipment:
                return shipment, False
            moves = _pending_moves_of(purchase)
        else:
            product = product_by_gtin(scan.gtin)
            shipments = Shipment.search([
                    ('state', '=', 'draft'),
                    ('moves', 'where', [
                            ('product', '=', product.id),
                            ('from_location.type', '=', 'supplier'),
                            ]),
                    ], order=[('planned_date', 'ASC NULLS LAST'),
                    ('id', 'ASC')], limit=1)
            if shipments:
                return shipments[0], False
            candidates = Move.search([
                    ('product', '=', product.id),
                    ('state', '=', 'draft'),
                    ('shipment', '=', None),
                    ('origin', 'like', 'purchase.line,%'),
                    ('from_location.type', '=', 'supplier'),
                    ], order=[('planned_date', 'ASC NULLS LAST'),
                    ('id', 'ASC')], limit=1)
            if not candidates:
                raise ScanFailure('no_shipment', gettext(
                        'inventory_flow.msg_scan_no_shipment',
                        value=product.rec_name), HTTPStatus.NOT_FOUND)
            purchase = candidates[0].origin.purchase
            moves = _pending_moves_of(purchase)
        if not moves:
            raise ScanFailure('no_shipment', gettext(
                    'inventory_flow.msg_scan_no_shipment',
                    value=purchase.rec_name), HTTPStatus.NOT_FOUND)
        return shipment_from_moves(purchase, moves), True


def _line_origins(purchase):
    """The origins of the purchase's moves ('purchase.line,ID'): searched
    as such through the index on the moves' origin, where
    ``origin.purchase`` casts the origin of every move (a scan of the
    ledger on SQLite)"""
    return [str(line) for line in purchase.lines] or ['purchase.line,-1']


def _draft_shipment_of(purchase):
    """The first draft supplier shipment of the purchase's moves, found by
    one search (``purchase.shipments`` reads every line and move)"""
    Shipment = Pool().get('stock.shipment.in')
    shipments = Shipment.search([
            ('state', '=', 'draft'),
            ('moves', 'where', [
                    ('origin', 'in', _line_origins(purchase)),
                    ]),
            ], order=[('id', 'ASC')], limit=1)
    return shipments[0] if shipments else None


def _pending_moves_of(purchase):
    """The purchase's draft moves from the supplier without a shipment yet:
    its moves by origin, filtered here (with the other conditions in SQL,
    SQLite without statistics walks the moves without shipment instead)"""
    Move = Pool().get('stock.move')
    return [m for m in Move.search([
                ('origin', 'in', _line_origins(purchase)),
                ], order=[('id', 'ASC')])
        if m.state == 'draft' and not m.shipment
        and m.from_location.type == 'supplier']


def attach_pending_moves(shipment, product):
    """Add to the draft shipment the pending purchase moves of product
    from the same supplier to the same warehouse; return whether any.

    Pending: on no shipment yet, or on another draft supplier shipment
    whose counting has not started (a receipt prepared when its purchase
    was processed); a receipt left without moves is deleted."""
    pool = Pool()
    Move = pool.get('stock.move')
    Shipment = pool.get('stock.shipment.in')
    Line = pool.get('stock.receiving.line')
    moves = Move.search([
            ('product', '=', product.id),
            ('state', '=', 'draft'),
            ['OR',
                ('shipment', '=', None),
                [('shipment', 'like', Shipment.__name__ + ',%'),
                    ('shipment', '!=', str(shipment)),
                    ('shipment.state', '=', 'draft', Shipment.__name__)],
                ],
            ('origin.purchase.party', '=', shipment.supplier.id,
                'purchase.line'),
            ('to_location', '=', shipment.warehouse_input.id),
            ('company', '=', shipment.company.id),
            ])
    others = {m.shipment for m in moves if m.shipment}
    if others:
        # A receipt being counted keeps its moves
        started = {l.shipment for l in Line.search([
                    ('shipment', 'in', [s.id for s in others]),
                    ])}
        moves = [m for m in moves if m.shipment not in started]
        others -= started
    if moves:
        Move.write(moves, {'shipment': str(shipment)})
    if others:
        emptied = [s for s in Shipment.browse([s.id for s in others])
            if not s.moves]
        if emptied:
            # Nothing the operator made: the receipt only held the moves
            with without_check_access():
                Shipment.delete(emptied)
    return bool(moves)


def shipment_from_moves(purchase, moves):
    "Create the draft supplier shipment of a purchase's pending moves"
    pool = Pool()
    Shipment = pool.get('stock.shipment.in')
    Move = pool.get('stock.move')
    dates = [m.planned_date for m in moves if m.planned_date]
    shipment = Shipment(
        company=purchase.company, supplier=purchase.party,
        warehouse=purchase.warehouse,
        reference=purchase.reference,
        # Expected when the first of its lines is
        planned_date=min(dates) if dates else None)
    shipment.on_change_warehouse()
    shipment.save()
    Move.write(moves, {'shipment': str(shipment)})
    return Shipment(shipment.id)


@register_step
class PutawayStep(Step):
    """Put received goods away: scan the item (GTIN or GS1 with lot), the
    step recommends a bin; scan the bin; the inventory move is done into
    it.  Typing a quantity (or scanning a GS1 item with AI 30/37) before
    the bin puts only that part away: the rest waits for another bin.
    State: ``move`` and ``recommended`` ids, the partial ``quantity``."""
    name = 'putaway'
    title = 'inventory_flow.msg_step_putaway'
    sequence = 20

    def start(self):
        return self.screen(
            {}, gettext('inventory_flow.msg_prompt_putaway_item'))

    def scan(self, state, value):
        Location = Pool().get('stock.location')
        if value == '__cancel__':
            return self.start(), False
        if state.get('question') and (value == '__count_yes__' or (
                    isinstance(value, str)
                    and QUANTITY.fullmatch(value.strip()))):
            # The answer to "does the bin now hold N?" is a count (B4)
            from .cycle_count import answer_putaway_question
            return answer_putaway_question(
                self, state['question'], value), True
        if (state.get('move') and isinstance(value, str)
                and QUANTITY.fullmatch(value.strip())):
            move = self._pending_move(state)
            quantity = read_quantity(value, move.unit.digits)
            return self._move_screen(move, quantity), False
        scan = read_scan(value)
        if scan.kind != 'text':
            return self._item(scan), False
        if not state.get('move'):
            raise ScanFailure('expected_item', gettext(
                    'inventory_flow.msg_prompt_putaway_item'))
        move = self._pending_move(state)
        # Unordered: bin labels are unique, and ordering by the translated
        # name joins the translations of every location
        locations = Location.search([
                ('barcode', '=', scan.text),
                ('zone', '!=', None),
                ], limit=1, order=[])
        if not locations:
            locations = Location.search([
                    ('code', '=', scan.text),
                    ('type', '=', 'storage'),
                    ], limit=1, order=[])
        if not locations:
            raise ScanFailure('unknown', gettext(
                    'inventory_flow.msg_scan_unknown', value=scan.text),
                HTTPStatus.NOT_FOUND)
        location, = locations
        recommended = (Location(int(state['recommended']))
            if state.get('recommended') else None)
        part = (Decimal(str(state['quantity']))
            if state.get('quantity') else None)
        from .receiving import pending_putaway, put_away
        product, lot = move.product, move.lot
        move = put_away(move, location, recommended, quantity=part)
        quantity = _format_quantity(move.quantity, move.unit)
        if recommended and recommended != location:
            message = gettext('inventory_flow.msg_put_away_override',
                quantity=quantity, product=product.rec_name,
                bin=_bin_label(location),
                recommended=_bin_label(recommended))
        else:
            message = gettext('inventory_flow.msg_put_away',
                quantity=quantity, product=product.rec_name,
                bin=_bin_label(location))
        if part is not None:
            # The rest of the split line: its bin is scanned next
            rest = pending_putaway(product, lot)
            if rest:
                message += ' ' + gettext('inventory_flow.msg_put_away_rest',
                    quantity=_format_quantity(rest[0].quantity,
                        rest[0].unit),
                    product=product.rec_name)
                screen = self._move_screen(rest[0])
                screen['message'] = message
                screen['level'] = 'success'
                return screen, True
        from .cycle_count import putaway_question
        return putaway_question(self.screen({}, gettext(
                    'inventory_flow.msg_prompt_putaway_item'), message,
                'success'), move, location), True

    def _pending_move(self, state):
        Move = Pool().get('stock.move')
        move = Move(int(state['move']))
        if move.state not in {'draft', 'assigned'}:
            raise ScanFailure('nothing', gettext(
                    'inventory_flow.msg_putaway_move_done',
                    product=move.product.rec_name))
        return move

    def _item(self, scan):
        pool = Pool()
        Lot = pool.get('stock.lot')
        from .receiving import pending_putaway
        product = product_by_gtin(scan.gtin)
        lot = None
        if scan.lot or scan.serial:
            lots = Lot.search([
                    ('product', '=', product.id),
                    ('number', '=', scan.lot or scan.serial),
                    ], limit=1)
            lot = lots[0] if lots else None
            if not lot:
                raise ScanFailure('nothing', gettext(
                        'inventory_flow.msg_scan_nothing_to_put_away',
                        product=product.rec_name), HTTPStatus.NOT_FOUND)
        moves = pending_putaway(product, lot)
        if not moves:
            raise ScanFailure('nothing', gettext(
                    'inventory_flow.msg_scan_nothing_to_put_away',
                    product=product.rec_name), HTTPStatus.NOT_FOUND)
        return self._move_screen(moves[0], scan.quantity)

    def _move_screen(self, move, quantity=None):
        """The screen asking the bin for move (or for ``quantity`` of it,
        in the move's unit), with the recommended bins"""
        from .receiving import recommend_bins
        internal = None
        if quantity is not None:
            if move.unit.round(float(quantity)) > move.quantity:
                raise ScanFailure('quantity_over', gettext(
                        'inventory_flow.msg_putaway_quantity_over',
                        quantity=_format_quantity(float(quantity), move.unit),
                        available=_format_quantity(move.quantity, move.unit),
                        product=move.product.rec_name))
            if move.unit.round(float(quantity)) == move.quantity:
                quantity = None
            else:
                internal = (move.internal_quantity * float(quantity)
                    / move.quantity)
        bins = recommend_bins(move, quantity=internal)
        total = _format_quantity(move.quantity, move.unit)
        shown = (_format_quantity(float(quantity), move.unit)
            if quantity is not None else total)
        lines = [{'product': _bin_label(b), 'status': 'recommended',
                'status_label': str(i + 1)} for i, b in enumerate(bins)]
        state = {
            'move': move.id,
            'recommended': bins[0].id if bins else None,
            }
        if quantity is not None:
            state['quantity'] = str(quantity)
        screen = self.screen(state, gettext('inventory_flow.msg_prompt_bin',
                quantity=shown, product=move.product.rec_name,
                bin=_bin_label(bins[0]) if bins else gettext(
                    'inventory_flow.msg_no_recommendation')),
            lines=lines,
            actions=[{'value': '__cancel__',
                    'label': gettext('inventory_flow.msg_action_cancel')}])
        screen['header'] = ' · '.join(filter(None, [
                    move.product.rec_name, move.lot.rec_name
                    if move.lot else None, total]))
        return screen
