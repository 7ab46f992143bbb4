"""Three-way match of supplier invoices (D2, issue 12): purchase order line –
receipt – supplier invoice line, with tolerances, checked before posting.

Each line of a supplier invoice shows its match state and the reason in
words; the invoice shows a summary.  *Validate* and *Post* of a supplier
invoice with a mismatch are refused naming the line and the figures, unless
a user of the Finance group accepted the mismatch with a comment (the
*Accept Mismatch* button); an acceptance records who and when, is kept in
history and covers the figures accepted only: changing the line afterwards
needs a new acceptance.  Customer invoices are untouched.

The facts come from Tryton's own links: the invoice line's ``origin`` is
the purchase line, the purchase line's ``moves`` are its receipts (done
moves from a supplier location, minus those back to it).  The comparison is
the pure ``three_way.match_line``; the tolerances are records
(``account.invoice.match.tolerance``), per company and optionally per
supplier.
"""
import datetime as dt
from collections import defaultdict

from trytond.exceptions import UserError
from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, Unique, fields
from trytond.model.exceptions import AccessError
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction, without_check_access
from trytond.wizard import Button, StateTransition, StateView, Wizard

from . import three_way

LINE_STATES = [
    (None, ""),
    ('matched', "Matched"),
    ('accepted', "Mismatch Accepted"),
    ('price', "Price Over Tolerance"),
    ('quantity', "Quantity Over Received"),
    ('not_received', "Not Received"),
    ('no_purchase_line', "No Purchase Line"),
    ]
INVOICE_STATES = [
    (None, ""),
    ('matched', "Matched"),
    ('accepted', "Mismatch Accepted"),
    ('mismatch', "Mismatch"),
    ]
ORDER_BASES = [
    ('received', "Received Quantity"),
    ('ordered', "Ordered Quantity"),
    ]
#: Invoice states whose lines count as already invoiced
BOOKED_STATES = ['validated', 'posted', 'paid']


def _is_finance():
    pool = Pool()
    ModelData = pool.get('ir.model.data')
    User = pool.get('res.user')
    if Transaction().user == 0:
        return True
    return (ModelData.get_id('inventory_flow', 'group_finance')
        in User.get_groups())


class MatchTolerance(ModelSQL, ModelView):
    "Three-Way Match Tolerance"
    __name__ = 'account.invoice.match.tolerance'
    _history = True

    company = fields.Many2One(
        'company.company', "Company", required=True,
        help="The company whose supplier invoices this tolerance applies to.")
    supplier = fields.Many2One(
        'party.party', "Supplier",
        context={'company': Eval('company', -1)}, depends=['company'],
        help="Only for this supplier; leave empty for the company default.")
    price_percentage = fields.Numeric(
        "Price Tolerance %", digits=(16, 2),
        domain=['OR', ('price_percentage', '=', None),
            ('price_percentage', '>=', 0)],
        help="How much above the ordered unit price an invoiced price may be, "
        "in percent.  When an amount is also set, the stricter applies.")
    price_amount = fields.Numeric(
        "Price Tolerance Amount", digits=(16, 2),
        domain=['OR', ('price_amount', '=', None), ('price_amount', '>=', 0)],
        help="The largest total price variance of an invoice line "
        "(price difference × invoiced quantity), in the company currency.")
    quantity_percentage = fields.Float(
        "Quantity Tolerance %", digits=(16, 2),
        domain=['OR', ('quantity_percentage', '=', None),
            ('quantity_percentage', '>=', 0)],
        help="How much more than received may be invoiced, in percent of the "
        "received quantity.  When a quantity is also set, the stricter "
        "applies.")
    quantity_amount = fields.Float(
        "Quantity Tolerance", digits=(16, 4),
        domain=['OR', ('quantity_amount', '=', None),
            ('quantity_amount', '>=', 0)],
        help="How many units more than received may be invoiced, in the unit "
        "of the purchase line.")
    order_basis = fields.Selection(
        ORDER_BASES, "On Order Invoices Matched On", required=True,
        help="For purchases invoiced \"On Order\": match the invoiced "
        "quantity against the received quantity (three-way, the default) or "
        "the ordered quantity (two-way, to pay before delivery).")
    require_purchase_line = fields.Boolean(
        "Require Purchase Line",
        help="Refuse to post supplier invoice lines that do not come from a "
        "purchase order line.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('company_supplier_unique', Unique(t, t.company, t.supplier),
                'inventory_flow.msg_match_tolerance_unique'),
            ]

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    @classmethod
    def default_order_basis(cls):
        return 'received'

    @classmethod
    def default_require_purchase_line(cls):
        return False

    def get_rec_name(self, name):
        return self.supplier.rec_name if self.supplier else self.company.rec_name

    @property
    def tolerance(self):
        return three_way.Tolerance(
            price_percentage=self.price_percentage,
            price_amount=self.price_amount,
            quantity_percentage=self.quantity_percentage,
            quantity_amount=self.quantity_amount)

    @classmethod
    def get_for(cls, invoices):
        "Return {invoice id: tolerance record or None}, one query"
        companies = {i.company.id for i in invoices}
        records = cls.search([('company', 'in', list(companies))])
        by_key = {(r.company.id, r.supplier.id if r.supplier else None): r
            for r in records}
        result = {}
        for invoice in invoices:
            result[invoice.id] = (
                by_key.get((invoice.company.id, invoice.party.id))
                or by_key.get((invoice.company.id, None)))
        return result


