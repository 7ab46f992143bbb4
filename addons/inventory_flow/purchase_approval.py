"""Purchase approval chains (A2) configured as records (D1), with an
immutable trail (D3).

Submitting a purchase (Tryton's *Quote* button) computes its chain once from
the rules (``approval.py``) and stores it on the purchase: one
``purchase.approval`` record per sequential level, its approvers fixed at that
moment, so later rule edits do not rewrite history.  *Confirm* is refused
until the chain is complete.  Approvers decide through the *Approve* and
*Reject* buttons (a wizard asking for a comment); a rejection returns the
purchase to draft with the reason.  Going back to draft and changing the
lines or the amount restarts the chain at the next submission.
"""
import datetime as dt
import hashlib
import json
from decimal import Decimal

from sql import Null

from trytond.exceptions import UserError
from trytond.i18n import gettext
from trytond.model import (
    DeactivableMixin, Index, ModelSQL, ModelView, Workflow, fields,
    sequence_ordered)
from trytond.model.exceptions import AccessError
from trytond.model.fields.selection import TranslatedSelection
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Bool, Eval, If
from trytond.sendmail import send_message_transactional
from trytond.transaction import Transaction, without_check_access
from trytond.wizard import Button, StateTransition, StateView, Wizard

from . import approval as chain_logic

MODES = [
    ('any', "Any One of Them"),
    ('all', "All of Them"),
    ]
APPROVAL_STATES = [
    (None, ""),
    ('not_required', "Not Required"),
    ('pending', "Pending"),
    ('approved', "Approved"),
    ('rejected', "Rejected"),
    ]
LEVEL_STATES = [
    ('waiting', "Waiting"),
    ('open', "Open"),
    ('approved', "Approved"),
    ('rejected', "Rejected"),
    ('cancelled', "Cancelled"),
    ]
TRAIL_ACTIONS = [
    ('submit', "Submitted"),
    ('not_required', "No Approval Required"),
    ('kept', "Resubmitted Unchanged"),
    ('restart', "Restarted"),
    ('approve', "Approved"),
    ('reject', "Rejected"),
    ('withdraw', "Withdrawn"),
    ('remind', "Reminded"),
    ('escalate', "Escalated"),
    ]


def _user_error(error):
    "The UserError for an ApprovalError of the pure module"
    return UserError(gettext(
            f'inventory_flow.msg_approval_{error.code}', **error.values))


class ApprovalRule(DeactivableMixin, sequence_ordered('priority', "Priority"),
        ModelSQL, ModelView):
    "Purchase Approval Rule"
    __name__ = 'purchase.approval.rule'
    _history = True

    name = fields.Char("Name", required=True)
    company = fields.Many2One('company.company', "Company", required=True)
    amount_min = fields.Numeric(
        "Minimum Amount", digits=(16, 2),
        help="Untaxed amount in company currency from which the rule "
        "applies (included).")
    amount_max = fields.Numeric(
        "Maximum Amount", digits=(16, 2),
        help="Untaxed amount in company currency up to which the rule "
        "applies (excluded).")
    categories = fields.Many2Many(
        'purchase.approval.rule-product.category', 'rule', 'category',
        "Product Categories",
        context={'company': Eval('company', -1)}, depends={'company'},
        help="Applies when a line's product is in one of these categories "
        "(empty: any).")
    suppliers = fields.Many2Many(
        'purchase.approval.rule-party.party', 'rule', 'party', "Suppliers",
        context={'company': Eval('company', -1)}, depends={'company'},
        help="Empty: any supplier.")
    warehouses = fields.Many2Many(
        'purchase.approval.rule-stock.location', 'rule', 'location',
        "Warehouses", domain=[('type', '=', 'warehouse')],
        help="Empty: any warehouse.")
    exclusive = fields.Boolean(
        "Exclusive", help="When this rule applies, rules of a higher "
        "priority number are not applied.")
    steps = fields.One2Many('purchase.approval.rule.step', 'rule', "Steps")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.priority.help = ("Lower numbers apply first; an exclusive rule "
            "stops the ones after it.")

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    def to_logic(self):
        "The rule as the pure module's Rule"
        return chain_logic.Rule(
            id=self.id, priority=self.priority or 0,
            amount_min=self.amount_min, amount_max=self.amount_max,
            categories={c.id for c in self.categories},
            suppliers={p.id for p in self.suppliers},
            warehouses={w.id for w in self.warehouses},
            exclusive=bool(self.exclusive), name=self.name,
            steps=[s.to_logic() for s in self.steps])

    @classmethod
    def validate(cls, rules):
        super().validate(rules)
        for rule in rules:
            try:
                chain_logic.check_rule(rule.to_logic())
            except chain_logic.ApprovalError as error:
                raise _user_error(chain_logic.ApprovalError(
                        error.code, error.field, rule=rule.rec_name,
                        **error.values)) from error


