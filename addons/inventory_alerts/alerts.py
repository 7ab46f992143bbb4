"""Stock thresholds, alert rules and alerts (B2), and the safety stock that
feeds the purchase suggestions (A1).

* ``stock.threshold``: safety stock, minimum and maximum per product and
  warehouse, or per category and warehouse as the default of its products.
* ``stock.alert.rule``: which line (safety, minimum, maximum), which products
  or categories, what happens (purchase request, draft purchase entering the
  approval chain, notification, e-mail, over-stock flag), who owns it.
* ``stock.alert``: one per crossed line, opened once and resolved when the
  projected stock recovers (open → acknowledged → resolved).

The projected stock is *on hand − reserved* (``stock.availability`` of
inventory_flow) *+ incoming* (supplier moves planned within the threshold's
lead time).  :meth:`Threshold.crossed_rows` computes it for every SKU and
warehouse in ONE query; the pure state machine is in ``thresholds.py``.
"""
import datetime as dt
import json
import logging
import threading
from collections import defaultdict
from email.message import EmailMessage
from types import SimpleNamespace

from sql import Literal, Null, Union, With
from sql.operators import Exists
from sql.aggregate import Min, Sum
from sql.conditionals import Coalesce
from sql.functions import Function

from trytond import backend
from trytond.i18n import gettext
from trytond.model import (
    DeactivableMixin, ModelSQL, ModelView, Unique, Workflow, fields)
from trytond.model.exceptions import ValidationError
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Bool, Eval
from trytond.sendmail import send_message_transactional
from trytond.transaction import Transaction, without_check_access

from .thresholds import (
    LevelError, alert_transitions, check_levels, crossed_kinds,
    order_quantity)

logger = logging.getLogger(__name__)
_local = threading.local()

KIND_SELECTION = [
    ('safety', "Below Safety Stock"),
    ('minimum', "Below Minimum"),
    ('maximum', "Above Maximum (Over-Stock)"),
    ]
ALERT_STATES = [
    ('open', "Open"),
    ('acknowledged', "Acknowledged"),
    ('resolved', "Resolved"),
    ]
#: Category thresholds rank after product thresholds: key = id + offset
_CATEGORY_RANK = 10 ** 12


class JulianDay(Function):
    __slots__ = ()
    _function = 'JULIANDAY'


def days_until(date_column, today):
    "The SQL expression of the days from today to date_column"
    if backend.name == 'sqlite':
        return JulianDay(date_column) - JulianDay(Literal(today.isoformat()))
    return date_column - Literal(today)


def _levels_error(error, record):
    code = error.code
    values = {k: (gettext(f'inventory_alerts.msg_level_{v}')
            if k == 'level' else v) for k, v in error.values.items()}
    return ThresholdValidationError(gettext(
            f'inventory_alerts.msg_threshold_{code}',
            threshold=record.rec_name if record else '', **values))


class ThresholdValidationError(ValidationError):
    pass


class AlertRuleValidationError(ValidationError):
    pass


