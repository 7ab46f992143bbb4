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


del ModuleTestCase