class ApprovalRuleCategory(ModelSQL):
    "Purchase Approval Rule - Product Category"
    __name__ = 'purchase.approval.rule-product.category'
    rule = fields.Many2One(
        'purchase.approval.rule', "Rule", required=True, ondelete='CASCADE')
    category = fields.Many2One(
        'product.category', "Category", required=True, ondelete='CASCADE')


class ApprovalRuleParty(ModelSQL):
    "Purchase Approval Rule - Party"
    __name__ = 'purchase.approval.rule-party.party'
    rule = fields.Many2One(
        'purchase.approval.rule', "Rule", required=True, ondelete='CASCADE')
    party = fields.Many2One(
        'party.party', "Party", required=True, ondelete='CASCADE')


class ApprovalRuleLocation(ModelSQL):
    "Purchase Approval Rule - Location"
    __name__ = 'purchase.approval.rule-stock.location'
    rule = fields.Many2One(
        'purchase.approval.rule', "Rule", required=True, ondelete='CASCADE')
    location = fields.Many2One(
        'stock.location', "Location", required=True, ondelete='CASCADE')


class ApprovalRuleStep(sequence_ordered(), ModelSQL, ModelView):
    "Purchase Approval Rule Step"
    __name__ = 'purchase.approval.rule.step'

    rule = fields.Many2One(
        'purchase.approval.rule', "Rule", required=True, ondelete='CASCADE')
    name = fields.Char("Name", required=True)
    mode = fields.Selection(MODES, "Mode", required=True)
    users = fields.Many2Many(
        'purchase.approval.rule.step-res.user', 'step', 'user', "Users")
    group = fields.Many2One(
        'res.group', "Group", ondelete='RESTRICT',
        help="Its members at submission time are approvers too.")
    remind_after = fields.Integer(
        "Remind After", help="Hours after the step opens.",
        domain=['OR', ('remind_after', '=', None), ('remind_after', '>', 0)])
    escalate_after = fields.Integer(
        "Escalate After", help="Hours after the step opens.",
        domain=['OR', ('escalate_after', '=', None),
            ('escalate_after', '>', 0)],
        states={'required': Bool(Eval('fallback'))})
    fallback = fields.Many2One(
        'res.user', "Fallback",
        states={'required': Bool(Eval('escalate_after'))},
        help="Who may decide the step once it is escalated.")

    @classmethod
    def default_mode(cls):
        return 'any'

    @classmethod
    def validate(cls, steps):
        super().validate(steps)
        Pool().get('purchase.approval.rule').validate(
            list({s.rule for s in steps}))

    def approver_ids(self):
        ids = {u.id for u in self.users}
        if self.group:
            ids |= {u.id for u in self.group.users if u.active}
        return ids

    def to_logic(self):
        return chain_logic.Step(
            self.name, self.approver_ids(), self.mode, key=self.id)


class ApprovalRuleStepUser(ModelSQL):
    "Purchase Approval Rule Step - User"
    __name__ = 'purchase.approval.rule.step-res.user'
    step = fields.Many2One(
        'purchase.approval.rule.step', "Step", required=True,
        ondelete='CASCADE')
    user = fields.Many2One(
        'res.user', "User", required=True, ondelete='CASCADE')


