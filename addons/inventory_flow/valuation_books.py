"""The books of perpetual valuation for a company (D2): a chart of accounts,
continental fiscal years, the stock accounts of an accounting category, and
the set-based posting of a stock history written by SQL (the bulk demo).

Used by the demo (``demo.py``), the tests and the bench; an administrator
does the same in the web client (Accounting › Configuration).
"""
import datetime as dt

from sql import Literal, Null
from sql.conditionals import Case, Coalesce
from sql.aggregate import Count, Max
from sql.operators import Concat, Like

from trytond import backend
from trytond.pool import Pool
from trytond.transaction import Transaction

from .valuation import move_value

#: Codes of the stock accounts in Tryton's minimal chart (account module)
STOCK_ACCOUNT_CODE = '1.3.1'
STOCK_EXPENSE_CODE = '5.1.5'


def create_chart(company, chart='account.account_template_root_en'):
    "Create the chart of accounts of company from Tryton's template"
    pool = Pool()
    AccountTemplate = pool.get('account.account.template')
    Account = pool.get('account.account')
    ModelData = pool.get('ir.model.data')
    CreateChart = pool.get('account.create_chart', type='wizard')
    module, xml_id = chart.split('.')
    template = AccountTemplate(ModelData.get_id(module, xml_id))
    session_id, _, _ = CreateChart.create()
    wizard = CreateChart(session_id)
    wizard.account.account_template = template
    wizard.account.company = company
    wizard.transition_create_account()
    for name, kind in [('account_receivable', 'receivable'),
            ('account_payable', 'payable')]:
        account, = Account.search([
                (f'type.{kind}', '=', True),
                ('party_required', '=', True),
                ('company', '=', company.id),
                ], limit=1)
        setattr(wizard.properties, name, account)
    wizard.properties.company = company
    wizard.transition_create_properties()
    CreateChart.delete(session_id)


def create_fiscal_year(company, year):
    "A continental fiscal year of company for the calendar year, by month"
    pool = Pool()
    FiscalYear = pool.get('account.fiscalyear')
    Sequence = pool.get('ir.sequence.strict')
    SequenceType = pool.get('ir.sequence.type')
    values = {
        'name': str(year), 'company': company.id,
        'start_date': dt.date(year, 1, 1), 'end_date': dt.date(year, 12, 31),
        'account_stock_method': 'continental',
        }
    move_type, = SequenceType.search([('name', '=', "Account Move")],
        limit=1)
    move_sequence, = Sequence.create([{
                'name': f"{year}", 'sequence_type': move_type.id,
                'company': company.id}])
    values['move_sequence'] = move_sequence.id
    if 'invoice_sequences' in FiscalYear._fields:
        invoice_type, = SequenceType.search([('name', '=', "Invoice")],
            limit=1)
        invoice_sequence, = Sequence.create([{
                    'name': f"{year}", 'sequence_type': invoice_type.id,
                    'company': company.id}])
        values['invoice_sequences'] = [('create', [{
                        'company': company.id,
                        'out_invoice_sequence': invoice_sequence.id,
                        'in_invoice_sequence': invoice_sequence.id,
                        'out_credit_note_sequence': invoice_sequence.id,
                        'in_credit_note_sequence': invoice_sequence.id,
                        }])]
    fiscal_year, = FiscalYear.create([values])
    FiscalYear.create_period([fiscal_year])
    return fiscal_year


def stock_accounts(company):
    """The accounts of the minimal chart that perpetual valuation uses:
    stock, stock in/out (the same expense account), expense, revenue"""
    Account = Pool().get('account.account')

    def one(domain):
        accounts = Account.search(
            [('company', '=', company.id)] + domain, limit=1)
        return accounts[0] if accounts else None
    stock = one([('code', '=', STOCK_ACCOUNT_CODE)])
    stock_in = one([('code', '=', STOCK_EXPENSE_CODE)])
    return {
        'stock': stock, 'stock_in': stock_in, 'stock_out': stock_in,
        'expense': one([('type.expense', '=', True), ('closed', '!=', True)]),
        'revenue': one([('type.revenue', '=', True), ('closed', '!=', True)]),
        }


def set_category_accounts(category, accounts):
    "Make the accounting category post to the stock accounts"
    Category = Pool().get('product.category')
    Category.write([category], {
            'accounting': True,
            'account_stock': accounts['stock'].id,
            'account_stock_in': accounts['stock_in'].id,
            'account_stock_out': accounts['stock_out'].id,
            'account_expense': accounts['expense'].id,
            'account_revenue': accounts['revenue'].id,
            })


