"""Matching benchmark (issue 26): the quality of the recommendations on a labelled set, against
the catalogue's keyword search, and the speed of both rankings at scale. Prints figures only.

    # the labelled set (10 fitting patents per enterprise's need):
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tto_bench_match_q \\
        .venv/bin/python bench/matching_bench.py --patents 640 --enterprises 200
    # the speed (and the quality at scale, where each need has ~1,560 fitting patents):
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tto_bench_match \\
        .venv/bin/python bench/matching_bench.py --patents 100000 --enterprises 50000

The generator. 16 technical topics (batteries, photovoltaics, machine vision, foods, ...), each
with an IPC class, the GB/T 4754 divisions that use it, three general words and four subtopics of
two specific words (硅碳负极 + 首次效率). Patent i gets a topic and a subtopic (seeded by i): its
title names one specific word and a general one, its abstract both specific words, a general word
and two common words (成本, 稳定性); one in five also names a specific word of a sibling subtopic
(a near miss). Enterprise j gets a need (a topic and subtopic, seeded by j) and describes it as an
SME would: its products by a general word of the topic (and, one in three, of another topic: a
firm that does two things), its problem by one of the two specific words, its keyword a general
word (three in five) or the other specific word; it names the topic's first division seven times
in ten. **The truth**: the patents of the enterprise's subtopic fit it; the rest do not.

The baseline is what the SME can do today: type its keyword into the catalogue's search
(`selectors.catalogue(search=...)`, newest first) and read the first results. Precision@5 is the
share of the first 5 that fit; recall@10 the share of the fitting patents among the first 10
(its best possible value is 10 / the number of fitting patents, printed).
"""

import argparse
import contextlib
import datetime as dt
import random
import statistics
import sys
import time
from decimal import Decimal

from common import create_database, median, require_postgresql
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection, transaction

from licensing import selectors, services
from licensing.demo.identifiers import make_patent_number, make_uscc
from licensing.domain import clock, size_class
from licensing.models import Enterprise, EnterpriseNeeds, Institution, Offer, OfferPatent, OfferTerm, Patent

# topic: (IPC class, divisions, general words, subtopics of two specific words)
TOPICS = [
    (
        "H01M",
        ["38", "39"],
        ["锂离子电池", "电芯", "电池包"],
        [["硅碳负极", "首次效率"], ["固态电解质", "离子电导率"], ["液冷板", "热失控"], ["极片涂布", "面密度"]],
    ),
    (
        "H02S",
        ["38", "44"],
        ["光伏组件", "太阳能电池", "发电效率"],
        [["钙钛矿", "钝化层"], ["清洁机器人", "积灰"], ["跟踪支架", "光照角度"], ["逆变器", "最大功率点"]],
    ),
    (
        "G06T",
        ["65", "39"],
        ["图像", "深度学习", "神经网络"],
        [["缺陷检测", "表面划痕"], ["人脸识别", "活体检测"], ["三维重建", "点云"], ["目标跟踪", "视频监控"]],
    ),
    (
        "A23L",
        ["14", "13"],
        ["食品", "口感", "保质期"],
        [["速冻面条", "预糊化"], ["植物蛋白", "肉类替代"], ["益生菌", "发酵乳"], ["果蔬汁", "冷榨"]],
    ),
    (
        "A61K",
        ["27"],
        ["中药", "提取物", "有效成分"],
        [["黄芪多糖", "免疫调节"], ["丹参酮", "心血管"], ["大孔树脂", "纯化工艺"], ["颗粒剂", "制粒"]],
    ),
    (
        "C02F",
        ["46", "77"],
        ["废水", "水处理", "出水水质"],
        [["反渗透膜", "海水淡化"], ["厌氧消化", "污泥"], ["臭氧氧化", "难降解有机物"], ["重金属", "吸附剂"]],
    ),
    (
        "A01G",
        ["01", "05"],
        ["作物", "种植", "产量"],
        [["温室大棚", "温湿度"], ["滴灌", "水肥一体化"], ["植保无人机", "喷洒"], ["土壤墒情", "监测站"]],
    ),
    (
        "B23K",
        ["34", "33"],
        ["焊接", "焊缝", "接头强度"],
        [["激光焊", "铝合金"], ["搅拌摩擦焊", "镁合金"], ["焊接机器人", "轨迹规划"], ["超声波焊", "塑料件"]],
    ),
    (
        "C08L",
        ["29", "26"],
        ["复合材料", "力学性能", "包装"],
        [["聚乳酸", "可降解"], ["阻隔膜", "氧气透过率"], ["发泡材料", "缓冲"], ["抗菌", "保鲜膜"]],
    ),
    (
        "G01L",
        ["40"],
        ["传感器", "灵敏度", "测量"],
        [["柔性压力", "可穿戴"], ["气体传感器", "甲醛"], ["光纤光栅", "应变"], ["温度补偿", "零点漂移"]],
    ),
    (
        "G06F",
        ["65", "64"],
        ["数据", "服务器", "加密"],
        [["区块链", "数据确权"], ["联邦学习", "隐私保护"], ["数据库", "索引"], ["边缘计算", "任务调度"]],
    ),
    (
        "H04W",
        ["39", "63"],
        ["通信", "基站", "信号"],
        [["毫米波", "天线阵列"], ["物联网", "低功耗"], ["信道估计", "导频"], ["卫星通信", "星间链路"]],
    ),
    (
        "B60L",
        ["36"],
        ["车辆", "整车", "驾驶"],
        [["电机控制器", "扭矩"], ["自动驾驶", "路径规划"], ["制动能量回收", "再生制动"], ["充电桩", "快充"]],
    ),
    (
        "E04B",
        ["47", "50"],
        ["建筑", "墙体", "施工"],
        [["装配式", "预制构件"], ["保温材料", "导热系数"], ["钢结构", "节点连接"], ["防水卷材", "渗漏"]],
    ),
    (
        "D06M",
        ["17"],
        ["织物", "纤维", "纺织品"],
        [["阻燃整理", "极限氧指数"], ["吸湿排汗", "导湿"], ["活性染料", "色牢度"], ["抗静电", "导电纤维"]],
    ),
    (
        "C22C",
        ["32", "31"],
        ["合金", "冶炼", "熔体"],
        [["高强铝合金", "时效处理"], ["钛合金", "增材制造"], ["稀土", "永磁"], ["铜合金", "导电率"]],
    ),
]
SUBTOPICS = [(t, s) for t in range(len(TOPICS)) for s in range(4)]
COMMON = ["成本", "稳定性", "寿命", "效率", "精度", "自动化", "良率", "能耗"]
ENDINGS = ["及其制备方法", "的方法", "装置", "系统", "的工艺"]