class Delegation(ModelSQL, ModelView):
    "Purchase Approval Delegation"
    __name__ = 'purchase.approval.delegation'

    user = fields.Many2One('res.user', "Approver", required=True)
    substitute = fields.Many2One(
        'res.user', "Substitute", required=True,
        domain=[('id', '!=', Eval('user', -1))])
    start_date = fields.Date("Start Date", required=True)
    end_date = fields.Date(
        "End Date", required=True,
        domain=[('end_date', '>=', Eval('start_date'))])

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order.insert(0, ('start_date', 'DESC'))

    @classmethod
    def default_user(cls):
        return Transaction().user

    @classmethod
    def default_start_date(cls):
        return Pool().get('ir.date').today()

    def get_rec_name(self, name):
        return f'{self.user.rec_name} → {self.substitute.rec_name}'

    @classmethod
    def active_map(cls, date=None):
        "{approver: substitute} of the delegations in force at the date"
        date = date or Pool().get('ir.date').today()
        with without_check_access():
            delegations = cls.search([
                    ('start_date', '<=', date),
                    ('end_date', '>=', date),
                    ])
        return {d.user.id: d.substitute.id for d in delegations}

    @classmethod
    def validate(cls, delegations):
        super().validate(delegations)
        with without_check_access():
            for delegation in delegations:
                if delegation.substitute == delegation.user:
                    raise UserError(gettext(
                            'inventory_flow.msg_approval_delegate_self'))
                overlapping = cls.search([
                        ('start_date', '<=', delegation.end_date),
                        ('end_date', '>=', delegation.start_date),
                        ])
                edges = {}
                for other in overlapping:
                    if (other.user == delegation.user
                            and other.id != delegation.id):
                        raise UserError(gettext(
                                'inventory_flow.msg_approval_delegation_overlap',
                                user=delegation.user.rec_name))
                    edges[other.user.id] = other.substitute.id
                cycle = chain_logic.delegation_cycle(edges)
                if cycle:
                    User = Pool().get('res.user')
                    raise UserError(gettext(
                            'inventory_flow.msg_approval_delegation_loop',
                            users=' → '.join(
                                User(u).rec_name for u in cycle)))


class Approval(ModelSQL, ModelView):
    "Purchase Approval Level"
    __name__ = 'purchase.approval'

    purchase = fields.Many2One(
        'purchase.purchase', "Purchase", required=True, ondelete='CASCADE',
        readonly=True)
    generation = fields.Integer("Submission", readonly=True)
    sequence = fields.Integer("Level", readonly=True)
    rule = fields.Many2One(
        'purchase.approval.rule', "Rule", readonly=True, ondelete='SET NULL')
    rule_name = fields.Char("Rule Name", readonly=True)
    step_name = fields.Char("Step", readonly=True)
    mode = fields.Selection(MODES, "Mode", readonly=True)
    approvers = fields.Many2Many(
        'purchase.approval-res.user', 'approval', 'user', "Approvers",
        readonly=True)
    approver_names = fields.Function(
        fields.Char("Approvers"), 'get_approver_names')
    fallback = fields.Many2One('res.user', "Fallback", readonly=True)
    remind_after = fields.Integer("Remind After", readonly=True)
    escalate_after = fields.Integer("Escalate After", readonly=True)
    state = fields.Selection(LEVEL_STATES, "State", readonly=True)
    opened_at = fields.Timestamp("Opened At", readonly=True)
    decided_at = fields.Timestamp("Decided At", readonly=True)
    hours = fields.Float(
        "Hours", digits=(16, 1), readonly=True,
        help="From the opening of the level to its decision.")
    reminded = fields.Boolean("Reminded", readonly=True)
    escalated = fields.Boolean("Escalated", readonly=True)
    pending_for_me = fields.Function(
        fields.Boolean("Pending for Me"), 'get_pending_for_me',
        searcher='search_pending_for_me')
    supplier = fields.Function(
        fields.Many2One('party.party', "Supplier"), 'get_purchase_field')
    amount = fields.Function(
        fields.Numeric("Untaxed Amount", digits=(16, 2)),
        'get_purchase_field')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [
            ('purchase', 'DESC'), ('generation', 'DESC'), ('sequence', 'ASC'),
            ('id', 'ASC')]
        t = cls.__table__()
        cls._sql_indexes.update({
                Index(t, (t.state, Index.Equality(cardinality='low')),
                    where=t.state == 'open'),
                Index(t, (t.purchase, Index.Range()),
                    (t.generation, Index.Range())),
                })

    def get_rec_name(self, name):
        return f'{self.purchase.rec_name} · {self.sequence}. {self.step_name}'

    def get_approver_names(self, name):
        return ', '.join(sorted(u.rec_name for u in self.approvers))

    def get_purchase_field(self, name):
        if name == 'supplier':
            return self.purchase.party.id
        return self.purchase.untaxed_amount

    @classmethod
    def get_pending_for_me(cls, approvals, name):
        pending = set(map(int, cls.search([
                        ('id', 'in', [a.id for a in approvals]),
                        ('pending_for_me', '=', True),
                        ])))
        return {a.id: a.id in pending for a in approvals}

    @classmethod
    def search_pending_for_me(cls, name, clause):
        """Open levels the current user may decide: as an approver, as the
        substitute of one (delegation in force today) or as the fallback of
        an escalated level — one set-based query (D4: "My approvals")."""
        pool = Pool()
        Rel = pool.get('purchase.approval-res.user')
        Trail = pool.get('purchase.approval.trail')
        Delegation = pool.get('purchase.approval.delegation')
        user = Transaction().user
        # whom the user stands for today (delegations chain to the user)
        delegations = Delegation.active_map()
        represented = {user} | {
            approver for approver in delegations
            if chain_logic.acting_for(user, {approver}, delegations)}
        approval = cls.__table__()
        rel = Rel.__table__()
        trail = Trail.__table__()
        may_decide = approval.select(approval.id,
            where=(approval.state == 'open')
            & (approval.id.in_(rel.select(rel.approval,
                        where=rel.user.in_(list(represented))))
                | ((approval.escalated == True)  # noqa: E712
                    & (approval.fallback == user))))
        # without the levels the user already decided
        decided = trail.select(trail.approval,
            where=(trail.user == user) & trail.action.in_(
                ['approve', 'reject']) & (trail.approval != Null))
        query = approval.select(approval.id,
            where=approval.id.in_(may_decide) & ~approval.id.in_(decided))
        _, operator, value = clause
        positive = (operator == '=') == bool(value)
        return [('id', 'in' if positive else 'not in', query)]

    @classmethod
    def check_modification(cls, mode, approvals, values=None, external=False):
        super().check_modification(
            mode, approvals, values=values, external=external)
        if external and mode in {'write', 'delete'}:
            raise AccessError(gettext(
                    'inventory_flow.msg_approval_level_readonly'))