class Threshold(DeactivableMixin, ModelSQL, ModelView):
    "Stock Threshold"
    __name__ = 'stock.threshold'

    product = fields.Many2One('product.product', "Product",
        ondelete='CASCADE',
        states={
            'required': ~Eval('category'),
            'invisible': Bool(Eval('category')),
            },
        help="The product the levels are for; leave empty for a category "
        "default.")
    category = fields.Many2One('product.category', "Category",
        ondelete='CASCADE',
        states={
            'required': ~Eval('product'),
            'invisible': Bool(Eval('product')),
            },
        help="The levels apply to every product of the category that has "
        "no threshold of its own in the warehouse.")
    warehouse = fields.Many2One('stock.location', "Warehouse", required=True,
        domain=[('type', '=', 'warehouse')], ondelete='CASCADE',
        help="The warehouse whose stock is compared with the levels.")
    safety = fields.Float("Safety Stock",
        help="Below it the product is replenished (purchase request), in "
        "the product's default unit.")
    minimum = fields.Float("Minimum",
        help="The urgent red line, at most the safety stock.")
    maximum = fields.Float("Maximum",
        help="The over-stock ceiling, at least the safety stock; "
        "replenishment orders up to it.")
    lead_time_days = fields.Integer("Lead Time (Days)", required=True,
        help="Incoming supplier moves planned within this many days count "
        "in the projected stock.")
    buyer = fields.Many2One('res.user', "Buyer",
        help="Who is notified of this product's alerts; the rule's owner "
        "when empty.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('product_warehouse_unique',
                Unique(t, t.product, t.warehouse),
                'inventory_alerts.msg_threshold_product_unique'),
            ('category_warehouse_unique',
                Unique(t, t.category, t.warehouse),
                'inventory_alerts.msg_threshold_category_unique'),
            ]
        cls._order = [('warehouse', 'ASC'), ('id', 'ASC')]

    @classmethod
    def default_lead_time_days(cls):
        return 7

    @classmethod
    def default_warehouse(cls):
        return Pool().get('stock.location').get_default_warehouse()

    def get_rec_name(self, name):
        target = self.product or self.category
        return '%s @ %s' % (
            target.rec_name if target else '', self.warehouse.rec_name
            if self.warehouse else '')

    @classmethod
    def validate_fields(cls, thresholds, field_names):
        super().validate_fields(thresholds, field_names)
        for threshold in thresholds:
            if bool(threshold.product) == bool(threshold.category):
                raise ThresholdValidationError(gettext(
                        'inventory_alerts.msg_threshold_product_or_category'))
            try:
                check_levels(threshold.safety, threshold.minimum,
                    threshold.maximum)
            except LevelError as error:
                raise _levels_error(error, threshold) from error
            if threshold.lead_time_days is not None and (
                    threshold.lead_time_days < 0):
                raise ThresholdValidationError(gettext(
                        'inventory_alerts.msg_threshold_negative',
                        threshold=threshold.rec_name,
                        level=gettext('inventory_alerts.msg_level_lead_time'),
                        value=threshold.lead_time_days))

    # -- the set-based evaluation -------------------------------------------

    @classmethod
    def effective_query(cls, product_ids=None):
        """Query of (product, warehouse, threshold) of every SKU with a
        threshold: its own, else its category's (the lowest id when the
        product is in several categories with one)."""
        pool = Pool()
        Product = pool.get('product.product')
        TemplateCategory = pool.get('product.template-product.category')
        threshold = cls.__table__()
        category_threshold = cls.__table__()
        own_threshold = cls.__table__()
        product = Product.__table__()
        template_category = TemplateCategory.__table__()

        own_where = (threshold.product != Null) & (threshold.active == True)  # noqa: E712,E501
        category_where = ((category_threshold.category != Null)
            & (category_threshold.active == True)  # noqa: E712
            & (product.active == True)  # noqa: E712
            & ~Exists(own_threshold.select(own_threshold.id,
                    where=(own_threshold.product == product.id)
                    & (own_threshold.warehouse
                        == category_threshold.warehouse)
                    & (own_threshold.active == True))))  # noqa: E712
        if product_ids is not None:
            own_where &= threshold.product.in_(list(product_ids) or [-1])
            category_where &= product.id.in_(list(product_ids) or [-1])
        # the products' own thresholds need no aggregation: the unique
        # (product, warehouse) constraint makes them one row per SKU
        own = threshold.select(
            threshold.product.as_('product'),
            threshold.warehouse.as_('warehouse'),
            threshold.id.as_('threshold'),
            where=own_where)
        by_category = category_threshold.join(template_category,
            condition=(template_category.category
                == category_threshold.category)
            ).join(product,
                condition=product.template == template_category.template
            ).select(
                product.id.as_('product'),
                category_threshold.warehouse.as_('warehouse'),
                Min(category_threshold.id).as_('threshold'),
                where=category_where,
                group_by=[product.id, category_threshold.warehouse])
        return Union(own, by_category, all_=True)

    @classmethod
    def projection_query(cls, product_ids=None, today=None, crossed=True):
        """ONE query of (product, warehouse, threshold, safety, minimum,
        maximum, on hand, reserved, incoming, projected) for every SKU and
        warehouse with a threshold; only the rows across a line when
        ``crossed``."""
        pool = Pool()
        Availability = pool.get('stock.availability')
        Location = pool.get('stock.location')
        Move = pool.get('stock.move')
        Date = pool.get('ir.date')
        if today is None:
            today = Date.today()
        threshold = cls.__table__()
        lead_threshold = cls.__table__()
        availability = Availability.__table__()
        location = Location.__table__()
        warehouse = Location.__table__()
        move = Move.__table__()
        to_location = Location.__table__()
        from_location = Location.__table__()
        in_warehouse = Location.__table__()

        effective = With('product', 'warehouse', 'threshold',
            query=cls.effective_query(product_ids))

        stock_where = warehouse.type == 'warehouse'
        if product_ids is not None:
            stock_where &= availability.product.in_(
                list(product_ids) or [-1])
        stock = availability.join(location,
            condition=availability.location == location.id
            ).join(warehouse,
                condition=(location.left >= warehouse.left)
                & (location.right <= warehouse.right)
            ).select(
                availability.product.as_('product'),
                warehouse.id.as_('warehouse'),
                Sum(availability.on_hand).as_('on_hand'),
                Sum(availability.reserved).as_('reserved'),
                where=stock_where,
                group_by=[availability.product, warehouse.id])

        incoming_where = (move.state.in_(['draft', 'assigned', 'staging'])
            & (from_location.type == 'supplier')
            & (in_warehouse.type == 'warehouse')
            & (move.planned_date != Null))
        if product_ids is not None:
            incoming_where &= move.product.in_(list(product_ids) or [-1])
        incoming_by_date = move.join(from_location,
            condition=move.from_location == from_location.id
            ).join(to_location, condition=move.to_location == to_location.id
            ).join(in_warehouse,
                condition=(to_location.left >= in_warehouse.left)
                & (to_location.right <= in_warehouse.right)
            ).select(
                move.product.as_('product'),
                in_warehouse.id.as_('warehouse'),
                move.planned_date.as_('date'),
                Sum(move.internal_quantity).as_('quantity'),
                where=incoming_where,
                group_by=[move.product, in_warehouse.id, move.planned_date])
        # the few incoming rows meet their threshold's lead time here, so
        # the outer query needs no GROUP BY over every SKU
        lead_effective = effective
        incoming = incoming_by_date.join(lead_effective,
            condition=(lead_effective.product == incoming_by_date.product)
            & (lead_effective.warehouse == incoming_by_date.warehouse)
            ).join(lead_threshold,
                condition=lead_threshold.id == lead_effective.threshold
            ).select(
                incoming_by_date.product, incoming_by_date.warehouse,
                Sum(incoming_by_date.quantity).as_('quantity'),
                where=days_until(incoming_by_date.date, today)
                <= lead_threshold.lead_time_days,
                group_by=[incoming_by_date.product,
                    incoming_by_date.warehouse])

        query = effective.join(threshold,
            condition=threshold.id == effective.threshold
            ).join(stock, 'LEFT',
                condition=(stock.product == effective.product)
                & (stock.warehouse == effective.warehouse)
            ).join(incoming, 'LEFT',
                condition=(incoming.product == effective.product)
                & (incoming.warehouse == effective.warehouse))
        on_hand = Coalesce(stock.on_hand, 0)
        reserved = Coalesce(stock.reserved, 0)
        incoming_quantity = Coalesce(incoming.quantity, 0)
        projected = on_hand - reserved + incoming_quantity
        where = None
        if crossed:
            where = ((projected < threshold.safety)
                | (projected < threshold.minimum)
                | (projected > threshold.maximum))
        return query.select(
            effective.product, effective.warehouse, threshold.id,
            threshold.safety, threshold.minimum, threshold.maximum,
            on_hand, reserved, incoming_quantity, projected,
            where=where, with_=[effective])

    @classmethod
    def crossed_rows(cls, product_ids=None, today=None):
        """Return the rows of :meth:`projection_query` across a line, as
        namespaces with the names of its columns."""
        cursor = Transaction().connection.cursor()
        if backend.name == 'postgresql':
            # the aggregate over every SKU x warehouse stays in memory
            cursor.execute("SET LOCAL work_mem = '64MB'")
        cursor.execute(*cls.projection_query(product_ids, today))
        return [SimpleNamespace(product=r[0], warehouse=r[1],
                threshold=r[2], safety=r[3], minimum=r[4], maximum=r[5],
                on_hand=float(r[6]), reserved=float(r[7]),
                incoming=float(r[8]), projected=float(r[9]))
            for r in cursor]

    @classmethod
    def safety_levels(cls, product_ids=None):
        """{(warehouse, product): (safety, maximum)} of the effective
        thresholds having a safety stock, in one query (A1)."""
        threshold = cls.__table__()
        effective = cls.effective_query(product_ids)
        cursor = Transaction().connection.cursor()
        cursor.execute(*effective.join(threshold,
                condition=threshold.id == effective.threshold
                ).select(effective.warehouse, effective.product,
                threshold.safety, threshold.maximum,
                where=threshold.safety != Null))
        return {(w, p): (s, m) for w, p, s, m in cursor}


