"""The demo book: a small, realistic book driven through the services (so every state has its
audit trail and its history reads as it happened), one story per state a license can be in."""

import datetime as dt
import random
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.files.base import ContentFile
from django.db import transaction

from .. import services
from ..domain import clock
from ..domain.money import add_months
from ..models import (
    Enterprise,
    Installment,
    Institution,
    Inventor,
    License,
    LicenseType,
    Offer,
    Patent,
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
    admin = get_user_model().objects.filter(username="admin").first()
    if admin is None:
        admin = get_user_model().objects.create_superuser("admin", "admin@tto.example", DEMO_PASSWORD)
    institutions, staff = _institutions()
    _distribution_rules(institutions, staff)
    enterprises = _enterprises()
    rng = random.Random(2024)  # drawn in the same order on every run: the same book each time
    offers = [_offer(i, institutions, staff, rng) for i in range(len(PATENTS))]
    counts = _tell_stories(offers[:-1], enterprises, staff, clock.today())  # the last offer stays a draft
    member = _sme_login(enterprises, admin)
    _a_period_to_report(offers[:-1], member.enterprise, staff, clock.today())
    _contracts(member, staff)
    _inventor_login(institutions[0])
    _needs(member, enterprises, admin)
    return {"created": True, "counts": counts, "staff": [u for _n, _k, _e, u in INSTITUTIONS], "sme": "sme_demo"}


# Each institution's inventors (name, college); every patent is made by two of them, 60/40.
INVENTORS = (
    (("刘明远", "材料科学与工程学院"), ("孙晓燕", "化学化工学院"), ("周立新", "材料科学与工程学院")),
    (("吴海峰", "先进材料研究所"), ("郑雪梅", "能源材料研究所"), ("钱志强", "先进材料研究所")),
    (("黄春生", "农学院"), ("林秀英", "食品学院"), ("何建平", "农学院")),
)


def _distribution_rules(institutions: list[Institution], staff: dict) -> None:
    """A distribution policy per institution, as Chinese universities publish them (10% to the
    TTO for its service, then 70% of the net to the inventors), and their inventors."""
    for n, inst in enumerate(institutions):
        services.adopt_policy(
            by=staff[inst.pk],
            institution=inst,
            effective_from=dt.date(2015, 1, 1),
            service_rate=Decimal("0.10"),
            inventors_share=Decimal("0.70"),
            college_share=Decimal("0.10"),
            tto_share=Decimal("0.05"),
            institution_share=Decimal("0.15"),
            equity_inventors_share=Decimal("0.70"),
        )
        for k, (name, college) in enumerate(INVENTORS[n]):
            Inventor.objects.create(
                institution=inst,
                name=name,
                college=college,
                staff_number=f"{('JH', 'HL', 'NL')[n]}{1001 + k}",
                email=f"inventor{k + 1}@{('jinghua', 'hailan', 'nanling')[n]}.example.edu.cn",
            )


def _inventors_made(patent: Patent, i: int, staff: dict) -> None:
    inventors = list(Inventor.objects.filter(institution=patent.owner).order_by("pk"))
    first, second = inventors[i % 3], inventors[(i + 1) % 3]
    services.set_inventor_shares(
        patent_id=patent.pk,
        shares=[(first.pk, "0.6"), (second.pk, "0.4")],
        effective_from=patent.filing_date,
        by=staff[patent.owner_id],
    )


def _inventor_login(institution: Institution) -> None:
    """`inventor_demo`: the first inventor of the first institution, reading their own money."""
    inventor = Inventor.objects.filter(institution=institution).order_by("pk").first()
    assert inventor is not None
    user = get_user_model().objects.create_user("inventor_demo", inventor.email, DEMO_PASSWORD)
    Inventor.objects.filter(pk=inventor.pk).update(user=user)


def _institutions() -> tuple[list[Institution], dict]:
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
            uscc=make_uscc(400_000_000 + n * 977, division=("110108", "310115", "440106")[n]),
            address=("北京市海淀区学院路1号", "上海市浦东新区张江路88号", "广州市天河区五山路483号")[n],
            legal_representative=("王建国", "陈海澜", "赵南岭")[n],
            contract_prefix=("JH", "HL", "NL")[n],
        )
        institutions.append(inst)
        staff[inst.pk] = _staff_user(username, inst)
    return institutions, staff


# The GB/T 4754 section of each demo enterprise, by the size-class industry it was given.
SECTION_OF = {"industry": "C", "software_it": "I", "wholesale": "F", "retail": "F"}