class ApprovalUser(ModelSQL):
    "Purchase Approval - User"
    __name__ = 'purchase.approval-res.user'
    approval = fields.Many2One(
        'purchase.approval', "Approval", required=True, ondelete='CASCADE')
    user = fields.Many2One(
        'res.user', "User", required=True, ondelete='CASCADE')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.add(
            Index(t, (t.user, Index.Equality()), (t.approval, Index.Range())))


class ApprovalTrail(ModelSQL, ModelView):
    "Purchase Approval Trail"
    __name__ = 'purchase.approval.trail'

    purchase = fields.Many2One(
        'purchase.purchase', "Purchase", required=True, ondelete='CASCADE',
        readonly=True)
    approval = fields.Many2One(
        'purchase.approval', "Level", readonly=True, ondelete='SET NULL')
    generation = fields.Integer("Submission", readonly=True)
    action = fields.Selection(TRAIL_ACTIONS, "Action", readonly=True)
    user = fields.Many2One('res.user', "User", readonly=True)
    on_behalf_of = fields.Many2One('res.user', "On Behalf Of", readonly=True)
    comment = fields.Text("Comment", readonly=True)
    hours = fields.Float("Hours", digits=(16, 1), readonly=True,
        help="From the opening of the level to this decision.")
    date = fields.Function(fields.Timestamp("Date"), 'get_date')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('create_date', 'ASC'), ('id', 'ASC')]
        t = cls.__table__()
        cls._sql_indexes.add(Index(t, (t.approval, Index.Range()),
                (t.user, Index.Equality())))

    def get_date(self, name):
        return self.create_date

    @classmethod
    def check_modification(cls, mode, records, values=None, external=False):
        super().check_modification(
            mode, records, values=values, external=external)
        # the trail is immutable for everybody (D3)
        if mode in {'write', 'delete'}:
            raise AccessError(gettext(
                    'inventory_flow.msg_approval_trail_immutable'))

    @classmethod
    def log(cls, purchase, action, approval=None, comment=None,
            on_behalf_of=None, hours=None, user=None):
        with without_check_access():
            return cls.create([{
                        'purchase': purchase.id,
                        'approval': approval.id if approval else None,
                        'generation': purchase.approval_generation,
                        'action': action,
                        'user': user or Transaction().user,
                        'on_behalf_of': on_behalf_of,
                        'comment': comment,
                        'hours': hours,
                        }])[0]


class Configuration(metaclass=PoolMeta):
    __name__ = 'purchase.configuration'
    approval_email = fields.Boolean(
        "Approval E-mails",
        help="Also e-mail approvers (through the server's SMTP settings) "
        "when a step opens for them.")


