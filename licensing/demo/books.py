"""Demo data: a small realistic book driven through the services (so every state has its audit
trail), and a large synthetic book bulk-inserted for benchmarks."""

import datetime as dt
import random
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.utils import timezone

from .. import services
from ..domain import clock, royalties, workdays
from ..domain.money import add_months, split_evenly
from ..models import (
    DealTerms,
    Enterprise,
    Installment,
    Institution,
    InsuranceClaim,
    InsurancePolicy,
    License,
    LicensePatent,
    LicenseType,
    Offer,
    OfferPatent,
    Patent,
    Payment,
    RoyaltyReport,
    StaffProfile,
)
from ..roles import TTO_STAFF_GROUP
from .identifiers import make_patent_number, make_uscc

DEMO_PASSWORD = "demo-pass-2026"

INSTITUTIONS = [
    ("京华科技大学", Institution.Kind.UNIVERSITY, "tto@jinghua.example.edu.cn", "tto_jinghua"),
    ("海澜材料研究院", Institution.Kind.INSTITUTE, "transfer@hailan.example.ac.cn", "tto_hailan"),
    ("南岭农业大学", Institution.Kind.UNIVERSITY, "kjc@nanling.example.edu.cn", "tto_nanling"),
]

# name, industry, employees, revenue (CNY 10,000), high-tech: two of each size class at least.
ENTERPRISES = [
    ("北京清源智造科技有限公司", "industry", 420, Decimal("26000"), True),  # medium
    ("苏州微纳传感有限公司", "industry", 85, Decimal("4200"), True),  # small
    ("杭州云栖数据服务有限公司", "software_it", 150, Decimal("3200"), True),  # medium
    ("成都蓉芯软件有限公司", "software_it", 28, Decimal("600"), False),  # small
    ("深圳小禾智能有限公司", "software_it", 6, Decimal("40"), False),  # micro
    ("合肥绿能新材料有限公司", "industry", 12, Decimal("180"), False),  # micro
    ("广州南方医药批发有限公司", "wholesale", 60, Decimal("8000"), False),  # medium
    ("武汉楚天仪器贸易有限公司", "wholesale", 8, Decimal("1500"), False),  # small
    ("长沙湘味农品零售有限公司", "retail", 4, Decimal("60"), False),  # micro
    ("青岛海晟装备制造集团有限公司", "industry", 2600, Decimal("120000"), True),  # large
    ("西安秦岭光电有限公司", "industry", 230, Decimal("9000"), True),  # small (Y < 300)
    ("南京紫金生物科技有限公司", "industry", 35, Decimal("900"), True),  # small
]

PATENTS = [
    ("一种高通量微流控芯片的制备方法", "B01L 3/00", "1"),
    ("基于深度学习的工业缺陷检测方法及系统", "G06T 7/00", "1"),
    ("一种锂离子电池硅碳负极材料及其制备方法", "H01M 4/36", "1"),
    ("一种水稻抗旱基因及其应用", "C12N 15/82", "1"),
    ("一种可降解聚乳酸复合包装材料", "C08L 67/04", "1"),
    ("一种智能温室环境监测装置", "A01G 9/26", "2"),
    ("一种柔性压力传感器", "G01L 1/18", "2"),
    ("基于区块链的数据确权方法", "G06F 21/64", "1"),
    ("一种低能耗海水淡化膜组件", "C02F 1/44", "1"),
    ("一种中药提取物的纯化工艺", "A61K 36/00", "1"),
    ("一种光伏组件清洁机器人", "H02S 40/10", "2"),
    ("一种高强铝合金焊接工艺", "B23K 9/23", "1"),
]


def _staff_user(username, institution):
    user, created = get_user_model().objects.get_or_create(username=username, defaults={"is_staff": True})
    if created:
        user.set_password(DEMO_PASSWORD)
        user.save()
        user.groups.add(Group.objects.get(name=TTO_STAFF_GROUP))
        StaffProfile.objects.create(user=user, institution=institution)
    return user