def _enterprises() -> list[Enterprise]:
    return [
        Enterprise.objects.create(
            name=name,
            uscc=make_uscc(55_000_000 + i * 7919),
            industry=industry,
            industry_section=SECTION_OF[industry],
            employees=employees,
            annual_revenue=revenue,
            high_tech=high_tech,
            contact_email=f"ip{i}@sme.example.cn",
            address=f"{name[:2]}市高新技术产业开发区创新路{10 + i}号",
            legal_representative=("张", "李", "刘", "陈", "杨", "黄")[i % 6] + ("伟", "敏", "强", "静")[i % 4],
        )
        for i, (name, industry, employees, revenue, high_tech) in enumerate(ENTERPRISES)
    ]


def _offer_terms(i: int, rng: random.Random) -> dict:
    """The terms of the i-th demo offer: every shape of deal the product handles appears."""
    free = i % 5 == 4  # about half of China's recorded licenses are free; a few here
    royalty = i == 6  # 入门费 + 提成: an entry fee, then 3% of net sales (2% above 10M a year)
    # Beijing's and Shaanxi's use first, pay later: zero entry fee + milestones + revenue share,
    # nothing due for 12 months or until the first revenue.
    pay_later = i == 10
    price = Decimal(rng.choice([80000, 150000, 300000, 500000, 1200000]))
    equity = i % 2 == 0 and not free
    return {
        "trial_months": 6 + 6 * (i % 2),
        "trial_fee": Decimal("0") if i % 3 or free else Decimal("5000"),
        "price": Decimal(0) if free or royalty or pay_later else price,
        "royalty_base": "net_sales" if royalty or pay_later else "",
        "royalty_rates": "3% up to 10,000,000; 2%" if royalty else ("2%" if pay_later else ""),
        "royalty_minimum": Decimal("100000") if royalty else None,
        "deferred_months": 12 if pay_later else 0,
        "deferred_until_revenue": pay_later,
        "lump_sum_allowed": True,
        "installment_count": rng.choice([4, 6, 8]),
        "installment_interval_months": 3,
        "first_due_months": 1,
        "grace_days": 90,
        "license_type": {0: LicenseType.EXCLUSIVE, 7: LicenseType.SOLE, 8: LicenseType.EXCLUSIVE}.get(
            i, LicenseType.ORDINARY
        ),
        "territory": "中国大陆" if i % 3 == 0 else "",
        "field_of_use": "新能源汽车电池" if i % 4 == 0 else "",
        "use_reports_required": free,
        "open_licence": i == 5,  # an open-licence declaration: SMEs that apply get it at once
        "entry_fee": {3: Decimal("30000"), 6: Decimal("20000")}.get(i, Decimal("0")),  # 入门费, due on the purchase
        "equity_allowed": equity,
        "equity_max_share": Decimal("0.5") if equity else Decimal("0"),
        "insurance_required": False,
        "coverage_ratio": Decimal("0.8"),
    }


def _offer(i: int, institutions: list[Institution], staff: dict, rng: random.Random) -> Offer:
    """The i-th patent, its offer and package, published (but the last, a draft)."""
    title, ipc, type_digit = PATENTS[i]
    owner = institutions[i % len(institutions)]
    patent = Patent.objects.create(
        number=make_patent_number(2016 + i % 7, 210_000 + i * 137, type_digit),
        title=title,
        abstract=f"本专利公开了{title}的技术方案。与现有技术相比，工艺步骤更少、成本更低，已完成实验室验证，适合中试放大与产业化。",
        claims_gist="保护该技术的关键步骤与参数范围，以及实施该技术所用装置的结构。",
        ipc_class=ipc,
        owner=owner,
        filing_date=dt.date(2016 + i % 7, 1 + i % 12, 10),
        grant_date=dt.date(2018 + i % 7, 1 + i % 12, 20) if type_digit != "1" or i % 4 else None,
    )
    offer = Offer.objects.create(patent=patent, **_offer_terms(i, rng))
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
    for made in (patent, *related):
        _inventors_made(made, i, staff)
    if related:
        services.set_package(offer_id=offer.pk, patents=related, by=staff[owner.pk])
    if offer.deferred_months:  # use first, pay later
        offer.milestones.create(name="首次商业销售", amount=Decimal("100000"), due_days=30)
        offer.milestones.create(name="许可第二年固定费", amount=Decimal("60000"), due_months=24)
    if i != len(PATENTS) - 1:  # the last one stays a draft
        services.publish_offer(offer_id=offer.pk, by=staff[owner.pk])
    return offer


# One story per state a license can be in (and a few ways to get there), each driven through the
# services by _drive. A story names the offer it needs: one with something to pay once bought
# (the states after a purchase, but a free license's "free_taken"), or one of its own kind.
STORIES = [
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
]
PRICED_STORIES = {*License.AFTER_PURCHASE_STATES, "partly_paid", "equity"}