class Purchase(metaclass=PoolMeta):
    __name__ = 'purchase.purchase'

    approval_state = fields.Selection(
        APPROVAL_STATES, "Approval", readonly=True)
    approval_state_string = approval_state.translated('approval_state')
    purchase_state_string = TranslatedSelection('state')
    approval_generation = fields.Integer("Approval Submission", readonly=True)
    approval_fingerprint = fields.Char("Approval Fingerprint", readonly=True)
    approval_requester = fields.Many2One(
        'res.user', "Requester", readonly=True)
    approvals = fields.One2Many(
        'purchase.approval', 'purchase', "Approval Levels", readonly=True)
    approval_trail = fields.One2Many(
        'purchase.approval.trail', 'purchase', "Approval Trail",
        readonly=True)
    approval_step = fields.Function(
        fields.Char("Open Approval Step"), 'get_approval_step')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._buttons.update({
                'approval_decide': {
                    'invisible': ((Eval('state') != 'quotation')
                        | (Eval('approval_state') != 'pending')),
                    'icon': 'tryton-ok',
                    'depends': ['state', 'approval_state'],
                    },
                })
        confirm = cls._buttons['confirm']
        readonly = Eval('approval_state').in_(['pending', 'rejected'])
        if 'readonly' in confirm:
            readonly = confirm['readonly'] | readonly
        confirm['readonly'] = readonly
        confirm['depends'] = list(confirm.get('depends', [])) + [
            'approval_state']

    @classmethod
    def copy(cls, purchases, default=None):
        default = default.copy() if default is not None else {}
        for name in ['approval_state', 'approval_generation',
                'approval_fingerprint', 'approval_requester', 'approvals',
                'approval_trail']:
            default.setdefault(name, None)
        return super().copy(purchases, default=default)

    def get_approval_step(self, name):
        for level in self.approvals:
            if (level.generation == self.approval_generation
                    and level.state == 'open'):
                names = ', '.join(u.rec_name for u in level.approvers)
                return f'{level.sequence}. {level.step_name} ({names})'

    def approval_document(self):
        "What the rules look at (amount in company currency)"
        pool = Pool()
        Currency = pool.get('currency.currency')
        amount = self.untaxed_amount or Decimal(0)
        if self.currency != self.company.currency:
            with Transaction().set_context(
                    date=self.purchase_date or pool.get('ir.date').today()):
                amount = Currency.compute(
                    self.currency, amount, self.company.currency)
        categories = set()
        for line in self.lines:
            product = getattr(line, 'product', None)
            if product:
                for category in product.categories_all:
                    categories.add(category.id)
                    parent = category.parent
                    while parent:
                        categories.add(parent.id)
                        parent = parent.parent
        return chain_logic.Document(
            amount=amount, supplier=self.party.id,
            warehouse=self.warehouse.id if self.warehouse else None,
            categories=categories)

    def approval_requesters(self, submitter=None):
        "The PO's creator and submitter: never approvers of it"
        users = {self.create_uid.id if self.create_uid else None,
            submitter or (self.approval_requester.id
                if self.approval_requester else None)}
        # root (0) creates records for scripts and crons, it is nobody
        return users - {None, 0}

    def approval_fingerprint_value(self):
        "Changes when the lines or the amount change (restarts the chain)"
        lines = sorted(
            (getattr(l, 'type', 'line'),
                l.product.id if getattr(l, 'product', None) else None,
                str(l.quantity), str(l.unit_price),
                l.unit.id if getattr(l, 'unit', None) else None,
                l.description or '')
            for l in self.lines)
        payload = json.dumps([
                str(self.untaxed_amount), self.party.id,
                self.warehouse.id if self.warehouse else None,
                self.currency.id, lines])
        return hashlib.sha256(payload.encode()).hexdigest()

    @classmethod
    def quote(cls, purchases):
        super().quote(purchases)
        cls.submit_approval(purchases)

    @classmethod
    def submit_approval(cls, purchases):
        """Compute and store each purchase's chain (or keep an approved one
        when nothing changed) and open its first level."""
        pool = Pool()
        Rule = pool.get('purchase.approval.rule')
        Approval = pool.get('purchase.approval')
        Trail = pool.get('purchase.approval.trail')
        user = Transaction().user
        with without_check_access():
            rules = Rule.search([])
            rule_set = chain_logic.RuleSet([r.to_logic() for r in rules])
        step_records = {s.id: s for r in rules for s in r.steps}
        to_open = []
        for purchase in purchases:
            fingerprint = purchase.approval_fingerprint_value()
            if (purchase.approval_state in {'approved', 'not_required'}
                    and purchase.approval_fingerprint == fingerprint):
                Trail.log(purchase, 'kept')
                continue
            previous = purchase.approval_generation or 0
            requester = user or (
                purchase.create_uid.id if purchase.create_uid else None)
            try:
                chain = chain_logic.build_chain(
                    None, purchase.approval_document(),
                    purchase.approval_requesters(requester),
                    rule_set=rule_set)
            except chain_logic.ApprovalError as error:
                raise _user_error(error) from error
            values = {
                'approval_generation': previous + 1,
                'approval_fingerprint': fingerprint,
                'approval_requester': requester,
                'approval_state': 'pending' if chain else 'not_required',
                }
            with without_check_access():
                cls.write([purchase], values)
                if previous:
                    old = Approval.search([
                            ('purchase', '=', purchase.id),
                            ('state', 'in', ['waiting', 'open']),
                            ])
                    Approval.write(old, {'state': 'cancelled'})
                    Trail.log(purchase, 'restart', comment=gettext(
                            'inventory_flow.msg_approval_restart_reason'))
                Trail.log(purchase,
                    'submit' if chain else 'not_required')
                levels = Approval.create([{
                            'purchase': purchase.id,
                            'generation': previous + 1,
                            'sequence': level.sequence,
                            'rule': level.rule.id,
                            'rule_name': level.rule.name,
                            'step_name': level.name,
                            'mode': level.mode,
                            'approvers': [('add', sorted(level.approvers))],
                            'fallback': step_records[level.step.key].fallback,
                            'remind_after': (
                                step_records[level.step.key].remind_after),
                            'escalate_after': (
                                step_records[level.step.key].escalate_after),
                            'state': 'waiting',
                            } for level in chain])
            if levels:
                to_open.append(levels[0])
        if to_open:
            cls._open_levels(to_open)

    @classmethod
    def _open_levels(cls, levels):
        pool = Pool()
        Approval = pool.get('purchase.approval')
        now = dt.datetime.now()
        with without_check_access():
            Approval.write(levels, {'state': 'open', 'opened_at': now})
        for level in levels:
            cls._notify(level.purchase, level.approvers, 'open', level)

    @classmethod
    def _notify(cls, purchase, users, kind, level=None):
        """A res.notification for each user (and their substitute in
        force) and, when configured, an e-mail."""
        pool = Pool()
        Notification = pool.get('res.notification')
        Delegation = pool.get('purchase.approval.delegation')
        Configuration = pool.get('purchase.configuration')
        User = pool.get('res.user')
        delegations = Delegation.active_map()
        ids = set()
        for user in filter(None, users):
            user_id = int(user)
            ids.add(user_id)
            if user_id in delegations:
                ids.add(delegations[user_id])
        label = gettext(f'inventory_flow.msg_approval_notify_{kind}',
            purchase=purchase.rec_name,
            step=level.step_name if level else '')
        with without_check_access():
            Notification.create([{
                        'user': u,
                        'label': label,
                        'description': purchase.party.rec_name,
                        'model': 'purchase.purchase',
                        'records': json.dumps([purchase.id]),
                        } for u in sorted(ids)])
            if Configuration(1).approval_email:
                from email.message import EmailMessage
                for user in User.browse(sorted(ids)):
                    if not user.email:
                        continue
                    msg = EmailMessage()
                    msg['Subject'] = label
                    msg['To'] = user.email
                    msg.set_content(label)
                    send_message_transactional(msg)

    @classmethod
    @ModelView.button_action('inventory_flow.wizard_approval_decide')
    def approval_decide(cls, purchases):
        pass

    @classmethod
    def confirm(cls, purchases):
        for purchase in purchases:
            if purchase.approval_state not in {
                    'approved', 'not_required', None}:
                raise UserError(gettext(
                        'inventory_flow.msg_approval_confirm_pending',
                        purchase=purchase.rec_name,
                        step=purchase.approval_step or ''))
        super().confirm(purchases)

    @classmethod
    def draft(cls, purchases):
        pool = Pool()
        Approval = pool.get('purchase.approval')
        Trail = pool.get('purchase.approval.trail')
        pending = [p for p in purchases if p.approval_state == 'pending']
        super().draft(purchases)
        if pending:
            with without_check_access():
                Approval.write(Approval.search([
                            ('purchase', 'in', [p.id for p in pending]),
                            ('state', 'in', ['waiting', 'open']),
                            ]), {'state': 'cancelled'})
                cls.write(pending, {'approval_state': None})
            for purchase in pending:
                Trail.log(purchase, 'withdraw')

    @classmethod
    def approve(cls, purchases, comment=None):
        cls._decide(purchases, 'approve', comment)

    @classmethod
    def reject(cls, purchases, comment=None):
        cls._decide(purchases, 'reject', comment)

    @classmethod
    def _decide(cls, purchases, action, comment):
        """One decision of the current user on the open level of each
        purchase.  The purchase row is locked first, so two approvers of an
        "any" level deciding at the same instant are serialised: the second
        finds the level decided and is refused (the chain advances once)."""
        pool = Pool()
        Approval = pool.get('purchase.approval')
        Trail = pool.get('purchase.approval.trail')
        Delegation = pool.get('purchase.approval.delegation')
        user = Transaction().user
        cls.lock(purchases)
        purchases = cls.browse([p.id for p in purchases])
        delegations = Delegation.active_map()
        if action == 'reject' and not (comment or '').strip():
            raise UserError(gettext(
                    'inventory_flow.msg_approval_reject_reason'))
        to_draft, to_open = [], []
        now = dt.datetime.now()
        for purchase in purchases:
            if purchase.state != 'quotation' or (
                    purchase.approval_state != 'pending'):
                raise UserError(gettext(
                        'inventory_flow.msg_approval_not_pending',
                        purchase=purchase.rec_name,
                        state=(purchase.approval_state_string
                            if purchase.state == 'quotation'
                            else purchase.purchase_state_string)))
            levels = sorted(
                (l for l in purchase.approvals
                    if l.generation == purchase.approval_generation),
                key=lambda l: l.sequence)
            level = next(l for l in levels if l.state == 'open')
            decisions = [t for t in purchase.approval_trail
                if t.generation == purchase.approval_generation
                and t.action in {'approve', 'reject'} and t.approval]
            earlier = {t.user.id for t in decisions
                if t.approval.sequence < level.sequence}
            approved_for = {
                (t.on_behalf_of or t.user).id for t in decisions
                if t.approval == level and t.action == 'approve'}
            approvers = {u.id for u in level.approvers}
            logic_level = chain_logic.Level(
                level.sequence, None, chain_logic.Step(
                    level.step_name, approvers, level.mode), approvers)
            try:
                acting = chain_logic.check_decision(
                    logic_level, user, purchase.approval_requesters(),
                    approved_for, earlier,
                    delegations,
                    fallback=(level.fallback.id
                        if level.escalated and level.fallback else None))
            except chain_logic.ApprovalError as error:
                if error.code in {'self_approval', 'not_approver'}:
                    raise AccessError(gettext(
                            f'inventory_flow.msg_approval_{error.code}',
                            purchase=purchase.rec_name,
                            **error.values)) from error
                raise _user_error(error) from error
            hours = round(
                (now - level.opened_at).total_seconds() / 3600, 1)
            for approver in sorted(acting):
                Trail.log(purchase, action, approval=level, comment=comment,
                    on_behalf_of=approver if approver != user else None,
                    hours=hours)
            if action == 'reject':
                with without_check_access():
                    Approval.write([level], {
                            'state': 'rejected', 'decided_at': now,
                            'hours': hours})
                    Approval.write(
                        [l for l in levels if l.state == 'waiting'],
                        {'state': 'cancelled'})
                to_draft.append(purchase)
                continue
            if chain_logic.level_complete(
                    level.mode, approvers, approved_for | acting):
                with without_check_access():
                    Approval.write([level], {
                            'state': 'approved', 'decided_at': now,
                            'hours': hours})
                following = [l for l in levels if l.sequence > level.sequence]
                if following:
                    to_open.append(following[0])
                else:
                    with without_check_access():
                        cls.write([purchase], {'approval_state': 'approved'})
                    cls._notify(purchase, [purchase.approval_requester],
                        'approved')
        if to_open:
            cls._open_levels(to_open)
        if to_draft:
            with without_check_access():
                cls.write(to_draft, {'approval_state': 'rejected'})
                super().draft(to_draft)
            for purchase in to_draft:
                cls._notify(purchase, [purchase.approval_requester],
                    'rejected')

    @classmethod
    def approval_remind_escalate(cls):
        """Cron: remind the approvers of an open level after its
        *Remind After* hours, then escalate it to the step's fallback after
        its *Escalate After* hours."""
        pool = Pool()
        Approval = pool.get('purchase.approval')
        Trail = pool.get('purchase.approval.trail')
        now = dt.datetime.now()
        with without_check_access():
            levels = Approval.search([
                    ('state', '=', 'open'),
                    ['OR',
                        [('reminded', '!=', True),
                            ('remind_after', '!=', None)],
                        [('escalated', '!=', True),
                            ('escalate_after', '!=', None)],
                        ],
                    ])
        for level in levels:
            age = (now - level.opened_at).total_seconds() / 3600
            purchase = level.purchase
            if (level.escalate_after and not level.escalated
                    and age >= level.escalate_after and level.fallback):
                with without_check_access():
                    Approval.write([level], {
                            'escalated': True, 'reminded': True})
                Trail.log(purchase, 'escalate', approval=level,
                    on_behalf_of=level.fallback.id, user=0)
                cls._notify(purchase, [level.fallback], 'escalated', level)
            elif (level.remind_after and not level.reminded
                    and age >= level.remind_after):
                with without_check_access():
                    Approval.write([level], {'reminded': True})
                Trail.log(purchase, 'remind', approval=level, user=0)
                cls._notify(purchase, level.approvers, 'remind', level)