class AlertRule(DeactivableMixin, ModelSQL, ModelView):
    "Stock Alert Rule"
    __name__ = 'stock.alert.rule'

    name = fields.Char("Name", required=True, translate=True,
        help="What the rule watches, e.g. \"Replenish below safety\".")
    kind = fields.Selection(KIND_SELECTION, "Line", required=True,
        help="The threshold line whose crossing fires the rule.")
    warehouse = fields.Many2One('stock.location', "Warehouse",
        domain=[('type', '=', 'warehouse')],
        help="Only this warehouse; every warehouse when empty.")
    products = fields.Many2Many('stock.alert.rule-product.product', 'rule',
        'product', "Products",
        help="Only these products (with the categories below); every "
        "product with a threshold when both are empty.")
    categories = fields.Many2Many('stock.alert.rule-product.category',
        'rule', 'category', "Categories",
        help="Only the products of these categories.")
    action_request = fields.Boolean("Create Purchase Request",
        states={'invisible': Eval('kind') == 'maximum'},
        help="Create a purchase request for the quantity up to the maximum.")
    action_purchase = fields.Boolean("Create Draft Purchase",
        states={'invisible': Eval('kind') == 'maximum'},
        help="Also turn the request into a purchase quoted into the "
        "approval chain when the product has a supplier.")
    action_notify = fields.Boolean("Notify Owner",
        help="Send a notification to the buyer of the threshold or the "
        "rule's owner.")
    action_email = fields.Boolean("E-mail Owner",
        help="Also e-mail the owner when they have an e-mail address.")
    action_flag = fields.Boolean("Flag",
        help="Keep the alert listed on the dashboard (over-stock, red "
        "line) without other action.")
    owner = fields.Many2One('res.user', "Owner",
        states={'required': True},
        help="The user responsible for the rule's alerts.")

    @classmethod
    def default_kind(cls):
        return 'safety'

    @classmethod
    def validate_fields(cls, rules, field_names):
        super().validate_fields(rules, field_names)
        for rule in rules:
            if not rule.owner:
                raise AlertRuleValidationError(gettext(
                        'inventory_alerts.msg_rule_no_owner',
                        rule=rule.rec_name))
            actions = [rule.action_notify, rule.action_email,
                rule.action_flag]
            if rule.kind != 'maximum':
                actions += [rule.action_request, rule.action_purchase]
            if not any(actions):
                raise AlertRuleValidationError(gettext(
                        'inventory_alerts.msg_rule_no_action',
                        rule=rule.rec_name))

    def matches(self, row, categories):
        "Whether the rule applies to the crossed row"
        if self.warehouse and self.warehouse.id != row.warehouse:
            return False
        product_ids = {p.id for p in self.products}
        category_ids = {c.id for c in self.categories}
        if not product_ids and not category_ids:
            return True
        return (row.product in product_ids
            or bool(category_ids & categories.get(row.product, set())))

    # -- evaluation ------------------------------------------------------

    @classmethod
    def evaluate_cron(cls):
        cls.evaluate()

    @classmethod
    def evaluate(cls, products=None):
        """Compare the projected stock of every SKU and warehouse (or of
        ``products``) with the thresholds, open the alerts of newly crossed
        lines, run their rules' actions and resolve the recovered ones.
        Return (opened alerts, resolved alerts)."""
        pool = Pool()
        Threshold = pool.get('stock.threshold')
        Alert = pool.get('stock.alert')
        product_ids = None if products is None else [
            getattr(p, 'id', p) for p in products]
        with without_check_access():
            rules = cls.search([])
            rows = Threshold.crossed_rows(product_ids)
            categories = _product_categories({r.product for r in rows})
            crossed = {}
            for row in rows:
                kinds = crossed_kinds(row.projected, row.safety, row.minimum,
                    row.maximum)
                for rule in rules:
                    if rule.kind in kinds and rule.matches(row, categories):
                        crossed[rule.id, row.product, row.warehouse,
                            rule.kind] = row
            open_alerts = Alert.unresolved(product_ids)
            to_open, to_resolve = alert_transitions(open_alerts, crossed)
            rules_by_id = {r.id: r for r in rules}
            opened = Alert.open_for(
                [(rules_by_id[k[0]], crossed[k]) for k in to_open])
            resolved = Alert.browse([open_alerts[k] for k in to_resolve])
            if resolved:
                Alert.recover(resolved)
            if opened:
                Alert.run_actions(opened)
        return opened, resolved