@transaction.atomic
def seed_demo(stdout=None) -> dict:
    """Create the demo book once; running it again changes nothing."""
    if Institution.objects.filter(name=INSTITUTIONS[0][0]).exists():
        return {"created": False}
    rng = random.Random(2024)
    today = clock.today()
    admin = get_user_model().objects.filter(username="admin").first()
    if admin is None:
        admin = get_user_model().objects.create_superuser("admin", "admin@tto.example", DEMO_PASSWORD)

    institutions, staff = [], {}
    for n, (name, kind, email, username) in enumerate(INSTITUTIONS):
        inst = Institution.objects.create(
            name=name,
            kind=kind,
            contact_email=email,
            contact_name=("李老师", "陈老师", "赵老师")[n],
            contact_phone=f"010-6278{n}000",
            payee_name=name,
            payee_bank=("中国工商银行北京海淀支行", "中国银行上海张江支行", "中国建设银行广州天河支行")[n],
            payee_account=f"0200 0045 0900 {n}123 456",
        )
        institutions.append(inst)
        staff[inst.pk] = _staff_user(username, inst)

    enterprises = [
        Enterprise.objects.create(
            name=name,
            uscc=make_uscc(55_000_000 + i * 7919),
            industry=industry,
            employees=employees,
            annual_revenue=revenue,
            high_tech=high_tech,
            contact_email=f"ip{i}@sme.example.cn",
        )
        for i, (name, industry, employees, revenue, high_tech) in enumerate(ENTERPRISES)
    ]

    offers = []
    for i, (title, ipc, type_digit) in enumerate(PATENTS):
        owner = institutions[i % len(institutions)]
        patent = Patent.objects.create(
            number=make_patent_number(2016 + i % 7, 210_000 + i * 137, type_digit),
            title=title,
            abstract=f"本专利公开了{title}的技术方案。与现有技术相比，工艺步骤更少、成本更低，已完成实验室验证，适合中试放大与产业化。",
            claims_gist="保护该技术的关键步骤与参数范围，以及实施该技术所用装置的结构。",
            ipc_class=ipc,
            owner=owner,
            filing_date=dt.date(2016 + i % 7, 1 + i % 12, 10),
        )
        free = i % 5 == 4  # about half of China's recorded licenses are free; a few here
        royalty = i == 6  # 入门费 + 提成: an entry fee, then 3% of net sales (2% above 10M a year)
        # Beijing's and Shaanxi's use first, pay later: zero entry fee + milestones + revenue share,
        # nothing due for 12 months or until the first revenue.
        pay_later = i == 10
        price = Decimal(rng.choice([80000, 150000, 300000, 500000, 1200000]))
        offer = Offer.objects.create(
            patent=patent,
            trial_months=6 + 6 * (i % 2),
            trial_fee=Decimal("0") if i % 3 or free else Decimal("5000"),
            price=Decimal(0) if free or royalty or pay_later else price,
            royalty_base="net_sales" if royalty or pay_later else "",
            royalty_rates="3% up to 10,000,000; 2%" if royalty else ("2%" if pay_later else ""),
            royalty_minimum=Decimal("100000") if royalty else None,
            deferred_months=12 if pay_later else 0,
            deferred_until_revenue=pay_later,
            lump_sum_allowed=True,
            installment_count=rng.choice([4, 6, 8]),
            installment_interval_months=3,
            first_due_months=1,
            grace_days=90,
            license_type={0: LicenseType.EXCLUSIVE, 7: LicenseType.SOLE, 8: LicenseType.EXCLUSIVE}.get(
                i, LicenseType.ORDINARY
            ),
            territory="中国大陆" if i % 3 == 0 else "",
            field_of_use="新能源汽车电池" if i % 4 == 0 else "",
            use_reports_required=free,
            open_licence=i == 5,  # an open-licence declaration: SMEs that apply get it at once
            entry_fee={3: Decimal("30000"), 6: Decimal("20000")}.get(i, Decimal("0")),  # 入门费, due on the purchase
            equity_allowed=i % 2 == 0 and not free,
            equity_max_share=Decimal("0.5") if i % 2 == 0 and not free else Decimal("0"),
            insurance_required=False,
            coverage_ratio=Decimal("0.8"),
        )
        # Packages: a third of the offers license the lead patent with two related ones, a third
        # with one (the related patents are the same institution's, filed a year later).
        related = [
            Patent.objects.create(
                number=make_patent_number(2017 + i % 6, 410_000 + i * 53 + k, type_digit),
                title=f"{title}（配套{'工艺' if k == 0 else '装置'}）",
                ipc_class=ipc,
                owner=owner,
                filing_date=dt.date(2017 + i % 6, 2 + i % 10, 12),
            )
            for k in range({1: 2, 2: 1}.get(i % 3, 0))
        ]
        if related:
            services.set_package(offer_id=offer.pk, patents=related, by=staff[owner.pk])
        if pay_later:
            offer.milestones.create(name="首次商业销售", amount=Decimal("100000"), due_days=30)
            offer.milestones.create(name="许可第二年固定费", amount=Decimal("60000"), due_months=24)
        if i != len(PATENTS) - 1:  # the last one stays a draft
            services.publish_offer(offer_id=offer.pk, by=staff[owner.pk])
        offers.append(offer)

    counts = {}
    # 11 published offers and 12 enterprises are coprime: walking both together visits every pair,
    # spreading the licenses over all institutions.
    published = offers[:-1]
    pairs = iter(
        (published[k % len(published)], enterprises[k % len(enterprises)])
        for k in range(len(published) * len(enterprises))
    )
    used = set()

    def next_pair(fits):
        for offer, ent in pairs:
            if (offer.patent_id, ent.pk) in used or offer.blocks_other_licensees or not fits(offer):
                continue
            used.add((offer.patent_id, ent.pk))
            return offer, ent
        raise RuntimeError("demo ran out of offer/enterprise pairs")

    # Stories with money owed after the purchase need a priced offer; a free one is taken as it is.
    owing = {"purchased", "partly_paid", "paid_up", "in_arrears", "defaulted", "claim_filed", "compensated"}
    owing |= {"written_off", "equity"}

    def make(state: str) -> License:
        offer, ent = next_pair(
            lambda o: (
                (o.equity_allowed or state != "equity")
                and not (o.is_free and state in owing)
                and (o.is_free or state != "free_taken")
                and o.open_licence == (state == "open_licence")
                and o.has_royalty == (state in ("royalty", "pay_later"))
                and bool(o.deferred_months) == (state == "pay_later")
            )
        )
        by = staff[offer.patent.owner_id]
        lic = _drive(state, offer, ent, by, today)
        counts[lic.state] = counts.get(lic.state, 0) + 1
        return lic

    for state in [
        "applied",
        "applied",
        "rejected",
        "trial",
        "trial_ending",
        "returned",
        "expired",
        "terminated",
        "purchased",
        "purchased",
        "partly_paid",
        "paid_up",
        "in_arrears",
        "defaulted",
        "claim_filed",
        "compensated",
        "written_off",
        "equity",
        "free_taken",
        "open_licence",
        "royalty",
        "pay_later",
    ]:
        make(state)
    # An exclusive offer in trial and a sole one bought, so the portal and admin show patents taken.
    for license_type, state in ((LicenseType.EXCLUSIVE, "trial"), (LicenseType.SOLE, "purchased")):
        held = Offer.objects.filter(license_type=license_type, state=Offer.State.PUBLISHED).order_by("pk").first()
        lic = _drive(state, held, enterprises[0], staff[held.patent.owner_id], today)
        counts[lic.state] = counts.get(lic.state, 0) + 1
    # A portal login for the enterprise that holds most licenses; it deals with several
    # institutions, so the platform administrator approves it (services.member_decision_allowed).
    busiest = max(enterprises, key=lambda e: e.licenses.count())
    member = services.sign_up_member(
        user_fields={"username": "sme_demo", "email": "sme@sme.example.cn", "password": DEMO_PASSWORD},
        enterprise=busiest,
        full_name="王经理",
    )
    services.approve_member(member_id=member.pk, by=admin)
    return {"created": True, "counts": counts, "staff": [u for _n, _k, _e, u in INSTITUTIONS], "sme": "sme_demo"}