class MatchAcceptance(ModelSQL, ModelView):
    "Three-Way Match Acceptance"
    __name__ = 'account.invoice.match.acceptance'
    _history = True

    invoice = fields.Many2One(
        'account.invoice', "Invoice", required=True, readonly=True,
        ondelete='CASCADE')
    invoice_line = fields.Many2One(
        'account.invoice.line', "Invoice Line", required=True, readonly=True,
        ondelete='CASCADE',
        help="The line whose mismatch was accepted.")
    state = fields.Selection(
        LINE_STATES, "Accepted Mismatch", readonly=True)
    reason = fields.Text("Reason", readonly=True,
        help="The mismatch as it was when accepted.")
    quantity = fields.Float("Quantity", readonly=True,
        help="The invoiced quantity accepted.")
    unit_price = fields.Numeric("Unit Price", digits=(16, 6), readonly=True,
        help="The invoiced unit price accepted.")
    comment = fields.Text("Comment", required=True, readonly=True)
    accepted_by = fields.Many2One('res.user', "Accepted By", readonly=True)
    accepted_at = fields.Timestamp("Accepted At", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order.insert(0, ('accepted_at', 'DESC'))

    def covers(self, line):
        "Whether this acceptance still covers the figures of ``line``"
        return (self.quantity == line.quantity
            and self.unit_price == line.unit_price)

    @classmethod
    def check_modification(cls, mode, records, values=None, external=False):
        super().check_modification(
            mode, records, values=values, external=external)
        if mode in {'write', 'delete'} and external:
            raise AccessError(gettext(
                    'inventory_flow.msg_match_acceptance_immutable'))


class Invoice(metaclass=PoolMeta):
    __name__ = 'account.invoice'

    match_state = fields.Function(fields.Selection(
            INVOICE_STATES, "Match State",
            help="The three-way match of the supplier invoice against its "
            "purchase order lines and receipts."),
        'get_match', searcher='search_match_state')
    match_summary = fields.Function(fields.Text(
            "Match Summary",
            help="Each line that does not match, with the reason."),
        'get_match')
    match_acceptances = fields.One2Many(
        'account.invoice.match.acceptance', 'invoice',
        "Accepted Mismatches", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._buttons.update({
                'accept_match': {
                    'invisible': ((Eval('type') != 'in')
                        | ~Eval('state').in_(['draft', 'validated'])
                        | (Eval('match_state') != 'mismatch')),
                    'icon': 'tryton-ok',
                    'depends': ['type', 'state', 'match_state'],
                    },
                })

    @classmethod
    def get_match(cls, invoices, names):
        pool = Pool()
        Line = pool.get('account.invoice.line')
        Tolerance = pool.get('account.invoice.match.tolerance')
        result = {n: {i.id: None for i in invoices} for n in names}
        supplier = [i for i in invoices if i.type == 'in']
        lines = [l for i in supplier for l in i.lines if l.type == 'line']
        matches = Line.match(lines)
        with without_check_access():
            rules = Tolerance.get_for(supplier)
        for invoice in supplier:
            states = [matches[l.id] for l in invoice.lines if l.id in matches]
            if 'match_state' in names:
                result['match_state'][invoice.id] = _invoice_state(
                    [s for s, _ in states], rules[invoice.id])
            if 'match_summary' in names:
                summary = [
                    gettext('inventory_flow.msg_match_summary_line',
                        line=l.rec_name, reason=matches[l.id][1])
                    for l in invoice.lines
                    if l.id in matches and matches[l.id][0] != 'matched']
                if states and not summary:
                    summary = [gettext(
                            'inventory_flow.msg_match_summary_matched',
                            count=len(states))]
                result['match_summary'][invoice.id] = '\n'.join(summary)
        return result

    @classmethod
    def search_match_state(cls, name, clause):
        "Unposted supplier invoices only: the match is computed on demand"
        _, operator, value = clause[:3]
        candidates = cls.search([
                ('type', '=', 'in'),
                ('state', 'in', ['draft', 'validated']),
                ])
        ids = [i.id for i in candidates
            if _compare(i.match_state, operator, value)]
        return [('id', 'in', ids)]

    @classmethod
    def check_three_way_match(cls, invoices):
        "Raise a UserError for the first supplier invoice line not matched"
        pool = Pool()
        Line = pool.get('account.invoice.line')
        Tolerance = pool.get('account.invoice.match.tolerance')
        supplier = [i for i in invoices if i.type == 'in'
            and i.state in {'draft', 'validated'}]
        if not supplier:
            return
        with without_check_access():
            rules = Tolerance.get_for(supplier)
        lines = [l for i in supplier for l in i.lines if l.type == 'line']
        matches = Line.match(lines, together=True)
        for line in lines:
            state, reason = matches[line.id]
            if _is_blocking(state, rules[line.invoice.id]):
                raise UserError(gettext(
                        'inventory_flow.msg_match_refused',
                        invoice=line.invoice.rec_name,
                        line=line.rec_name, reason=reason))

    @classmethod
    def validate_invoice(cls, invoices):
        cls.check_three_way_match(invoices)
        super().validate_invoice(invoices)

    @classmethod
    def post(cls, invoices):
        cls.check_three_way_match(invoices)
        super().post(invoices)

    @classmethod
    def post_batch(cls, invoices):
        cls.check_three_way_match(invoices)
        super().post_batch(invoices)

    @classmethod
    @ModelView.button_action('inventory_flow.wizard_match_accept')
    def accept_match(cls, invoices):
        pass

    @classmethod
    def accept_mismatches(cls, invoices, comment):
        """Accept the current mismatches of ``invoices`` with ``comment``
        (Finance group only); return the acceptances created."""
        pool = Pool()
        Acceptance = pool.get('account.invoice.match.acceptance')
        Line = pool.get('account.invoice.line')
        Tolerance = pool.get('account.invoice.match.tolerance')
        if not _is_finance():
            raise AccessError(gettext('inventory_flow.msg_match_accept_group'))
        if not (comment or '').strip():
            raise UserError(gettext(
                    'inventory_flow.msg_match_accept_comment'))
        now = dt.datetime.now()
        user = Transaction().user
        to_create = []
        with without_check_access():
            invoices = cls.browse(invoices)
            for invoice in invoices:
                if invoice.type != 'in' or invoice.state not in {
                        'draft', 'validated'}:
                    raise UserError(gettext(
                            'inventory_flow.msg_match_accept_state',
                            invoice=invoice.rec_name))
            rules = Tolerance.get_for(invoices)
            lines = [l for i in invoices for l in i.lines if l.type == 'line']
            matches = Line.match(lines, with_acceptances=False)
        for line in lines:
            state, reason = matches[line.id]
            if _is_blocking(state, rules[line.invoice.id]):
                to_create.append({
                        'invoice': line.invoice.id,
                        'invoice_line': line.id,
                        'state': state,
                        'reason': reason,
                        'quantity': line.quantity,
                        'unit_price': line.unit_price,
                        'comment': comment.strip(),
                        'accepted_by': user,
                        'accepted_at': now,
                        })
        if not to_create:
            raise UserError(gettext(
                    'inventory_flow.msg_match_accept_nothing',
                    invoices=', '.join(i.rec_name for i in invoices)))
        with without_check_access():
            return Acceptance.create(to_create)


def _is_blocking(state, rule):
    "Whether a line in ``state`` stops the posting under ``rule``"
    return state in three_way.MISMATCH_STATES or (
        state == 'no_purchase_line' and bool(
            rule and rule.require_purchase_line))


def _invoice_state(states, rule):
    if not states:
        return None
    if any(_is_blocking(s, rule) for s in states):
        return 'mismatch'
    if 'accepted' in states:
        return 'accepted'
    return 'matched'


def _compare(value, operator, operand):
    if operator == '=':
        return value == operand
    if operator == '!=':
        return value != operand
    if operator == 'in':
        return value in operand
    if operator == 'not in':
        return value not in operand
    return False


class InvoiceLine(metaclass=PoolMeta):
    __name__ = 'account.invoice.line'

    match_state = fields.Function(fields.Selection(
            LINE_STATES, "Match State",
            help="The three-way match of this supplier invoice line against "
            "its purchase order line and the quantity received."),
        'get_match')
    match_reason = fields.Function(fields.Text(
            "Match Reason",
            help="Why the line does not match, with the expected and the "
            "invoiced figures."),
        'get_match')

    @classmethod
    def get_match(cls, lines, names):
        result = {n: {l.id: None for l in lines} for n in names}
        matches = cls.match(
            [l for l in lines if l.type == 'line'
                and (l.invoice_type == 'in' or (
                        l.invoice and l.invoice.type == 'in'))])
        for line_id, (state, reason) in matches.items():
            if 'match_state' in names:
                result['match_state'][line_id] = state
            if 'match_reason' in names:
                result['match_reason'][line_id] = reason
        return result

    @classmethod
    def match(cls, lines, together=False, with_acceptances=True):
        """Return {line id: (state, reason in words)} for supplier invoice
        ``lines``.  ``together``: the lines are booked at once, so lines of
        the same purchase line count against each other."""
        with without_check_access():
            return cls._match(
                cls.browse([l.id for l in lines]), together,
                with_acceptances)

    @classmethod
    def _match(cls, lines, together, with_acceptances):
        pool = Pool()
        PurchaseLine = pool.get('purchase.line')
        Move = pool.get('stock.move')
        Tolerance = pool.get('account.invoice.match.tolerance')
        Acceptance = pool.get('account.invoice.match.acceptance')
        Uom = pool.get('product.uom')
        Currency = pool.get('currency.currency')
        Date = pool.get('ir.date')
        if not lines:
            return {}
        invoices = {l.invoice for l in lines}
        rules = Tolerance.get_for(list(invoices))
        purchase_lines = {l.origin for l in lines
            if isinstance(l.origin, PurchaseLine)}
        purchase_line_ids = [p.id for p in purchase_lines]

        # Receipts: one search over the done moves of all the purchase lines
        received = defaultdict(float)
        for move in Move.search([
                    ('origin', 'in', [str(p) for p in purchase_lines]),
                    ('state', '=', 'done'),
                    ]):
            purchase_line = move.origin
            quantity = Uom.compute_qty(
                move.unit, move.quantity, purchase_line.unit, round=False)
            if (move.from_location.type == 'supplier'
                    and move.to_location.type != 'supplier'):
                received[purchase_line.id] += quantity
            elif (move.to_location.type == 'supplier'
                    and move.from_location.type != 'supplier'):
                received[purchase_line.id] -= quantity

        # Booked invoice lines of the same purchase lines: all of them but
        # the line itself, or but the whole batch when it is booked together
        booked = defaultdict(float)
        booked_lines = {}
        line_ids = [l.id for l in lines]
        for other in cls.search([
                    ('origin', 'in', [str(p) for p in purchase_lines]),
                    ('type', '=', 'line'),
                    ('invoice.state', 'in', BOOKED_STATES),
                    ]):
            purchase_line = other.origin
            quantity = Uom.compute_qty(
                other.unit or purchase_line.unit, other.quantity,
                purchase_line.unit, round=False)
            booked[purchase_line.id] += quantity
            booked_lines[other.id] = quantity
        invoiced_before = defaultdict(float, booked)
        if together:
            for line in lines:
                if line.id in booked_lines:
                    invoiced_before[line.origin.id] -= booked_lines[line.id]

        acceptances = defaultdict(list)
        if with_acceptances:
            for acceptance in Acceptance.search([
                        ('invoice_line', 'in', line_ids),
                        ]):
                acceptances[acceptance.invoice_line.id].append(acceptance)

        facts = []
        tolerances = {}
        results = {}
        for line in lines:
            rule = rules.get(line.invoice.id)
            purchase_line = line.origin
            if (not isinstance(purchase_line, PurchaseLine)
                    or purchase_line.id not in purchase_line_ids):
                results[line.id] = three_way.no_purchase_line()
                continue
            unit = purchase_line.unit
            quantity = line.quantity or 0
            unit_price = line.unit_price or 0
            if line.unit and unit and line.unit != unit:
                quantity = Uom.compute_qty(
                    line.unit, quantity, unit, round=False)
                unit_price = Uom.compute_price(line.unit, unit_price, unit)
            ordered_price = purchase_line.unit_price or 0
            tolerance = rule.tolerance if rule else three_way.Tolerance()
            currency = line.invoice.currency
            if purchase_line.currency and purchase_line.currency != currency:
                with Transaction().set_context(
                        date=line.invoice.invoice_date or Date.today()):
                    ordered_price = Currency.compute(
                        purchase_line.currency, ordered_price, currency,
                        round=False)
            if tolerance.price_amount is not None and (
                    line.invoice.company.currency != currency):
                with Transaction().set_context(
                        date=line.invoice.invoice_date or Date.today()):
                    tolerance = three_way.Tolerance(
                        tolerance.price_percentage,
                        Currency.compute(line.invoice.company.currency,
                            tolerance.price_amount, currency, round=False),
                        tolerance.quantity_percentage,
                        tolerance.quantity_amount)
            goods = (purchase_line.product
                and purchase_line.product.type != 'service')
            on_order = purchase_line.purchase.invoice_method in {
                'order', 'manual'}
            if not goods or (on_order and rule
                    and rule.order_basis == 'ordered'):
                reference = None
            else:
                reference = received.get(purchase_line.id, 0.0)
            facts.append((line.id, purchase_line.id, three_way.LineFacts(
                        ordered=purchase_line.quantity or 0,
                        ordered_price=ordered_price,
                        received=reference,
                        invoiced_before=invoiced_before[purchase_line.id]
                        - (0 if together else booked_lines.get(line.id, 0)),
                        quantity=quantity,
                        unit_price=unit_price,
                        rounding=unit.rounding if unit else 0)))
            tolerances[line.id] = tolerance
        if together:
            results.update(three_way.match_lines(facts, tolerances))
        else:
            for key, _, fact in facts:
                results[key] = three_way.match_line(fact, tolerances[key])

        by_id = {l.id: l for l in lines}
        answer = {}
        for line_id, result in results.items():
            line = by_id[line_id]
            state = result.state
            reason = _reason_text(line, result)
            if state != 'matched' and any(
                    a.covers(line) and a.state == state
                    for a in acceptances.get(line_id, [])):
                accepted = acceptances[line_id][0]
                reason = gettext('inventory_flow.msg_match_reason_accepted',
                    reason=reason, user=accepted.accepted_by.rec_name
                    if accepted.accepted_by else '',
                    comment=accepted.comment)
                state = 'accepted'
            answer[line_id] = (state, reason)
        return answer


def _reason_text(line, result):
    "The reasons of ``result`` in the user's language"
    pool = Pool()
    Lang = pool.get('ir.lang')
    lang = Lang.get()
    purchase_line = line.origin
    unit = getattr(purchase_line, 'unit', None) or line.unit
    currency = line.invoice.currency
    unit_name = unit.symbol if unit else ''

    def qty(value):
        if unit:
            value = unit.round(value)
            digits = unit.digits
        else:
            digits = 2
        return lang.format_number(value, digits)

    def money(value):
        exponent = value.normalize().as_tuple().exponent
        digits = min(max(currency.digits, -exponent), 4)
        return lang.currency(value, currency, digits=digits)

    if result.state == 'matched':
        return gettext('inventory_flow.msg_match_reason_matched')
    texts = []
    for reason in result.reasons:
        values = reason.values
        if reason.code == 'no_purchase_line':
            texts.append(gettext('inventory_flow.msg_match_reason_no_purchase'))
        elif reason.code == 'not_received':
            texts.append(gettext(
                    'inventory_flow.msg_match_reason_not_received',
                    quantity=qty(values['quantity']), unit=unit_name,
                    ordered=qty(values['ordered']),
                    purchase_line=purchase_line.rec_name))
        elif reason.code in {'over_received', 'over_ordered'}:
            texts.append(gettext(
                    f'inventory_flow.msg_match_reason_{reason.code}',
                    invoiced=qty(values['invoiced']), unit=unit_name,
                    before=qty(values['invoiced_before']),
                    reference=qty(values['reference']),
                    allowed=qty(values['allowed'])))
        elif reason.code == 'price':
            texts.append(gettext(
                    'inventory_flow.msg_match_reason_price',
                    price=money(values['price']), unit=unit_name,
                    expected=money(values['expected']),
                    allowed=money(values['allowed'])))
    return ' '.join(texts)


class MatchAcceptStart(ModelView):
    "Accept Three-Way Match Mismatch"
    __name__ = 'account.invoice.match.accept.start'
    invoice = fields.Many2One('account.invoice', "Invoice", readonly=True)
    summary = fields.Text("Mismatches", readonly=True)
    comment = fields.Text(
        "Comment", required=True,
        help="Why the invoice may be posted despite the mismatch: kept with "
        "your name and the time.")


class MatchAccept(Wizard):
    "Accept Three-Way Match Mismatch"
    __name__ = 'account.invoice.match.accept'
    start = StateView('account.invoice.match.accept.start',
        'inventory_flow.match_accept_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Accept", 'accept', 'tryton-ok', default=True),
            ])
    accept = StateTransition()

    def default_start(self, fields):
        if not _is_finance():
            raise AccessError(gettext('inventory_flow.msg_match_accept_group'))
        return {
            'invoice': self.record.id,
            'summary': self.record.match_summary,
            }

    def transition_accept(self):
        self.model.accept_mismatches([self.record], self.start.comment)
        return 'end'

    def end(self):
        return 'reload'


__all__ = [
    'MatchTolerance', 'MatchAcceptance', 'Invoice', 'InvoiceLine',
    'MatchAcceptStart', 'MatchAccept']