def patent_of(i: int) -> tuple[int, int, dict]:
    """Patent i's subtopic and fields (seeded by i: the same on every run)."""
    rng = random.Random(f"patent-{i}")
    topic, sub = SUBTOPICS[i % len(SUBTOPICS)] if i < 64 * 10 else rng.choice(SUBTOPICS)
    ipc, _divisions, general, subs = TOPICS[topic]
    a, b = subs[sub] if rng.random() < 0.5 else subs[sub][::-1]
    g = rng.choice(general)
    near = f"，兼容{rng.choice(subs[(sub + 1 + rng.randrange(3)) % 4])}" if rng.random() < 0.2 else ""
    return (
        topic,
        sub,
        {
            "title": f"一种{a}{g}{rng.choice(ENDINGS)}",
            "abstract": f"本发明涉及{g}领域，公开了一种{a}技术，结合{b}{near}，"
            f"改善{rng.choice(COMMON)}和{rng.choice(COMMON)}。",
            "keywords": f"{a}, {g}",
            "ipc_class": f"{ipc[:3]}{ipc[3]} {rng.randint(1, 60)}/{rng.randint(0, 9)}0",
        },
    )


def needs_of(j: int) -> tuple[int, int, dict]:
    """Enterprise j's need (a subtopic) and how it words it."""
    rng = random.Random(f"enterprise-{j}")
    topic, sub = rng.choice(SUBTOPICS)
    _ipc, divisions, general, subs = TOPICS[topic]
    a, b = subs[sub] if rng.random() < 0.5 else subs[sub][::-1]
    products = f"{rng.choice(general)}相关产品"
    if rng.random() < 1 / 3:
        products += f"、{rng.choice(TOPICS[rng.randrange(len(TOPICS))][2])}"
    return (
        topic,
        sub,
        {
            "products": products,
            "problems": f"希望解决{a}方面的难题，降低{rng.choice(COMMON)}压力。",
            "keywords": rng.choice(general) if rng.random() < 0.6 else b,
            "divisions": divisions[0] if rng.random() < 0.7 else "",
        },
    )