def _drive(state, offer, enterprise, by, today):
    """Take a new application to `state` through the services, with dates in the past; each step's
    events are recorded on the day it happens in the story (clock.replaying)."""
    undecided = state in ("applied", "open_licence", "rejected")  # applied for a week ago
    start = None if undecided else _trial_start(state, offer.trial_months, today)
    applied = today - dt.timedelta(days=7) if undecided else start - dt.timedelta(days=10)
    with clock.replaying(applied):
        lic = services.apply_for_trial(offer_id=offer.pk, enterprise=enterprise, intended_use="中试生产线验证")
    if state in ("applied", "open_licence"):  # an open licence is granted on application
        return lic
    if state == "rejected":
        with clock.replaying(today - dt.timedelta(days=3)):
            return services.reject_application(license_id=lic.pk, by=by, reason="申请材料不完整")
    with clock.replaying(start - dt.timedelta(days=3)):
        lic = services.approve_trial(license_id=lic.pk, by=by, start=start)
    _pay_trial_fee(lic, by, start)  # due when the trial starts
    if state in ("trial", "trial_ending"):
        return lic
    if state in ("returned", "terminated", "expired"):
        return _end_trial(state, lic, by, today)
    return _buy(state, lic, by, start, today)


def _trial_start(state, months, today):
    """When the story's trial started, so that today finds it where `state` says."""
    starts = {
        "trial": today - dt.timedelta(days=40),
        "trial_ending": add_months(today, -months) + dt.timedelta(days=6),
        "returned": today - dt.timedelta(days=100),
        "terminated": today - dt.timedelta(days=60),
        "expired": add_months(today, -months) - dt.timedelta(days=12),
        "in_arrears": add_months(today, -months - 1) - dt.timedelta(days=25),
        "pay_later": add_months(today, -months - 8),  # bought 8 months ago: its first revenue ends the deferral early
    }
    if state in ("defaulted", "claim_filed", "compensated", "written_off"):
        return add_months(today, -months - 9)
    return starts.get(state, add_months(today, -months - 14))