class AlertRuleProduct(ModelSQL):
    "Stock Alert Rule - Product"
    __name__ = 'stock.alert.rule-product.product'
    rule = fields.Many2One('stock.alert.rule', "Rule", required=True,
        ondelete='CASCADE')
    product = fields.Many2One('product.product', "Product", required=True,
        ondelete='CASCADE')


class AlertRuleCategory(ModelSQL):
    "Stock Alert Rule - Category"
    __name__ = 'stock.alert.rule-product.category'
    rule = fields.Many2One('stock.alert.rule', "Rule", required=True,
        ondelete='CASCADE')
    category = fields.Many2One('product.category', "Category", required=True,
        ondelete='CASCADE')


def _product_categories(product_ids):
    "{product: {category}} in one query"
    pool = Pool()
    Product = pool.get('product.product')
    TemplateCategory = pool.get('product.template-product.category')
    product = Product.__table__()
    template_category = TemplateCategory.__table__()
    result = defaultdict(set)
    if not product_ids:
        return result
    cursor = Transaction().connection.cursor()
    ids = sorted(product_ids)
    for i in range(0, len(ids), 1000):
        cursor.execute(*product.join(template_category,
                condition=template_category.template == product.template
                ).select(product.id, template_category.category,
                where=product.id.in_(ids[i:i + 1000])))
        for product_id, category_id in cursor:
            result[product_id].add(category_id)
    return result