def build(patents: int, enterprises: int) -> int:
    """Patents, their published offers, enterprises and their needs (opted in to pushes), then the
    index: in bulk, from what a stopped build left. Returns the rows added."""
    institutions = [
        Institution.objects.get_or_create(name=f"基准大学{k:02d}", defaults={"kind": "university"})[0]
        for k in range(20)
    ]
    have = Patent.objects.filter(number__startswith="2015").count()  # the bench's patents only
    added = max(0, patents - have)
    for start in range(have, patents, 5000):
        rows = []
        for i in range(start, min(start + 5000, patents)):
            _t, _s, fields = patent_of(i)
            filing = dt.date(2016 + i % 8, 1 + i % 12, 1 + i % 28)
            rows.append(
                Patent(
                    number=make_patent_number(2015, 1_000_000 + i),
                    patent_type="invention",
                    owner=institutions[i % len(institutions)],
                    filing_date=filing,
                    expiry_date=filing.replace(year=filing.year + 20),
                    legal_status=Patent.LegalStatus.VALID,
                    **fields,
                )
            )
        with transaction.atomic():
            made = Patent.objects.bulk_create(rows)
            offers = Offer.objects.bulk_create(
                Offer(
                    patent=p,
                    state=Offer.State.PUBLISHED,
                    trial_months=6,
                    price=Decimal("100000"),
                    lump_sum_allowed=True,
                    installment_count=3,
                    installment_interval_months=6,
                    first_due_months=12,
                    grace_days=90,
                    license_type="ordinary",
                )
                for p in made
            )
            OfferPatent.objects.bulk_create(OfferPatent(offer=o, patent_id=o.patent_id) for o in offers)
        print(f"  {start + len(rows):,} patents", file=sys.stderr)
    have = Enterprise.objects.filter(name__startswith="基准企业").count()
    added += max(0, enterprises - have)
    for start in range(have, enterprises, 5000):
        rows = []
        for j in range(start, min(start + 5000, enterprises)):
            employees, revenue = 20 + j % 500, Decimal(500 + (j * 37) % 40000)
            rows.append(
                Enterprise(
                    name=f"基准企业{j:06d}",
                    uscc=make_uscc(30_000_000 + j),
                    industry_section="C",
                    industry=Enterprise.Industry.INDUSTRY,
                    employees=employees,
                    annual_revenue=revenue,
                    size_class=size_class.classify(Enterprise.Industry.INDUSTRY, employees, revenue),
                )
            )
        with transaction.atomic():
            made = Enterprise.objects.bulk_create(rows)
            EnterpriseNeeds.objects.bulk_create(
                EnterpriseNeeds(enterprise=e, push_consented_at=clock.now(), **needs_of(int(e.name[4:]))[2])
                for e in made
            )
        print(f"  {start + len(rows):,} enterprises", file=sys.stderr)
    return added


def truth() -> tuple[dict[int, tuple[int, int]], dict[tuple[int, int], set[int]]]:
    """Each bench patent's offer id by subtopic, and each bench enterprise's need."""
    fitting: dict[tuple[int, int], set[int]] = {}
    for offer_id, number in Offer.objects.filter(patent__number__startswith="2015").values_list("pk", "patent__number"):
        topic, sub, _fields = patent_of(int(number[5:12]) - 1_000_000)
        fitting.setdefault((topic, sub), set()).add(offer_id)
    needs = {
        pk: needs_of(int(name[4:]))[:2]
        for pk, name in Enterprise.objects.filter(name__startswith="基准企业").values_list("pk", "name")
    }
    return needs, fitting


def baseline(keyword: str, limit: int) -> list[int]:
    """The catalogue's keyword search, as the SME would type it: the first results, newest first."""
    return list(selectors.catalogue(search=keyword).values_list("pk", flat=True)[:limit])


def quality(sample: list[int], needs, fitting) -> None:
    engine_p5, engine_r10, base_p5, base_r10, best_r10 = [], [], [], [], []
    enterprises = Enterprise.objects.select_related("needs").in_bulk(sample)
    for pk in sample:
        relevant = fitting.get(needs[pk], set())
        if not relevant:
            continue
        ranked = [m.item.pk for m in selectors.recommended_offers(enterprises[pk], limit=10) or []]
        typed = baseline(enterprises[pk].needs.keywords, 10)
        for found, p5, r10 in ((ranked, engine_p5, engine_r10), (typed, base_p5, base_r10)):
            p5.append(len(set(found[:5]) & relevant) / 5)
            r10.append(len(set(found[:10]) & relevant) / len(relevant))
        best_r10.append(min(10, len(relevant)) / len(relevant))
    print(
        f"Labelled set: {len(engine_p5)} enterprises, {statistics.mean(len(v) for v in fitting.values()):.0f} "
        f"fitting patents each on average (best possible recall@10 {statistics.mean(best_r10):.3f})"
    )
    print(f"  engine   precision@5 {statistics.mean(engine_p5):.3f}   recall@10 {statistics.mean(engine_r10):.3f}")
    print(f"  keywords precision@5 {statistics.mean(base_p5):.3f}   recall@10 {statistics.mean(base_r10):.3f}")