def _end_trial(state, lic, by, today):
    """A trial that ended without a purchase, on the day it ended (or a week ago, still running)."""
    with clock.replaying(min(lic.trial_end, today - dt.timedelta(days=7))):
        if state == "returned":
            return services.return_patent(license_id=lic.pk, by=by, reason="技术路线调整")
        if state == "terminated":
            return services.terminate(license_id=lic.pk, by=by, reason="企业注销")
        return services.expire_trial(license_id=lic.pk)


def _buy(state, lic, by, start, today):
    """The purchase at the trial's end, and what followed (payments on their days, a default)."""
    if state in ("claim_filed", "compensated"):
        with clock.replaying(start):
            _insure(lic, by, start)
    with clock.replaying(lic.trial_end):
        plan = "lump_sum" if state in ("paid_up", "free_taken", "royalty", "pay_later") else "installments"
        lic = services.purchase(license_id=lic.pk, plan=plan, by=by, on=lic.trial_end)
    if state == "paid_up":
        _pay(lic, by, lic.outstanding, lic.trial_end + dt.timedelta(days=20), "full")
    elif state == "equity":
        first = lic.installments.filter(kind=Installment.Kind.PURCHASE).order_by("sequence").first()
        _pay(lic, by, first.amount, first.due_date, "first")
        with clock.replaying(first.due_date + dt.timedelta(days=14)):
            conv = services.propose_equity_conversion(license_id=lic.pk, share="0.4", valuation="20000000", by=by)
            services.approve_equity_conversion(conversion_id=conv.pk, by=by, reason="董事会批准")
            services.execute_equity_conversion(conversion_id=conv.pk, by=by)
        _pay_what_fell_due(lic, by, today)
    elif state in ("purchased", "partly_paid"):
        _pay_what_fell_due(lic, by, today)  # good payers: what is left is not due yet
    elif state in ("royalty", "pay_later"):
        _report_royalties(lic, by, today)
    elif state in ("in_arrears", "defaulted", "claim_filed", "compensated", "written_off"):
        unpaid = lic.installments.open().order_by("effective_due_date").first()
        with clock.replaying(unpaid.effective_due_date + dt.timedelta(days=1)):  # the sweep's morning after
            lic = services.mark_overdue(license_id=lic.pk)
    # A default, its claim and its end are declared today (defaulted_on is the business date).
    if state in ("defaulted", "claim_filed", "compensated", "written_off"):
        lic = services.declare_default(license_id=lic.pk, by=by, reason="逾期超过宽限期，催告无果")
    if state in ("claim_filed", "compensated"):
        claim = services.file_claim(license_id=lic.pk, by=by)
        if state == "compensated":
            services.approve_claim(claim_id=claim.pk, by=by)
            services.record_claim_paid(claim_id=claim.pk, amount=claim.claimed_amount, by=by)
    if state == "written_off":
        services.write_off(license_id=lic.pk, by=by, reason="企业破产清算，无可执行财产")
    lic.refresh_from_db()
    return lic