class IrRule(metaclass=PoolMeta):
    __name__ = 'ir.rule'

    @classmethod
    def _get_context(cls, model_name):
        context = super()._get_context(model_name)
        if model_name == 'purchase.approval.delegation':
            context['user_id'] = Transaction().user
        return context

    @classmethod
    def _get_cache_key(cls, model_names):
        key = super()._get_cache_key(model_names)
        if 'purchase.approval.delegation' in model_names:
            key = (*key, Transaction().user)
        return key


class DecideStart(ModelView):
    "Purchase Approval Decision"
    __name__ = 'purchase.approval.decide.start'
    purchase = fields.Many2One('purchase.purchase', "Purchase", readonly=True)
    step = fields.Char("Step", readonly=True)
    amount = fields.Numeric("Untaxed Amount", digits=(16, 2), readonly=True)
    comment = fields.Text(
        "Comment", help="Required to reject: the reason goes back to the "
        "requester.")


class Decide(Wizard):
    "Decide on a Purchase Approval"
    __name__ = 'purchase.approval.decide'
    start = StateView('purchase.approval.decide.start',
        'inventory_flow.approval_decide_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Reject", 'reject', 'tryton-cancel'),
            Button("Approve", 'approve', 'tryton-ok', default=True),
            ])
    approve = StateTransition()
    reject = StateTransition()

    def default_start(self, fields):
        purchase = self.record
        return {
            'purchase': purchase.id,
            'step': purchase.approval_step,
            'amount': purchase.untaxed_amount,
            }

    def transition_approve(self):
        self.model.approve([self.record], self.start.comment)
        return 'end'

    def transition_reject(self):
        self.model.reject([self.record], self.start.comment)
        return 'end'

    def end(self):
        return 'reload'