def speed(sample_enterprises: list[int], sample_offers: list[int]) -> None:
    enterprises = Enterprise.objects.in_bulk(sample_enterprises)
    offers = Offer.objects.in_bulk(sample_offers)
    for name, items, rank in (
        (
            "recommended offers for one SME",
            [enterprises[pk] for pk in sample_enterprises],
            selectors.recommended_offers,
        ),
        ("fitting enterprises for one offer", [offers[pk] for pk in sample_offers], selectors.fitting_enterprises),
    ):
        rank(items[0])  # warm the caches once
        times = []
        for item in items:
            started = time.perf_counter()
            rank(item)
            times.append((time.perf_counter() - started) * 1000)
        times.sort()
        print(
            f"  {name}: median {median(times):.0f} ms, p95 {times[int(len(times) * 0.95) - 1]:.0f} ms, "
            f"max {times[-1]:.0f} ms ({len(times)} runs)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patents", type=int, default=640)
    parser.add_argument("--enterprises", type=int, default=200)
    parser.add_argument("--sample", type=int, default=200, help="enterprises whose recommendations are judged")
    args = parser.parse_args()
    require_postgresql()
    create_database()
    with connection.cursor() as cursor:
        cursor.execute("SET statement_timeout = 0")
    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    added = build(args.patents, args.enterprises)
    built = time.perf_counter() - started
    if added or not OfferTerm.objects.exists():  # a new or grown book: index it all
        started = time.perf_counter()
        done = services.rebuild_matching()
        print(
            f"Built in {built:.0f} s; indexed {done['offers']:,} offers and {done['needs']:,} needs "
            f"in {time.perf_counter() - started:.0f} s",
            file=sys.stderr,
        )
    with connection.cursor() as cursor:  # as autovacuum would: the visibility map lets the index serve alone
        for table in ("offerterm", "needsterm", "matchtermstat", "enterpriseneeds"):
            cursor.execute(f"VACUUM ANALYZE licensing_{table}")
        cursor.execute("SELECT count(*) FROM licensing_offerterm")
        offer_terms = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM licensing_needsterm")
        needs_terms = cursor.fetchone()[0]
    needs, fitting = truth()
    print(
        f"Book: {len(needs):,} enterprises with needs, {sum(len(v) for v in fitting.values()):,} published offers; "
        f"{offer_terms:,} offer terms, {needs_terms:,} needs terms (PostgreSQL "
        f"{connection.cursor().connection.info.server_version})"
    )
    rng = random.Random(26)
    ids = sorted(needs)
    quality(rng.sample(ids, min(args.sample, len(ids))), needs, fitting)
    offer_ids = sorted(pk for pks in fitting.values() for pk in pks)
    print("Speed:")
    speed(rng.sample(ids, min(50, len(ids))), rng.sample(offer_ids, min(50, len(offer_ids))))
    campaign(ids[:10_000], offer_ids[0])


class RolledBack(Exception):
    pass


@contextlib.contextmanager
def counting_messages():
    """Count the messages the task puts on the broker (they do go there: the real enqueue runs)."""
    from licensing import queue

    real, sent = queue.enqueue, [0]

    def counting(*args):
        sent[0] += 1
        return real(*args)

    queue.enqueue = counting
    try:
        yield sent
    finally:
        queue.enqueue = real


def campaign(enterprise_ids: list[int], offer_id: int) -> None:
    """A push campaign to 10,000 enterprises: the service (pushes and their notices in the
    ledger, as the officer's request does), then the worker's task queueing one delivery each on
    the real broker. Rolled back and the queue purged after, so the book stays as it was."""
    from config import celery_app
    from licensing.models import Push, PushCampaign
    from licensing.reminders.sweep import campaign_reminder_ids
    from licensing.tasks import deliver_campaign

    staff = get_user_model().objects.filter(is_superuser=True).first() or get_user_model().objects.create_superuser(
        "bench", "bench@example.com", "bench"
    )
    staff.is_staff = True
    try:
        with transaction.atomic():
            started = time.perf_counter()
            made = services.push_offers(offer_ids=[offer_id], enterprise_ids=enterprise_ids, name="Bench", by=staff)
            service = time.perf_counter() - started
            started = time.perf_counter()
            ids = campaign_reminder_ids(made.pk)
            with counting_messages() as sent:
                deliver_campaign(made.pk)
            queued = time.perf_counter() - started
            pushes = Push.objects.filter(campaign=made).count()
            raise RolledBack
    except RolledBack:
        pass
    with celery_app.connection_for_write() as conn:
        conn.default_channel.queue_purge("celery")
    print(
        f"Campaign of {len(enterprise_ids):,} enterprises: {pushes:,} pushes and notices written in {service:.1f} s "
        f"(the officer's request); {len(ids):,} deliveries queued on the broker in {queued:.1f} s as {sent[0]} "
        "messages (the worker's task)"
    )
    assert not PushCampaign.objects.filter(name="Bench").exists()


if __name__ == "__main__":
    main()