def _insure(lic, by, start):
    services.register_policy(
        license_id=lic.pk,
        by=by,
        kind="insurance",
        insurer="中国人民财产保险股份有限公司",
        insurer_email="claims@picc.example.cn",
        policy_number=f"PICC-ZL-{lic.pk:06d}",
        coverage_ratio=Decimal("0.8"),
        premium=Decimal("3000"),
        starts_on=start,
        ends_on=add_months(start, 60),
    )


def _pay(lic, by, amount, on, tag):
    on = min(on, clock.today())
    with clock.replaying(on):  # recorded the day it was paid
        services.record_payment(
            license_id=lic.pk,
            amount=amount,
            paid_on=on,
            reference=f"ICBC-{lic.pk}-{tag}",
            idempotency_key=f"demo-{lic.pk}-{tag}",
            by=by,
        )


def _pay_what_fell_due(lic, by, today):
    for inst in lic.installments.filter(effective_due_date__lte=today).order_by("due_date", "kind", "sequence"):
        if inst.outstanding:
            _pay(lic, by, inst.outstanding, inst.effective_due_date, f"{inst.kind}{inst.sequence}")


def _pay_trial_fee(lic, by, start):
    fee = lic.installments.filter(kind=Installment.Kind.TRIAL_FEE).first()
    if fee:
        _pay(lic, by, fee.amount, start, "trialfee")


# -- large synthetic book for benchmarks --------------------------------------------------------

BULK_STATES = [  # (state, weight): a book a few years into the programme
    ("applied", 3),
    ("rejected", 2),
    ("trial", 10),
    ("returned", 8),
    ("expired", 5),
    ("terminated", 1),
    ("purchased", 45),
    ("in_arrears", 6),
    ("paid_up", 15),
    ("defaulted", 2),
    ("claim_filed", 1),
    ("compensated", 1),
    ("written_off", 1),
]
INSTALLMENTS_PER_PURCHASE = 14
# Licenses by fee shape, as China's recorded licenses run: about half free, most of the rest at a
# fixed price, a few on royalties.
BULK_FEE_SHAPES = [("free", 54), ("fixed", 39), ("royalty", 7)]
BULK_ROYALTY = {
    "royalty_base": "net_sales",
    "royalty_rates": "3% up to 10,000,000; 2%",
    "reporting_period": "quarter",
    "report_due_days": 30,
    "royalty_minimum": Decimal("50000"),
}
# A free license is taken paid up: none of the states that owe money. A royalty license owes its
# periods until the term ends: never paid up.
OWING_STATES = {"purchased", "in_arrears", "defaulted", "claim_filed", "compensated", "written_off"}


def _bulk_terms(shape: str, rng: random.Random) -> dict:
    if shape == "free":
        return {"price": Decimal(0), "installment_count": 0}
    if shape == "royalty":
        return {"price": Decimal(0), "installment_count": 0, **BULK_ROYALTY}
    price = Decimal(rng.choice([60000, 120000, 480000]))
    return {"price": price, "installment_count": INSTALLMENTS_PER_PURCHASE, "installment_interval_months": 1}


def _bulk_state(shape: str, state: str) -> str:
    if shape == "free" and state in OWING_STATES:
        return "paid_up"
    if shape == "royalty" and state == "paid_up":
        return "purchased"
    return state