class Alert(Workflow, ModelSQL, ModelView):
    "Stock Alert"
    __name__ = 'stock.alert'

    rule = fields.Many2One('stock.alert.rule', "Rule", required=True,
        readonly=True, ondelete='CASCADE',
        help="The rule that raised the alert.")
    kind = fields.Selection(KIND_SELECTION, "Line", required=True,
        readonly=True, help="The line the projected stock crossed.")
    product = fields.Many2One('product.product', "Product", required=True,
        readonly=True, ondelete='CASCADE')
    warehouse = fields.Many2One('stock.location', "Warehouse", required=True,
        readonly=True, ondelete='CASCADE')
    threshold = fields.Many2One('stock.threshold', "Threshold",
        readonly=True, ondelete='SET NULL',
        help="The threshold in force when the alert was raised.")
    level = fields.Float("Level", readonly=True,
        help="The value of the crossed line.")
    projected = fields.Float("Projected Stock", readonly=True,
        help="On hand − reserved + incoming within the lead time, when the "
        "alert was raised.")
    on_hand = fields.Float("On Hand", readonly=True)
    reserved = fields.Float("Reserved", readonly=True)
    incoming = fields.Float("Incoming", readonly=True,
        help="Supplier moves planned within the lead time.")
    owner = fields.Many2One('res.user', "Owner", readonly=True,
        help="Who follows up the alert.")
    opened_at = fields.DateTime("Opened", readonly=True)
    acknowledged_by = fields.Many2One('res.user', "Acknowledged By",
        readonly=True)
    resolved_at = fields.DateTime("Resolved", readonly=True)
    purchase_request = fields.Many2One('purchase.request',
        "Purchase Request", readonly=True, ondelete='SET NULL')
    purchase = fields.Many2One('purchase.purchase', "Purchase",
        readonly=True, ondelete='SET NULL')
    state = fields.Selection(ALERT_STATES, "State", required=True,
        readonly=True, sort=False)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('opened_at', 'DESC'), ('id', 'DESC')]
        cls._transitions |= {
            ('open', 'acknowledged'),
            ('open', 'resolved'),
            ('acknowledged', 'resolved'),
            }
        cls._buttons.update({
                'acknowledge': {
                    'invisible': Eval('state') != 'open',
                    'depends': ['state'],
                    },
                'resolve': {
                    'invisible': Eval('state') == 'resolved',
                    'depends': ['state'],
                    },
                })

    @classmethod
    def default_state(cls):
        return 'open'

    def get_rec_name(self, name):
        return '%s @ %s: %s' % (self.product.rec_name,
            self.warehouse.rec_name, self.kind_string)

    kind_string = kind.translated('kind')

    @classmethod
    @ModelView.button
    @Workflow.transition('acknowledged')
    def acknowledge(cls, alerts):
        cls.write(alerts, {'acknowledged_by': Transaction().user})

    @classmethod
    @ModelView.button
    @Workflow.transition('resolved')
    def resolve(cls, alerts):
        cls.write(alerts, {'resolved_at': dt.datetime.now()})

    @classmethod
    def recover(cls, alerts):
        "Resolve the alerts whose stock recovered"
        cls.resolve(alerts)

    @classmethod
    def unresolved(cls, product_ids=None):
        "{(rule, product, warehouse, kind): alert id} of unresolved alerts"
        table = cls.__table__()
        where = table.state.in_(['open', 'acknowledged'])
        if product_ids is not None:
            where &= table.product.in_(list(product_ids) or [-1])
        cursor = Transaction().connection.cursor()
        cursor.execute(*table.select(table.rule, table.product,
                table.warehouse, table.kind, table.id, where=where))
        return {tuple(r[:4]): r[4] for r in cursor}

    @classmethod
    def open_for(cls, rule_rows):
        "Create in batches the alerts of [(rule, crossed row)]"
        pool = Pool()
        Threshold = pool.get('stock.threshold')
        threshold = Threshold.__table__()
        cursor = Transaction().connection.cursor()
        buyers = {}
        ids = sorted({r.threshold for _, r in rule_rows})
        for i in range(0, len(ids), 1000):
            cursor.execute(*threshold.select(threshold.id, threshold.buyer,
                    where=threshold.id.in_(ids[i:i + 1000])))
            buyers.update(cursor)
        now = dt.datetime.now()
        values = []
        for rule, row in rule_rows:
            owner = buyers.get(row.threshold) or (
                rule.owner.id if rule.owner else None)
            values.append({
                    'rule': rule.id,
                    'kind': rule.kind,
                    'product': row.product,
                    'warehouse': row.warehouse,
                    'threshold': row.threshold,
                    'level': getattr(row, rule.kind),
                    'projected': row.projected,
                    'on_hand': row.on_hand,
                    'reserved': row.reserved,
                    'incoming': row.incoming,
                    'owner': owner,
                    'opened_at': now,
                    })
        alerts = []
        # small batches: the cost of instantiating records grows with the
        # square of the batch size
        for i in range(0, len(values), 200):
            alerts.extend(cls.create(values[i:i + 200]))
        return alerts

    @classmethod
    def run_actions(cls, alerts):
        "Run the actions of the rules of the newly opened alerts"
        requests = [a for a in alerts if a.kind != 'maximum'
            and (a.rule.action_request or a.rule.action_purchase)]
        if requests:
            cls.create_purchase_requests(requests)
        purchases = [a for a in requests if a.rule.action_purchase]
        if purchases:
            cls.create_purchases(purchases)
        notify = [a for a in alerts if a.rule.action_notify and a.owner]
        if notify:
            cls.notify_owners(notify)
        for alert in alerts:
            if alert.rule.action_email and alert.owner and alert.owner.email:
                alert.send_email()

    def _message(self):
        return {
            'product': self.product.rec_name,
            'warehouse': self.warehouse.rec_name,
            'line': self.kind_string,
            'level': self.level,
            'projected': self.projected,
            'on_hand': self.on_hand,
            'reserved': self.reserved,
            'incoming': self.incoming,
            }

    @classmethod
    def create_purchase_requests(cls, alerts):
        "One purchase request per alert, up to the maximum (batched)"
        pool = Pool()
        Request = pool.get('purchase.request')
        Uom = pool.get('product.uom')
        Date = pool.get('ir.date')
        User = pool.get('res.user')
        Company = pool.get('company.company')
        today = Date.today()
        company_id = Transaction().context.get('company')
        company = Company(company_id) if company_id else User(
            Transaction().user).company
        if not company:
            companies = Company.search([], limit=1)
            company = companies[0] if companies else None
        if not company:
            return []
        requests, linked = [], []
        for alert in alerts:
            product = alert.product
            if not product.purchasable:
                continue
            threshold = alert.threshold
            quantity = order_quantity(alert.projected,
                threshold.safety if threshold else alert.level,
                threshold.maximum if threshold else None)
            if quantity <= 0:
                continue
            unit = product.purchase_uom or product.default_uom
            purchase_quantity = unit.ceil(Uom.compute_qty(
                    product.default_uom, quantity, unit, round=False))
            supplier, purchase_date = Request.find_best_supplier(
                product, today, company=company.id)
            requests.append(Request(
                    product=product, party=supplier,
                    quantity=purchase_quantity, unit=unit,
                    computed_quantity=quantity,
                    computed_unit=product.default_uom,
                    purchase_date=purchase_date, supply_date=today,
                    stock_level=alert.projected, company=company,
                    warehouse=alert.warehouse, origin=alert,
                    suggestion_reason=gettext(
                        'inventory_alerts.msg_request_reason',
                        **alert._message())))
            linked.append(alert)
        Request.save(requests)
        for alert, request in zip(linked, requests):
            alert.purchase_request = request
        cls.save(linked)
        return requests

    @classmethod
    def create_purchases(cls, alerts):
        """Turn the alerts' requests into draft purchases with Tryton's
        *Create Purchase* wizard and quote them into the approval chain."""
        pool = Pool()
        CreatePurchase = pool.get(
            'purchase.request.create_purchase', type='wizard')
        Purchase = pool.get('purchase.purchase')
        alerts = [a for a in alerts if a.purchase_request
            and a.purchase_request.party
            and not a.purchase_request.purchase_line]
        if not alerts:
            return []
        ids = [a.purchase_request.id for a in alerts]
        with Transaction().set_context(active_model='purchase.request',
                active_ids=ids, active_id=ids[0]):
            session_id, _, _ = CreatePurchase.create()
            wizard = CreatePurchase(session_id)
            wizard.transition_start()
        CreatePurchase.delete(session_id)
        for alert in alerts:
            alert.purchase = alert.purchase_request.purchase
        cls.save(alerts)
        purchases = {a.purchase for a in alerts if a.purchase}
        to_quote = [p for p in purchases if p.state == 'draft'
            and p.invoice_address and p.warehouse and p.lines]
        if to_quote:
            Purchase.quote(to_quote)
        return list(purchases)

    @classmethod
    def notify_owners(cls, alerts):
        "One notification per alert to its owner (batched)"
        Notification = Pool().get('res.notification')
        Notification.create([{
                    'user': a.owner.id,
                    'label': gettext('inventory_alerts.msg_alert_label',
                        **a._message()),
                    'description': gettext(
                        'inventory_alerts.msg_alert_description',
                        **a._message()),
                    'icon': ('tryton-warning' if a.kind == 'maximum'
                        else 'tryton-error'),
                    'model': cls.__name__,
                    'records': json.dumps([a.id]),
                    } for a in alerts])

    def send_email(self):
        message = EmailMessage()
        message['To'] = self.owner.email
        message['Subject'] = gettext('inventory_alerts.msg_alert_label',
            **self._message())
        message.set_content(gettext('inventory_alerts.msg_alert_description',
                **self._message()))
        send_message_transactional(message)


