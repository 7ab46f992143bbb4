from trytond.modules.company.tests import CompanyTestMixin
from trytond.modules.inventory_flow.tests.tools import (
    SuiteDatabaseMixin, TranslationTestMixin)
from trytond.pool import Pool
from trytond.tests.test_tryton import ModuleTestCase, with_transaction


class InventoryQcTestCase(
        SuiteDatabaseMixin, TranslationTestMixin, CompanyTestMixin,
        ModuleTestCase):
    "Test inventory_qc module"
    module = 'inventory_qc'

    @with_transaction()
    def test_sampling_tables_loaded(self):
        "The ISO 2859-1 tables are records: K, 125 units, Ac 3 at AQL 1.0"
        from trytond.modules.inventory_qc import sampling
        pool = Pool()
        Letter = pool.get('quality.sampling.letter')
        Plan = pool.get('quality.sampling.plan')
        plan = sampling.sampling_plan(
            2000, 'II', 1.0, 'normal', Letter.rows(), Plan.tables())
        self.assertEqual(
            (plan.letter, plan.sample_size, plan.accept, plan.reject),
            ('K', 125, 3, 4))

    @with_transaction()
    def test_demo_quarantine_lot_inspection(self):
        "The demo's quarantined yogurt lot has a pending inspection"
        from trytond.modules.inventory_flow.demo import generate
        pool = Pool()
        Inspection = pool.get('quality.inspection')
        summary = generate()
        self.assertEqual(summary['inspections'], 1)
        inspection, = Inspection.search([('location', '!=', None)])
        self.assertEqual(inspection.state, 'pending')
        self.assertEqual(inspection.location.zone, 'quarantine')
        self.assertTrue(inspection.lot.number.endswith('Q'))
        self.assertEqual(
            (inspection.sample_size, inspection.accept_number), (13, 0))
        self.assertEqual(inspection.instruction,
            "Inspect 13 units; accept if at most 0 defective.")

    @with_transaction()
    def test_switching_and_skip_lot_from_history(self):
        """A supplier's decided lots switch the next one to reduced
        inspection, then to skip-lot every second lot"""
        import datetime as dt
        from trytond.modules.company.tests import create_company, set_company
        pool = Pool()
        Control = pool.get('quality.control')
        Inspection = pool.get('quality.inspection')
        Party = pool.get('party.party')
        Location = pool.get('stock.location')
        company = create_company()
        with set_company(company):
            supplier, = Party.create([{'name': "Clean Supplier"}])
            control, = Control.create([{
                        'name': "Plan", 'company': company.id,
                        'operations': ['stock.shipment.in:quarantine'],
                        'skip_lot_after': 10,
                        'reduced_approved': True,
                        'points': [('create', [{
                                        'name': 'ok', 'string': "OK",
                                        'type_': 'boolean'}])],
                        }])
            storage, = Location.search([('code', '=', 'STO')])
            start = dt.datetime(2026, 1, 1)
            self.assertEqual(control.severity_for(supplier),
                ('normal', False))
            # Ac 0: +2 per accepted lot, the score reaches 30 at 15 lots;
            # 10 accepted lots at reduced qualify for skip-lot; after a
            # skipped lot the next one is inspected again
            offset = 0
            for count, severity, expected in [
                    (14, 'normal', ('normal', False)),
                    (1, 'normal', ('reduced', False)),
                    (10, 'reduced', ('reduced', True)),
                    (1, 'skip', ('reduced', False))]:
                Inspection.create([{
                            'company': company.id, 'control': control.id,
                            'location': storage.id,
                            'supplier': supplier.id, 'severity': severity,
                            'decision': 'pass', 'state': 'passed',
                            'accept_number': 0,
                            'decided_at': (
                                start + dt.timedelta(days=offset + i)),
                            } for i in range(count)])
                offset += count
                self.assertEqual(
                    control.severity_for(supplier), expected,
                    msg=f"after {offset} lots")
            # Switching off: always normal
            control.switching = False
            control.save()
            self.assertEqual(control.severity_for(supplier),
                ('normal', False))


del ModuleTestCase