def seed_bulk(licenses: int, progress=None, batch: int = 2000, seed: int = 7) -> dict:
    """Bulk-insert a synthetic book: `licenses` licenses, ~14 installments each when purchased.

    It bypasses the services for speed (the book is for benchmarks), so it writes no audit rows;
    every row respects the model's invariants (amounts sum to the price, states are reachable).
    """
    rng = random.Random(seed)
    today = clock.today()
    tag = f"{clock.wall_clock():%H%M%S}{rng.randrange(1000):03d}"
    institutions = [
        Institution.objects.get_or_create(name=f"Bench University {i}", defaults={"kind": "university"})[0]
        for i in range(5)
    ]
    n_patents, n_enterprises = max(10, licenses // 50), max(10, licenses // 20)
    base_serial = 5_000_000 + rng.randrange(1_000_000)
    patents = Patent.objects.bulk_create(
        Patent(
            number=make_patent_number(2020, (base_serial + i) % 10_000_000),
            title=f"Bench patent {tag}-{i}",
            ipc_class=rng.choice("ABCDEFGH") + "01B 1/00",
            owner=institutions[i % 5],
            patent_type="invention",
            filing_date=dt.date(2020, 1, 1),
            expiry_date=dt.date(2040, 1, 1),
        )
        for i in range(n_patents)
    )
    # Fee shapes, one per offer: a few royalty and fixed-price offers, the rest free (each shape
    # has at least one); each license picks its shape by the national mix (BULK_FEE_SHAPES).
    shapes = ["royalty"] * max(1, round(0.07 * n_patents)) + ["fixed"] * max(1, round(0.39 * n_patents))
    shapes += ["free"] * (n_patents - len(shapes))
    offers = Offer.objects.bulk_create(
        Offer(patent=p, state="published", trial_months=6, **_bulk_terms(shape, rng))
        for p, shape in zip(patents, shapes, strict=True)
    )
    by_shape = {shape: [o for o, s in zip(offers, shapes, strict=True) if s == shape] for shape in set(shapes)}
    shape_names, shape_weights = zip(*BULK_FEE_SHAPES, strict=True)
    # Packages: each offer has its lead patent and 0-3 more (on average 2.4 patents per license,
    # as in China's recorded contracts), patents of the same institution that no other offer holds.
    extra_counts = [rng.choice([0, 1, 1, 2, 3]) for _ in offers]
    extras = Patent.objects.bulk_create(
        Patent(
            number=make_patent_number(2021, (base_serial + n_patents + i) % 10_000_000),
            title=f"Bench patent {tag}-x{i}",
            ipc_class=rng.choice("ABCDEFGH") + "01B 1/00",
            owner=institutions[0],  # reassigned below to the lead's institution
            patent_type="invention",
            filing_date=dt.date(2021, 1, 1),
            expiry_date=dt.date(2041, 1, 1),
        )
        for i in range(sum(extra_counts))
    )
    package: dict[int, list[Patent]] = {}
    pool = iter(extras)
    for offer, count in zip(offers, extra_counts, strict=True):
        package[offer.pk] = [offer.patent, *(next(pool) for _ in range(count))]
        for patent in package[offer.pk][1:]:
            patent.owner_id = offer.patent.owner_id
    Patent.objects.bulk_update(extras, ["owner"], batch_size=5000)
    OfferPatent.objects.bulk_create(
        (OfferPatent(offer=offer, patent=patent) for offer in offers for patent in package[offer.pk]),
        batch_size=5000,
    )
    classes = ["micro", "small", "medium", "large"]
    enterprises = Enterprise.objects.bulk_create(
        Enterprise(
            name=f"Bench SME {tag}-{i}",
            uscc=make_uscc(rng.randrange(10**8, 10**9), "310115"),
            industry="industry",
            employees=10,
            annual_revenue=Decimal(100),
            size_class=classes[i % 4],
        )
        for i in range(n_enterprises)
    )
    states, weights = zip(*BULK_STATES, strict=True)
    done = 0
    while done < licenses:
        size = min(batch, licenses - done)
        with transaction.atomic():
            rows = []
            for _ in range(size):
                shape = rng.choices(shape_names, shape_weights)[0]
                offer = rng.choice(by_shape[shape])
                state = _bulk_state(shape, rng.choices(states, weights)[0])
                # A book the hourly sweep agrees with: running trials have not ended yet.
                start = today - dt.timedelta(
                    days=rng.randrange(0, 170) if state == "trial" else rng.randrange(200, 900)
                )
                purchased = state not in ("applied", "rejected", "trial", "returned", "expired", "terminated")
                trial_end = add_months(start, 6)
                # As the transitions date it: the purchase, the last day, or a day during the trial.
                ended_on = {
                    "returned": start + dt.timedelta(days=rng.randrange(1, 180)),
                    "terminated": start + dt.timedelta(days=rng.randrange(1, 180)),
                    "expired": workdays.effective_date(trial_end),
                }.get(state, trial_end if purchased else None)
                rows.append(
                    License(
                        offer=offer,
                        enterprise=rng.choice(enterprises),
                        state=state,
                        **{
                            **{name: getattr(offer, name) for name in DealTerms.term_names()},
                            "term_end": max(patent.expiry_date for patent in package[offer.pk]),
                        },
                        trial_start=None if state in ("applied", "rejected") else start,
                        trial_end=None if state in ("applied", "rejected") else trial_end,
                        trial_end_effective=None
                        if state in ("applied", "rejected")
                        else workdays.effective_date(trial_end),
                        trial_ended_on=ended_on,
                        plan=("installments" if shape == "fixed" else "lump_sum") if purchased else "",
                        purchased_on=trial_end if purchased else None,
                    )
                )
            created = License.objects.bulk_create(rows)
            LicensePatent.objects.bulk_create(
                (LicensePatent(license=lic, patent=patent) for lic in created for patent in package[lic.offer_id]),
                batch_size=5000,
            )
            bought = [lic for lic in created if lic.purchased_on]
            fixed = [inst for lic in bought if lic.price for inst in _bulk_schedule(lic, today)]
            cured: set[int] = set()
            periods = [pair for lic in bought if lic.has_royalty for pair in _bulk_periods(lic, today, cured)]
            schedules = [*fixed, *(inst for inst, _report in periods)]
            Installment.objects.bulk_create(schedules, batch_size=5000)
            for inst, report in periods:
                report.installment = inst  # saved above, so it has its id
            RoyaltyReport.objects.bulk_create((report for _inst, report in periods), batch_size=5000)
            License.objects.filter(pk__in=cured).update(state="purchased")
            _bulk_money(created, schedules, today)
        done += size
        if progress:
            progress(size)
    if connection.vendor == "postgresql":
        # Fresh statistics, as after any bulk load: without them the planner picks plans that
        # take seconds instead of milliseconds on the license list.
        with connection.cursor() as cursor:
            cursor.execute(
                "ANALYZE licensing_license, licensing_installment, licensing_enterprise, licensing_patent, "
                "licensing_payment, licensing_insurancepolicy, licensing_insuranceclaim, licensing_offerpatent, "
                "licensing_licensepatent, licensing_royaltyreport"
            )
    return {"licenses": licenses, "patents": n_patents + len(extras), "enterprises": n_enterprises}


def _bulk_money(licenses: list[License], schedules: list[Installment], today: dt.date) -> None:
    """What the services would have written around the schedules: a payment for each paid
    installment, on its due date; a policy on every fifth purchase and on every claimed license;
    a claim, filed at default, for those in claim_filed (open) and compensated (paid)."""
    Payment.objects.bulk_create(
        (
            Payment(
                license_id=inst.license_id,
                amount=inst.paid_amount,
                paid_on=min(inst.effective_due_date, today),
                reference=f"BULK-{inst.license_id}-{inst.sequence}",
                idempotency_key=f"bulk-{inst.license_id}-{inst.sequence}",
            )
            for inst in schedules
            if inst.paid_amount
        ),
        batch_size=5000,
    )
    claimed = {"claim_filed": InsuranceClaim.State.FILED, "compensated": InsuranceClaim.State.PAID}
    owing = [lic for lic in licenses if lic.purchased_on and not lic.is_free]  # a free license has nothing to insure
    insured = [lic for lic in owing if lic.pk % 5 == 0 or lic.state in claimed]
    policies = InsurancePolicy.objects.bulk_create(
        InsurancePolicy(
            license=lic,
            insurer="Bench Insurance Co.",
            policy_number=f"BENCH-{lic.pk}",
            coverage_ratio=Decimal("0.8"),
            starts_on=lic.trial_start,
            ends_on=add_months(lic.trial_start, 60),
        )
        for lic in insured
    )
    unpaid = {}
    for inst in schedules:
        unpaid[inst.license_id] = unpaid.get(inst.license_id, Decimal(0)) + inst.amount - inst.paid_amount
    InsuranceClaim.objects.bulk_create(
        InsuranceClaim(
            license=policy.license,
            policy=policy,
            state=claimed[policy.license.state],
            outstanding_at_filing=unpaid[policy.license.pk],
            claimed_amount=InsuranceClaim.amount_for(policy, unpaid[policy.license.pk]),
            paid_amount=InsuranceClaim.amount_for(policy, unpaid[policy.license.pk])
            if policy.license.state == "compensated"
            else None,
            filed_on=policy.license.purchased_on + dt.timedelta(days=120),
        )
        for policy in policies
        if policy.license.state in claimed
    )


def _bulk_schedule(lic: License, today: dt.date):
    """Paid up: all paid. Purchased: everything due so far paid. In arrears: unpaid since a day
    within the last 60 (inside the grace period). Defaulted and later: unpaid since long ago."""
    paid_until = {
        "paid_up": dt.date.max,
        "purchased": today,
        "in_arrears": today - dt.timedelta(days=1 + lic.pk % 60),
    }.get(lic.state, lic.purchased_on)
    for n, amount in enumerate(split_evenly(lic.price, INSTALLMENTS_PER_PURCHASE), start=1):
        due = add_months(lic.purchased_on, n - 1)
        paid = due < paid_until
        yield Installment(
            license=lic,
            kind="purchase",
            sequence=n,
            amount=amount,
            due_date=due,
            effective_due_date=workdays.effective_date(due),
            paid_amount=amount if paid else Decimal("0"),
            state="paid" if paid else ("overdue" if due < today else "due"),
        )


def _report_royalties(lic, by, today):
    """Every ended period reported, the reports accepted and paid, but the latest: filed, it
    waits for the TTO."""
    ended = list(lic.royalty_reports.filter(period_end__lt=today).order_by("period_start"))
    _pay_what_fell_due(lic, by, today)  # the entry fee
    for n, report in enumerate(ended):
        base = Decimal(1_800_000 + 350_000 * n) if n else Decimal(0)  # a nil report while production starts
        with clock.replaying(report.period_end + dt.timedelta(days=10)):
            services.file_royalty_report(report_id=report.pk, base=base, units=int(base / 600), by=by)
        if report is not ended[-1]:
            with clock.replaying(report.period_end + dt.timedelta(days=15)):
                services.accept_royalty_report(report_id=report.pk, by=by)
    _pay_what_fell_due(lic, by, today)


def _bulk_periods(lic: License, today: dt.date, cured: set[int]):
    """A royalty license's periods, as the services leave them: reported, accepted and paid while
    it pays; in arrears, the latest report that fell due (within the grace days) not filed;
    defaulted and later, nothing filed since the purchase. Sales rise quarter by quarter. A
    license drawn in arrears with no report late enough for it is added to `cured`."""
    assert lic.purchased_on and lic.term_end
    spans = royalties.periods(lic.purchased_on, lic.term_end, royalties.PERIOD_MONTHS[lic.reporting_period])
    fell_due = [end + dt.timedelta(days=lic.report_due_days) for _start, end in spans]
    fell_due = [due for due in fell_due if workdays.effective_date(due) < today]
    reported_until = {"purchased": today}.get(lic.state, lic.purchased_on)
    if lic.state == "in_arrears":  # the latest report that fell due is missing, inside the grace days
        if fell_due and (today - fell_due[-1]).days < lic.grace_days - 5:
            reported_until = fell_due[-1]
        else:
            cured.add(lic.pk)
            reported_until = today
    tiers = royalties.parse_tiers(lic.royalty_rates)
    year_base: dict[int, Decimal] = {}
    for n, (start, end) in enumerate(spans, start=1):
        due = end + dt.timedelta(days=lic.report_due_days)
        effective = workdays.effective_date(due)
        period = {"license": lic, "period_start": start, "period_end": end, "due_date": due}
        common = {"license": lic, "kind": "royalty", "sequence": n, "due_date": due, "effective_due_date": effective}
        if due < reported_until:
            base = Decimal(400_000 * n + 10_000 * (lic.pk % 7))
            earlier = year_base.get(start.year, Decimal(0))
            royalty = royalties.royalty_on(base, tiers, earlier=earlier)
            year_base[start.year] = earlier + base
            filed = timezone.make_aware(dt.datetime.combine(due - dt.timedelta(days=5), dt.time(10)))
            yield (
                Installment(**common, amount=royalty, paid_amount=royalty, state="paid"),
                RoyaltyReport(**period, state="accepted", base_amount=base, royalty=royalty, filed_at=filed),
            )
        else:
            state = "overdue" if effective < today else "due"
            yield (
                Installment(**common, amount=Decimal(0), report_pending=True, state=state),
                RoyaltyReport(**period),
            )