class PurchaseRequest(metaclass=PoolMeta):
    """Safety stock feeds the purchase suggestions (A1): a product with a
    threshold and no order point is suggested when its forecast falls
    below the safety stock, up to the maximum."""
    __name__ = 'purchase.request'

    @classmethod
    def _get_origin(cls):
        return super()._get_origin() | {'stock.alert'}

    @classmethod
    def generate_requests(cls, products=None, warehouses=None):
        Threshold = Pool().get('stock.threshold')
        with without_check_access():
            _local.levels = Threshold.safety_levels(
                None if products is None else [p.id for p in products])
        try:
            super().generate_requests(
                products=products, warehouses=warehouses)
        finally:
            _local.levels = None

    @classmethod
    def _threshold_order_point(cls, location_id, product_id):
        levels = (getattr(_local, 'levels', None) or {}).get(
            (location_id, product_id))
        if levels is None:
            return None
        safety, maximum = levels
        return SimpleNamespace(id=-1, min_quantity=safety,
            target_quantity=maximum if maximum is not None else safety)

    @classmethod
    def get_shortage(cls, location_id, product_ids, min_date, max_date,
            min_date_qties, order_points):
        if getattr(_local, 'levels', None):
            order_points = dict(order_points)
            for product_id in product_ids:
                key = (location_id, product_id)
                if key not in order_points:
                    point = cls._threshold_order_point(*key)
                    if point:
                        order_points[key] = point
        return super().get_shortage(location_id, product_ids, min_date,
            max_date, min_date_qties=min_date_qties,
            order_points=order_points)

    @classmethod
    def compute_request(cls, product, location_id, shortage_date,
            product_quantity, company, order_point=None,
            supplier_pattern=None):
        if order_point is None:
            order_point = cls._threshold_order_point(location_id, product.id)
        return super().compute_request(product, location_id,
            shortage_date, product_quantity, company,
            order_point=order_point, supplier_pattern=supplier_pattern)