def post_unposted_history(company, category=None):
    """Post, set-based, the done moves of company's goods that enter or
    leave the stock and have no accounting entry, as continental would
    have (one posted entry per move, in the stock journal, at the move's
    date; value as ``valuation.reconciliation_query``).  Only the moves
    whose date falls in a continental period are posted.  With
    ``category``, the templates without accounting category get it first.
    Return the number of entries written."""
    pool = Pool()
    Move = pool.get('stock.move')
    Location = pool.get('stock.location')
    Product = pool.get('product.product')
    Template = pool.get('product.template')
    CostMethod = pool.get('product.cost_price_method')
    Period = pool.get('account.period')
    FiscalYear = pool.get('account.fiscalyear')
    AccountMove = pool.get('account.move')
    AccountLine = pool.get('account.move.line')
    CategoryAccount = pool.get('product.category.account')
    Configuration = pool.get('account.configuration')
    transaction = Transaction()
    cursor = transaction.connection.cursor()
    journal = Configuration(1).get_multivalue(
        'stock_journal', company=company.id)
    digits = company.currency.digits

    if category is not None:
        template = Template.__table__()
        cursor.execute(*template.update(
                [template.account_category], [category.id],
                where=(template.account_category == Null)
                & (template.type == 'goods')))

    move = Move.__table__()
    product = Product.__table__()
    template = Template.__table__()
    method = CostMethod.__table__()
    from_location = Location.__table__()
    to_location = Location.__table__()
    period = Period.__table__()
    fiscal_year = FiscalYear.__table__()
    category_account = CategoryAccount.__table__()
    account_move = AccountMove.__table__()
    existing = AccountMove.__table__()
    origin = Concat('stock.move,', move.id)
    number = Concat('STOCK-', move.id)
    from_stock = from_location.type == 'storage'
    to_stock = to_location.type == 'storage'
    value = move_value(
        move, from_location, method, company.currency.id, digits)
    moves = (move
        .join(product, condition=move.product == product.id)
        .join(template, condition=product.template == template.id)
        .join(method, 'LEFT', condition=(method.template == template.id)
            & (method.company == move.company))
        .join(from_location, condition=move.from_location == from_location.id)
        .join(to_location, condition=move.to_location == to_location.id)
        .join(category_account, condition=(
                category_account.category == template.account_category)
            & (category_account.company == move.company)
            & (category_account.account_stock != Null)))
    where = ((move.state == 'done') & (move.company == company.id)
        & (template.type == 'goods') & (from_stock != to_stock)
        & (value != 0))
    # The moves already posted, by integer id: an anti-join the database
    # hashes (NOT IN over the origin strings was quadratic on PostgreSQL)
    posted = existing.select(
        AccountMove.origin.sql_id(existing.origin, AccountMove).as_('move'),
        where=Like(existing.origin, 'stock.move,%'))
    in_periods = (moves
        .join(posted, 'LEFT', condition=posted.move == move.id)
        .join(period, condition=(period.start_date <= move.effective_date)
            & (period.end_date >= move.effective_date)
            & (period.type == 'standard') & (period.state == 'open'))
        .join(fiscal_year, condition=(period.fiscalyear == fiscal_year.id)
            & (fiscal_year.company == move.company)
            & (fiscal_year.account_stock_method == 'continental')))
    cursor.execute(*existing.select(Coalesce(Max(existing.id), 0)))
    last_id, = cursor.fetchone()
    uid = transaction.user
    now = Literal(dt.datetime.now())
    cursor.execute(*account_move.insert(
            [account_move.company, account_move.period, account_move.journal,
                account_move.date, account_move.post_date,
                account_move.origin, account_move.state,
                account_move.number, account_move.create_uid,
                account_move.create_date],
            in_periods.select(move.company, period.id, Literal(journal.id),
                move.effective_date, move.effective_date, origin,
                Literal('posted'), number, Literal(uid), now,
                where=where & (posted.move == Null))))
    if backend.name == 'postgresql':
        # Plan the join with the new entries on their real size
        cursor.execute(f'ANALYZE "{AccountMove._table}"')
    # The lines of the new entries: the stock account and its counterpart,
    # debit when the goods enter the stock
    line = AccountLine.__table__()
    entry = AccountMove.__table__()
    new = moves.join(entry, condition=(entry.id > last_id)
        & (move.id == AccountMove.origin.sql_id(entry.origin, AccountMove)))
    for account, debit in [
            (category_account.account_stock, to_stock),
            (Case((to_stock, category_account.account_stock_in),
                    else_=category_account.account_stock_out),
                from_stock)]:
        cursor.execute(*line.insert(
                [line.move, line.account, line.debit, line.credit,
                    line.state, line.create_uid, line.create_date],
                new.select(entry.id, account,
                    Case((debit, value), else_=0),
                    Case((debit, 0), else_=value),
                    Literal('valid'), Literal(uid), now, where=where)))
    cursor.execute(*entry.select(Count(entry.id),
            where=entry.id > last_id))
    count, = cursor.fetchone()
    return count