def _fits(story: str, offer: Offer) -> bool:
    """The offer a story needs (an exclusive or sole one is told apart, in _tell_stories)."""
    return (
        (offer.equity_allowed or story != "equity")
        and not (offer.is_free and story in PRICED_STORIES)
        and (offer.is_free or story != "free_taken")
        and offer.open_licence == (story == "open_licence")
        and offer.has_royalty == (story in ("royalty", "pay_later"))
        and bool(offer.deferred_months) == (story == "pay_later")
    )


def _tell_stories(published: list[Offer], enterprises: list[Enterprise], staff: dict, today: dt.date) -> dict:
    """Every story on an offer that fits it and an enterprise that has not tried that patent;
    then an exclusive offer in trial and a sole one bought, so the pages show patents taken.
    Returns how many licenses each state holds."""
    counts: dict[str, int] = {}
    # 11 published offers and 12 enterprises are coprime: walking both together visits every
    # pair, spreading the licenses over all institutions.
    pairs = iter(
        (published[k % len(published)], enterprises[k % len(enterprises)])
        for k in range(len(published) * len(enterprises))
    )
    used = set()

    def tell(story: str, offer: Offer, enterprise: Enterprise) -> None:
        lic = _drive(story, offer, enterprise, staff[offer.patent.owner_id], today)
        counts[lic.state] = counts.get(lic.state, 0) + 1

    for story in STORIES:
        for offer, enterprise in pairs:
            if (offer.patent_id, enterprise.pk) in used or offer.blocks_other_licensees or not _fits(story, offer):
                continue
            used.add((offer.patent_id, enterprise.pk))
            tell(story, offer, enterprise)
            break
        else:
            raise RuntimeError("demo ran out of offer/enterprise pairs")
    for license_type, story in ((LicenseType.EXCLUSIVE, "trial"), (LicenseType.SOLE, "purchased")):
        held = Offer.objects.filter(license_type=license_type, state=Offer.State.PUBLISHED).order_by("pk").first()
        tell(story, held, enterprises[0])
    return counts


def _contracts(member, staff: dict) -> None:
    """The demo member's bought licenses: the first with its contract signed (taking effect on the
    purchase, as agreed), registered as a technology contract, and the invoice of its first payment
    asked for; the second issued and awaiting its signature; the others to issue."""
    enterprise = member.enterprise
    bought = License.objects.filter(enterprise=enterprise, state__in=License.BOUGHT_STATES).order_by("pk")
    for n, lic in enumerate(bought.select_related("offer__patent")[:2]):
        by = staff[lic.offer.patent.owner_id]
        assert lic.purchased_on  # bought
        with clock.replaying(lic.purchased_on + dt.timedelta(days=3)):
            contract = services.issue_contract(license_id=lic.pk, by=by)
        if n == 0:
            with contract.versions.get().document.open("rb") as issued:  # the demo's "scan"
                scan = ContentFile(issued.read(), name="signed.pdf")
            signed_on = min(lic.purchased_on + dt.timedelta(days=10), clock.today())
            with clock.replaying(signed_on):
                services.record_signing(
                    contract_id=contract.pk,
                    signed_copy=scan,
                    signed_on=signed_on,
                    effective_on=lic.purchased_on,
                    by=by,
                )
                services.register_technology_contract(
                    contract_id=contract.pk, registration_number="2026110108000321", registered_on=signed_on, by=by
                )
            payment = lic.payments.order_by("paid_on", "pk").first()
            if payment is not None:
                details = {
                    "buyer_name": enterprise.name,
                    "taxpayer_number": enterprise.uscc,
                    "email": "fapiao@sme.example.cn",
                }
                services.request_invoice(payment_id=payment.pk, details=details, by=member.user)


def _sme_login(enterprises: list[Enterprise], admin) -> None:
    """A portal login for the enterprise that holds most licenses; it deals with several
    institutions, so the platform administrator approves it (services.member_decision_allowed)."""
    busiest = max(enterprises, key=lambda e: e.licenses.count())
    member = services.sign_up_member(
        user_fields={"username": "sme_demo", "email": "sme@sme.example.cn", "password": DEMO_PASSWORD},
        enterprise=busiest,
        full_name="王经理",
        privacy_notice_version=settings.PRIVACY_NOTICE_VERSION,
    )
    services.approve_member(member_id=member.pk, by=admin)
    return member


# What some demo enterprises need, in their own words (issue 26): the demo member's first.
NEEDS = [
    {
        "products": "动力电池包、储能柜",
        "problems": "提高电池能量密度和循环寿命；产线上电芯外观缺陷的自动检测。",
        "divisions": ["38", "39"],
        "keywords": "锂电池, 负极材料, 缺陷检测",
    },
    {
        "products": "生鲜农产品包装",
        "problems": "可降解的包装材料，替代塑料膜。",
        "divisions": ["29", "22"],
        "keywords": "",
    },
    {
        "products": "设施农业服务",
        "problems": "温室温湿度监测，节水灌溉。",
        "divisions": ["01", "05"],
        "keywords": "温室",
    },
    {"products": "工业水处理设备", "problems": "海水淡化的能耗太高。", "divisions": ["46", "77"], "keywords": "膜组件"},
]