class Product(metaclass=PoolMeta):
    __name__ = 'product.product'

    @classmethod
    def evaluate_stock_alerts(cls, products):
        "Queued after stock changes: evaluate the alerts of the products"
        Pool().get('stock.alert.rule').evaluate(products)


class Move(metaclass=PoolMeta):
    __name__ = 'stock.move'

    @classmethod
    def _queue_alert_evaluation(cls, moves, unreserved=()):
        """Queue the evaluation of the moved products' thresholds; nothing
        is queued when no threshold can apply to them (one indexed query),
        so a database without thresholds gets no extra task, nor for the
        ``unreserved`` moves (done without having been assigned) that stay
        inside one warehouse."""
        pool = Pool()
        Product = pool.get('product.product')
        Threshold = pool.get('stock.threshold')
        if Transaction().context.get('skip_stock_alerts'):
            return
        moves = cls._moves_changing_warehouse_stock(moves, unreserved)
        product_ids = sorted({m.product.id for m in moves})
        if not product_ids:
            return
        threshold = Threshold.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*threshold.select(threshold.id,
                where=(threshold.active == True)  # noqa: E712
                & (threshold.product.in_(product_ids)
                    | (threshold.category != Null)),
                limit=1))
        if cursor.fetchone():
            # The task ``Product.__queue__`` makes, in one INSERT (the ORM
            # create of ir.queue reads the task back and validates it: a
            # tenth of a putaway's bin scan)
            from trytond.modules.inventory_flow.api import enqueue
            enqueue(Product, 'evaluate_stock_alerts', product_ids)

    @staticmethod
    def _moves_changing_warehouse_stock(moves, unreserved):
        """The moves that may change a warehouse's projected stock (on hand
        less reserved plus incoming, summed under each warehouse): not the
        ``unreserved`` ones between two storage locations of the same
        warehouse (a putaway, a move inside the warehouse done without a
        reservation: the stock only changes place).  A move assigned, or
        done after it was, changes the warehouse's reserved stock.  One
        query by the nested sets for those storage-to-storage moves."""
        from trytond.modules.inventory_flow.receiving import _warehouses_of
        unreserved = set(unreserved)
        inside = [m for m in moves if m in unreserved
            and m.from_location.type == m.to_location.type == 'storage']
        if not inside:
            return moves
        warehouses = _warehouses_of(sorted({l.id for m in inside
                    for l in [m.from_location, m.to_location]}))
        same = {m for m in inside
            if warehouses[m.from_location.id]
            == warehouses[m.to_location.id]}
        return [m for m in moves if m not in same]

    @classmethod
    def do(cls, moves):
        # Those not assigned before reserved nothing their end releases
        unreserved = [m for m in moves if m.state != 'assigned']
        super().do(moves)
        cls._queue_alert_evaluation(moves, unreserved)

    @classmethod
    def assign(cls, moves):
        super().assign(moves)
        cls._queue_alert_evaluation(moves)
