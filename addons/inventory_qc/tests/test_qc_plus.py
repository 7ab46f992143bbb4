"""The quality gate's leftovers of issue 6 and the lot trace of issue 12
(A4, D3, D4): the scanner's partial and concession decisions (with the
server refusing a concession to an inspector and a bad quantity or empty
comment), the switching rules replayed from a supplier's history
(authority's approval, steady production, discontinuation and resumption)
and the inspections in the lot trace PDF."""
import datetime as dt
import shutil
import subprocess
import tempfile
import uuid

from trytond.exceptions import UserError
from trytond.model.exceptions import AccessError
from trytond.modules.inventory_flow.tests.tools import SuiteDatabaseMixin
from trytond.modules.inventory_qc.demo_qc import quarantine_lot
from trytond.pool import Pool
from trytond.tests.test_tryton import _DBTestCase, with_transaction
from trytond.transaction import Transaction

QUARANTINE_BIN = 'Q-01-1-01'


class QcPlusTestCase(SuiteDatabaseMixin, _DBTestCase):
    "Partial and concession on the scanner, switching, lot trace"
    module = 'inventory_qc'

    def scan(self, login, state, value):
        "One scan of the Inspect step as login; return the screen"
        from trytond.modules.inventory_flow.scanner import run_step
        User = Pool().get('res.user')
        user, = User.search([('login', '=', login)])
        with Transaction().set_user(user.id), \
                Transaction().set_context(User.get_preferences(
                        context_only=True)):
            return run_step('inspect', state, value, uuid.uuid4().hex)

    def answer_checks(self, login, scan, defective):
        "Scan scan, answer the demo plan's checks and the defective units"
        screen = self.scan(login, {}, scan)
        for value in ['yes', '503 g', str(defective)]:
            screen = self.scan(login, screen['state'], value)
        self.assertEqual(screen['state']['ask'], '__decide__')
        return screen

    @with_transaction()
    def test_scanner_partial_and_concession(self):
        from trytond.modules.inventory_flow.demo import generate
        pool = Pool()
        Inspection = pool.get('quality.inspection')
        generate()
        demo, = Inspection.search([('location', '!=', None)])
        second = quarantine_lot('QC-PLUS-2', 20)

        # The inspector is offered pass, fail and partial, no concession
        screen = self.answer_checks('inspector', QUARANTINE_BIN, 1)
        self.assertEqual(screen['state']['inspection'], demo.id)
        offered = [a['value'] for a in screen['actions']]
        self.assertEqual(offered,
            ['__pass__', '__fail__', '__partial__', '__cancel__'])
        # … and the server refuses one all the same
        with self.assertRaises(AccessError) as refusal:
            self.scan('inspector', screen['state'], '__concession__')
        self.assertIn('QC lead or warehouse manager',
            refusal.exception.message)

        # Partial: the quantity to reject is asked, with the lot's
        quantity = self.scan('inspector', screen['state'], '__partial__')
        self.assertEqual(quantity['prompt'],
            "Quantity to reject of the lot's 36 u?")
        self.assertEqual(quantity['input'], 'quantity')
        for bad in ['36', '0', 'many']:
            with self.subTest(quantity=bad):
                with self.assertRaises(UserError):
                    self.scan('inspector', quantity['state'], bad)
        # Back to the decision, then 6 rejected, 30 released
        back = self.scan('inspector', quantity['state'], '__back__')
        self.assertEqual(back['state']['ask'], '__decide__')
        done = self.scan('inspector', quantity['state'], '6')
        self.assertEqual(done['level'], 'success')
        self.assertIn('6 u rejected', done['message'])
        self.assertIn('30 u released', done['message'])
        demo = Inspection(demo.id)
        self.assertEqual((demo.state, demo.decision), ('partial', 'partial'))
        self.assertEqual(demo.return_shipment.state, 'draft')
        self.assertEqual(
            sum(m.quantity for m in demo.return_shipment.moves), 6)
        self.assertEqual(
            sum(m.quantity for m in demo.release_shipment.moves), 30)

        # Concession by the warehouse manager, the comment required
        screen = self.answer_checks('manager', 'QC-PLUS-2', 2)
        self.assertEqual(screen['state']['inspection'], second.id)
        self.assertIn('__concession__',
            [a['value'] for a in screen['actions']])
        comment = self.scan('manager', screen['state'], '__concession__')
        self.assertEqual(comment['input'], 'text')
        with self.assertRaises(UserError) as refusal:
            self.scan('manager', comment['state'], '  ')
        self.assertIn('needs a comment', refusal.exception.message)
        done = self.scan('manager', comment['state'],
            'Seal slightly creased, content checked: accepted')
        self.assertIn('released by concession', done['message'])
        second = Inspection(second.id)
        self.assertEqual(second.decision, 'concession')
        self.assertEqual(second.decided_by.login, 'manager')
        self.assertEqual(second.decision_comment,
            'Seal slightly creased, content checked: accepted')
        self.assertEqual(
            sum(m.quantity for m in second.release_shipment.moves), 20)
        self.assertFalse(second.return_shipment)

        # The lot trace shows both inspections' results (D3)
        Report = pool.get('stock.lot.trace_report', type='report')
        data = Report.lot_data(second.lot)
        section = data['sections'][-1]
        self.assertEqual(section['title'], 'Quality inspections')
        row, = section['rows']
        self.assertEqual(row[2:5], ['Normal', 'E n=13 Ac=0 Re=1', '2'])
        self.assertEqual(row[5], 'Seal intact: yes; Net weight: 503')
        self.assertEqual(row[6:8], ['Concession', 'Maria Manager'])
        self.assertEqual(row[9],
            'Seal slightly creased, content checked: accepted')
        row, = Report.lot_data(demo.lot)['sections'][-1]['rows']
        self.assertEqual(row[6], 'Partial (6 u)')
        # … in the PDF the report prints
        kind, pdf, _, name = Report.execute([second.lot.id], {})
        self.assertEqual((kind, pdf[:5], name),
            ('pdf', b'%PDF-', 'trace-QC-PLUS-2'))
        if shutil.which('pdftotext'):
            with tempfile.NamedTemporaryFile(suffix='.pdf') as file:
                file.write(pdf)
                file.flush()
                text = subprocess.run(['pdftotext', file.name, '-'],
                    capture_output=True, text=True, check=True).stdout
            self.assertIn('Quality inspections', text)
            self.assertIn('Concession', text)
            self.assertIn('Maria Manager', text)

    @with_transaction()
    def test_trace_without_inspection(self):
        from trytond.modules.company.tests import create_company, set_company
        pool = Pool()
        Lot = pool.get('stock.lot')
        Template = pool.get('product.template')
        Uom = pool.get('product.uom')
        Report = pool.get('stock.lot.trace_report', type='report')
        company = create_company()
        with set_company(company):
            unit, = Uom.search([('name', '=', 'Unit')])
            template, = Template.create([{'name': 'Bolt', 'type': 'goods',
                        'default_uom': unit.id, 'products': [('create', [{}])]}])
            lot, = Lot.create([{'number': 'B1',
                        'product': template.products[0].id}])
            section = Report.lot_data(lot)['sections'][-1]
            self.assertEqual(section['rows'], [])
            self.assertEqual(section['empty'], 'The lot was not inspected.')

    @with_transaction()
    def test_switching_from_history(self):
        """Approval and steady production gate reduced inspection; 5 lots
        not accepted at tightened discontinue sampling (every unit
        inspected) until the corrective action is recorded"""
        from trytond.modules.company.tests import create_company, set_company
        pool = Pool()
        Control = pool.get('quality.control')
        Inspection = pool.get('quality.inspection')
        Party = pool.get('party.party')
        Location = pool.get('stock.location')
        company = create_company()
        with set_company(company):
            supplier, = Party.create([{'name': "Steady Supplier"}])
            control, = Control.create([{
                        'name': "Plan", 'company': company.id,
                        'operations': ['stock.shipment.in:quarantine'],
                        'points': [('create', [{
                                        'name': 'ok', 'string': "OK",
                                        'type_': 'boolean'}])],
                        }])
            storage, = Location.search([('code', '=', 'STO')])
            start = dt.datetime(2026, 1, 1)
            lots = [0]

            def decided(decision, count, accept=3, defective=0,
                    tighter=2, severity='normal'):
                Inspection.create([{
                            'company': company.id, 'control': control.id,
                            'location': storage.id,
                            'supplier': supplier.id, 'severity': severity,
                            'decision': decision,
                            'state': 'passed' if decision == 'pass'
                            else 'failed',
                            'accept_number': accept, 'defective': defective,
                            'tighter_accept_number': tighter,
                            'decided_at': start + dt.timedelta(
                                days=lots[0] + i),
                            } for i in range(count)])
                lots[0] += count

            # 9 lots at Ac 3 clean also at the tighter AQL (+3 each), then
            # one with 3 defective: accepted at Ac 3 but not at the tighter
            # Ac 2, the score restarts
            decided('pass', 9)
            decided('pass', 1, defective=3)
            control.reduced_approved = True
            control.save()
            self.assertEqual(control.severity_for(supplier),
                ('normal', False))
            # 10 clean lots: score 30, approved, steady → reduced
            decided('pass', 10)
            self.assertEqual(control.severity_for(supplier),
                ('reduced', False))
            control.reduced_approved = False
            control.save()
            self.assertEqual(control.severity_for(supplier),
                ('normal', False))
            control.reduced_approved = True
            control.production_steady = False
            control.save()
            self.assertEqual(control.severity_for(supplier),
                ('normal', False))
            control.production_steady = True
            control.save()
            # A lot not accepted at reduced → normal; then 2 of 5 not
            # accepted → tightened (a concession is not an acceptance)
            decided('fail', 1, severity='reduced')
            self.assertEqual(control.severity_for(supplier),
                ('normal', False))
            decided('fail', 1)
            decided('concession', 1)
            self.assertEqual(control.severity_for(supplier),
                ('tightened', False))
            decided('fail', 5, severity='tightened')
            self.assertEqual(control.severity_for(supplier),
                ('discontinued', False))
            inspection = Inspection(severity='discontinued',
                sample_size=36, accept_number=1)
            self.assertEqual(inspection.get_instruction('instruction'),
                "Sampling discontinued after 5 lots not accepted at "
                "tightened inspection: inspect all 36 units; accept if at "
                "most 1 defective.")
            # Corrective action accepted: tightened again from there
            control.resumed_at = start + dt.timedelta(
                days=lots[0], hours=-1)
            control.save()
            self.assertEqual(control.severity_for(supplier),
                ('tightened', False))
            decided('pass', 5, severity='tightened')
            self.assertEqual(control.severity_for(supplier),
                ('normal', False))


del _DBTestCase