def _needs(member, enterprises: list[Enterprise], admin) -> None:
    """The demo member's enterprise and three others describe their needs and ask for fitting
    offers: the catalogue opens with recommendations, and offers' admin pages list fitting
    enterprises. The others have no portal login: a member of each is signed up and approved."""
    others = [e for e in enterprises if e.pk != member.enterprise_id][: len(NEEDS) - 1]
    for n, (enterprise, needs) in enumerate(zip([member.enterprise, *others], NEEDS, strict=False)):
        user = get_user_model().objects.get(pk=member.user_id)  # as approved (not the sign-up's copy)
        if enterprise.pk != member.enterprise_id:
            other = services.sign_up_member(
                user_fields={"username": f"sme_demo{n}", "email": f"sme{n}@sme.example.cn", "password": DEMO_PASSWORD},
                enterprise=enterprise,
                full_name="李主任",
                privacy_notice_version=settings.PRIVACY_NOTICE_VERSION,
            )
            services.approve_member(member_id=other.pk, by=admin)
            user = get_user_model().objects.get(pk=other.user_id)
        services.update_needs(enterprise_id=enterprise.pk, by=user, changes=needs)
        services.set_push_consent(enterprise_id=enterprise.pk, by=user, given=True)


def _a_period_to_report(published: list[Offer], enterprise: Enterprise, staff: dict, today: dt.date) -> None:
    """The demo member's enterprise holds a royalty license whose latest ended period is not
    reported yet: a newcomer tries reporting (a nil or a revenue report) without moving the clock."""
    held = set(enterprise.licenses.values_list("offer__patent_id", flat=True))
    story, offer = next(
        (story, o)
        for story in ("royalty", "pay_later")
        for o in published
        if _fits(story, o) and not o.blocks_other_licensees and o.patent_id not in held
    )
    lic = _drive(story, offer, enterprise, staff[offer.patent.owner_id], today, leave_latest=True)
    latest = lic.royalty_reports.filter(period_end__lt=today, state="expected").order_by("period_end").last()
    late = latest.installment.effective_due_date if latest.installment else latest.due_date
    if late < today:  # past its date: late, as the sweep would have found it the morning after
        with clock.replaying(late + dt.timedelta(days=1)):
            services.mark_overdue(license_id=lic.pk)


def _drive(state, offer, enterprise, by, today, *, leave_latest=False):
    """Take a new application to `state` through the services, with dates in the past; each step's
    events are recorded on the day it happens in the story (clock.replaying)."""
    undecided = state in (*License.NO_TRIAL_STATES, "open_licence")  # applied for a week ago
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
    return _buy(state, lic, by, start, today, leave_latest=leave_latest)


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
    if state in License.AFTER_DEFAULT_STATES:
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


def _buy(state, lic, by, start, today, *, leave_latest=False):
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
        _report_royalties(lic, by, today, leave_latest=leave_latest)
    elif state == License.State.IN_ARREARS or state in License.AFTER_DEFAULT_STATES:
        unpaid = lic.installments.open().order_by("effective_due_date").first()
        with clock.replaying(unpaid.effective_due_date + dt.timedelta(days=1)):  # the sweep's morning after
            lic = services.mark_overdue(license_id=lic.pk)
    # A default, its claim and its end are declared today (defaulted_on is the business date).
    if state in License.AFTER_DEFAULT_STATES:
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


def _report_royalties(lic, by, today, *, leave_latest=False):
    """Every ended period reported, the reports accepted and paid, but the latest: filed, it
    waits for the TTO (or, `leave_latest`, not reported yet: the demo member's to try)."""
    ended = list(lic.royalty_reports.filter(period_end__lt=today).order_by("period_start"))
    if leave_latest:
        ended = ended[:-1]
    _pay_what_fell_due(lic, by, today)  # the entry fee
    for n, report in enumerate(ended):
        base = Decimal(1_800_000 + 350_000 * n) if n else Decimal(0)  # a nil report while production starts
        with clock.replaying(report.period_end + dt.timedelta(days=10)):
            services.file_royalty_report(report_id=report.pk, base=base, units=int(base / 600), by=by)
        if report is not ended[-1]:
            with clock.replaying(report.period_end + dt.timedelta(days=15)):
                services.accept_royalty_report(report_id=report.pk, by=by)
    _pay_what_fell_due(lic, by, today)
