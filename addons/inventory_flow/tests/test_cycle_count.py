"""Database tests of cycle counting (B4) not in the scenario: the putaway
question, a plan beyond capacity, the emptied-bin question and the access
rights of the count models."""
import datetime as dt
from decimal import Decimal

from trytond.exceptions import UserError
from trytond.model.exceptions import AccessError
from trytond.modules.company.tests import create_company, set_company
from trytond.modules.inventory_flow.layout import RackBlock
from trytond.modules.inventory_flow.tests.tools import SuiteDatabaseMixin
from trytond.pool import Pool
from trytond.tests import test_tryton
from trytond.tests.test_tryton import with_transaction
from trytond.transaction import Transaction


class CycleCountTestCase(SuiteDatabaseMixin, test_tryton._DBTestCase):
    "Test cycle counts"
    module = 'inventory_flow'
    extras = []

    def _setup(self, quantity=10):
        "A bin holding quantity of a product put away; return them"
        pool = Pool()
        Location = pool.get('stock.location')
        Template = pool.get('product.template')
        Uom = pool.get('product.uom')
        Move = pool.get('stock.move')
        from trytond.modules.inventory_flow.location import generate_layout
        warehouse, = Location.search([('type', '=', 'warehouse')])
        supplier, = Location.search([('code', '=', 'SUP')])
        bin_, = generate_layout(warehouse, RackBlock('C', 1, 1, 1, 1))
        unit, = Uom.search([('name', '=', 'Unit')])
        template, = Template.create([{
                    'name': 'Tea', 'type': 'goods', 'default_uom': unit.id,
                    'products': [('create', [{'cost_price': Decimal(1)}])],
                    }])
        product, = template.products
        move, = Move.create([{
                    'product': product.id, 'unit': unit.id,
                    'quantity': quantity, 'from_location': supplier.id,
                    'to_location': bin_.id, 'unit_price': Decimal(1),
                    'currency': Transaction().context.get('company') and
                    pool.get('company.company')(
                        Transaction().context['company']).currency.id,
                    }])
        Move.do([move])
        return bin_, product, move

    def _out(self, move, quantity, done=True):
        """A move of quantity of move's product out of its bin to the
        customer, done (or left draft)"""
        pool = Pool()
        Move = pool.get('stock.move')
        customer, = pool.get('stock.location').search([
                ('code', '=', 'CUS')])
        out = Move(product=move.product, unit=move.product.default_uom,
            quantity=quantity, from_location=move.to_location,
            to_location=customer, unit_price=Decimal(1),
            currency=move.currency)
        out.save()
        if done:
            Move.assign([out])
            Move.do([out])
        return out

    def _company(self):
        Transaction().set_context(_skip_warnings=True)
        return set_company(create_company())

    @with_transaction()
    def test_putaway_question(self):
        "After a putaway the answer to 'does bin X hold N?' is a count"
        from trytond.modules.inventory_flow.cycle_count import (
            CountStep, answer_putaway_question, putaway_question)
        Task = Pool().get('stock.count.task')
        with self._company():
            bin_, product, move = self._setup(10)
            screen = putaway_question({'state': {}}, move, bin_)
            question = screen['state']['question']
            self.assertEqual(question['quantity'], 10)
            self.assertEqual(screen['actions'][0]['value'], '__count_yes__')
            self.assertIn('C-01-1-01', screen['prompt'])

            screen = answer_putaway_question(CountStep(), question,
                '__count_yes__')
            self.assertEqual(screen['level'], 'success')
            task, = Task.search([('trigger', '=', 'putaway')])
            self.assertEqual((task.kind, task.state, task.accurate),
                ('opportunistic', 'done', True))
            self.assertIsNone(task.inventory)

            # 9 found where 10 are expected: 10 % is beyond class C's 5 %
            with self.assertRaises(UserError):
                answer_putaway_question(CountStep(), question, 'nine')
            answer_putaway_question(CountStep(), question, '9')
            task, = Task.search([('trigger', '=', 'putaway'),
                    ('state', '!=', 'done')])
            self.assertEqual(task.state, 'recount')
            self.assertEqual(task.lines[0].variance_quantity, -1)

    @with_transaction()
    def test_putaway_question_book_and_setting(self):
        """The question's quantity is what came into the bin less what left
        it; turning the question off (or on) takes effect at once"""
        from trytond.modules.inventory_flow.cycle_count import (
            putaway_question)
        Configuration = Pool().get('stock.count.configuration')
        with self._company():
            bin_, product, move = self._setup(10)
            self._out(move, 3)
            screen = putaway_question({'state': {}}, move, bin_)
            self.assertEqual(screen['state']['question']['quantity'], 7)

            config = Configuration(1)
            config.ask_on_putaway = False
            config.save()
            self.assertEqual(
                putaway_question({'state': {}}, move, bin_), {'state': {}})
            config.ask_on_putaway = True
            config.save()
            self.assertIn('question',
                putaway_question({'state': {}}, move, bin_)['state'])

    @with_transaction()
    def test_product_code_ordering_follows_configuration(self):
        """Whether products are numbered by a sequence (read by every
        product search to order by code) follows the configuration"""
        pool = Pool()
        Configuration = pool.get('product.configuration')
        Product = pool.get('product.product')
        Template = pool.get('product.template')
        Sequence = pool.get('ir.sequence')
        ModelData = pool.get('ir.model.data')
        self.assertEqual(
            (Product.default_code_readonly(),
                Template.default_code_readonly()), (False, False))
        sequence, template_sequence = Sequence.create([{
                    'name': name,
                    'sequence_type': ModelData.get_id('product', type_),
                    } for name, type_ in [
                    ('Variants', 'sequence_type_product'),
                    ('Products', 'sequence_type_template')]])
        config = Configuration(1)
        config.product_sequence = sequence
        config.save()
        self.assertEqual(
            (Product.default_code_readonly(),
                Template.default_code_readonly()), (True, False))
        config.product_sequence = None
        config.template_sequence = template_sequence
        config.save()
        self.assertEqual(
            (Product.default_code_readonly(),
                Template.default_code_readonly()), (False, True))

    @with_transaction()
    def test_emptied_bin_question(self):
        "A move that empties a bin asks whether it is empty, once"
        Task = Pool().get('stock.count.task')
        with self._company():
            bin_, product, move = self._setup(4)
            # 4 out empties the bin; a draft move of 1 more asks nothing
            self._out(move, 4)
            self._out(move, 1, done=False)
            task, = Task.search([('trigger', '=', 'emptied')])
            self.assertEqual((task.location, task.question_product,
                    task.state), (bin_, None, 'draft'))
            Task.answer(task)
            self.assertEqual(task.state, 'done')
            with self.assertRaises(UserError):
                Task.answer(task)

    @with_transaction()
    def test_plan_over_capacity(self):
        "A plan that cannot fit the daily capacity is refused with figures"
        pool = Pool()
        Plan = pool.get('stock.count.plan')
        Task = pool.get('stock.count.task')
        Location = pool.get('stock.location')
        Configuration = pool.get('stock.count.configuration')
        from trytond.modules.inventory_flow.location import generate_layout
        with self._company():
            warehouse, = Location.search([('type', '=', 'warehouse')])
            generate_layout(warehouse, RackBlock('D', 1, 2, 10, 1))
            CountClass = pool.get('stock.count.class')
            # empty bins are C: counted weekly here, 20 counts in 5 days
            CountClass.write(CountClass.search([('abc_class', '=', 'C')]),
                {'counts_per_year': 52})
            configuration = Configuration(1)
            configuration.daily_capacity = 1
            configuration.save()
            monday = dt.date(2026, 1, 5)
            plan, = Plan.create([{'name': 'Week', 'warehouse': warehouse.id,
                        'start_date': monday,
                        'end_date': monday + dt.timedelta(days=4)}])
            with self.assertRaisesRegex(UserError, 'capacity of 1'):
                Plan.plan([plan])
            self.assertEqual(Task.search_count([]), 0)
            configuration.daily_capacity = 10
            configuration.save()
            Plan.plan([plan])
            dates = [t.planned_date for t in Plan(plan.id).tasks]
            self.assertTrue(all(monday <= d <= monday + dt.timedelta(4)
                    for d in dates))
            self.assertEqual(len(dates), 20)
            self.assertTrue(all(dates.count(d) <= 10 for d in dates))

    @with_transaction()
    def test_access(self):
        "Operators count; only managers edit the rules and approve"
        pool = Pool()
        User = pool.get('res.user')
        ModelData = pool.get('ir.model.data')
        CountClass = pool.get('stock.count.class')
        Accuracy = pool.get('stock.count.accuracy')
        Task = pool.get('stock.count.task')
        operator, manager = User.create([{
                    'name': name, 'login': name,
                    'groups': [('add', [ModelData.get_id(
                                    'inventory_flow', group)])],
                    } for name, group in [('operator', 'group_operator'),
                    ('manager', 'group_manager')]])
        class_a, = CountClass.search([('abc_class', '=', 'A')])
        with Transaction().set_user(operator.id), \
                Transaction().set_context(_check_access=True):
            self.assertTrue(CountClass.search([]))
            self.assertTrue(Task.search([]) == [])
            with self.assertRaises(AccessError):
                CountClass.write([class_a], {'counts_per_year': 2})
            with self.assertRaises(AccessError):
                Accuracy.search([])
        with Transaction().set_user(manager.id), \
                Transaction().set_context(_check_access=True):
            CountClass.write([class_a], {'counts_per_year': 24})
            Accuracy.search([])