class ApprovalCycleRule(ModelSQL, ModelView):
    "Approval Cycle Time per Rule"
    __name__ = 'purchase.approval.cycle.rule'
    rule_name = fields.Char("Rule")
    step_name = fields.Char("Step")
    decisions = fields.Integer("Decisions")
    average_hours = fields.Float("Average Hours", digits=(16, 1))
    maximum_hours = fields.Float("Maximum Hours", digits=(16, 1))

    @classmethod
    def table_query(cls):
        from sql.aggregate import Avg, Count, Max, Min
        approval = Pool().get('purchase.approval').__table__()
        return approval.select(
            Min(approval.id).as_('id'),
            approval.rule_name.as_('rule_name'),
            approval.step_name.as_('step_name'),
            Count(approval.id).as_('decisions'),
            Avg(approval.hours).as_('average_hours'),
            Max(approval.hours).as_('maximum_hours'),
            where=approval.state.in_(['approved', 'rejected']),
            group_by=[approval.rule_name, approval.step_name])


class ApprovalCycleApprover(ModelSQL, ModelView):
    "Approval Cycle Time per Approver"
    __name__ = 'purchase.approval.cycle.approver'
    user = fields.Many2One('res.user', "Approver")
    decisions = fields.Integer("Decisions")
    rejections = fields.Integer("Rejections")
    average_hours = fields.Float("Average Hours", digits=(16, 1))
    maximum_hours = fields.Float("Maximum Hours", digits=(16, 1))

    @classmethod
    def table_query(cls):
        from sql.aggregate import Avg, Count, Max, Sum
        from sql.conditionals import Case
        trail = Pool().get('purchase.approval.trail').__table__()
        return trail.select(
            trail.user.as_('id'),
            trail.user.as_('user'),
            Count(trail.id).as_('decisions'),
            Sum(Case((trail.action == 'reject', 1), else_=0)).as_(
                'rejections'),
            Avg(trail.hours).as_('average_hours'),
            Max(trail.hours).as_('maximum_hours'),
            where=trail.action.in_(['approve', 'reject']),
            group_by=[trail.user])
