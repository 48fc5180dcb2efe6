"""The industries an enterprise works in (GB/T 4754-2017, 国民经济行业分类, at division level:
大类) and how patents' IPC classes lead to them: the matching engine's industry link.

The concordance below (IPC class -> divisions) is in the spirit of CNIPA's 2018 《国际专利分类与
国民经济行业分类参照关系表（2018）》, which links IPC groups to GB/T 4754-2017 classes: we keep its
coarser level, one IPC class (G06) to the divisions (39, 65) whose products the class protects or
whose production uses it first. The README says how it was made and how to replace it with the
official table."""

from __future__ import annotations

from functools import cache

# code, section, Chinese name (the standard's), English name
DIVISIONS: tuple[tuple[str, str, str, str], ...] = (
    ("01", "A", "农业", "Agriculture"),
    ("02", "A", "林业", "Forestry"),
    ("03", "A", "畜牧业", "Animal husbandry"),
    ("04", "A", "渔业", "Fishery"),
    (
        "05",
        "A",
        "农、林、牧、渔专业及辅助性活动",
        "Support activities for farming and fishery",
    ),
    ("06", "B", "煤炭开采和洗选业", "Coal mining and washing"),
    ("07", "B", "石油和天然气开采业", "Extraction of petroleum and natural gas"),
    ("08", "B", "黑色金属矿采选业", "Mining of ferrous metal ores"),
    ("09", "B", "有色金属矿采选业", "Mining of non-ferrous metal ores"),
    ("10", "B", "非金属矿采选业", "Mining of non-metallic minerals"),
    ("11", "B", "开采专业及辅助性活动", "Support activities for mining"),
    ("12", "B", "其他采矿业", "Other mining"),
    ("13", "C", "农副食品加工业", "Processing of food from agricultural products"),
    ("14", "C", "食品制造业", "Manufacture of foods"),
    ("15", "C", "酒、饮料和精制茶制造业", "Manufacture of liquor, beverages and refined tea"),
    ("16", "C", "烟草制品业", "Manufacture of tobacco products"),
    ("17", "C", "纺织业", "Manufacture of textiles"),
    ("18", "C", "纺织服装、服饰业", "Manufacture of apparel and accessories"),
    ("19", "C", "皮革、毛皮、羽毛及其制品和制鞋业", "Leather, fur, feather products and footwear"),
    ("20", "C", "木材加工和木、竹、藤、棕、草制品业", "Wood processing; wood, bamboo, rattan, palm and straw products"),
    ("21", "C", "家具制造业", "Manufacture of furniture"),
    ("22", "C", "造纸和纸制品业", "Manufacture of paper and paper products"),
    ("23", "C", "印刷和记录媒介复制业", "Printing and reproduction of recording media"),
    ("24", "C", "文教、工美、体育和娱乐用品制造业", "Articles for culture, education, arts and crafts, sport and play"),
    ("25", "C", "石油、煤炭及其他燃料加工业", "Processing of petroleum, coal and other fuels"),
    ("26", "C", "化学原料和化学制品制造业", "Manufacture of chemical raw materials and chemical products"),
    ("27", "C", "医药制造业", "Manufacture of medicines"),
    ("28", "C", "化学纤维制造业", "Manufacture of chemical fibres"),
    ("29", "C", "橡胶和塑料制品业", "Manufacture of rubber and plastic products"),
    ("30", "C", "非金属矿物制品业", "Manufacture of non-metallic mineral products"),
    ("31", "C", "黑色金属冶炼和压延加工业", "Smelting and pressing of ferrous metals"),
    ("32", "C", "有色金属冶炼和压延加工业", "Smelting and pressing of non-ferrous metals"),
    ("33", "C", "金属制品业", "Manufacture of metal products"),
    ("34", "C", "通用设备制造业", "Manufacture of general-purpose machinery"),
    ("35", "C", "专用设备制造业", "Manufacture of special-purpose machinery"),
    ("36", "C", "汽车制造业", "Manufacture of automobiles"),
    ("37", "C", "铁路、船舶、航空航天和其他运输设备制造业", "Railway, ships, aerospace and other transport equipment"),
    ("38", "C", "电气机械和器材制造业", "Manufacture of electrical machinery and equipment"),
    ("39", "C", "计算机、通信和其他电子设备制造业", "Computers, communication and other electronic equipment"),
    ("40", "C", "仪器仪表制造业", "Manufacture of measuring instruments and meters"),
    ("41", "C", "其他制造业", "Other manufacturing"),
    ("42", "C", "废弃资源综合利用业", "Recycling and use of waste resources"),
    ("43", "C", "金属制品、机械和设备修理业", "Repair of metal products, machinery and equipment"),
    ("44", "D", "电力、热力生产和供应业", "Production and supply of electricity and heat"),
    ("45", "D", "燃气生产和供应业", "Production and supply of gas"),
    ("46", "D", "水的生产和供应业", "Production and supply of water"),
    ("47", "E", "房屋建筑业", "Construction of buildings"),
    ("48", "E", "土木工程建筑业", "Civil engineering"),
    ("49", "E", "建筑安装业", "Construction installation"),
    ("50", "E", "建筑装饰、装修和其他建筑业", "Building decoration, renovation and other construction"),
    ("51", "F", "批发业", "Wholesale trade"),
    ("52", "F", "零售业", "Retail trade"),
    ("53", "G", "铁路运输业", "Rail transport"),
    ("54", "G", "道路运输业", "Road transport"),
    ("55", "G", "水上运输业", "Water transport"),
    ("56", "G", "航空运输业", "Air transport"),
    ("57", "G", "管道运输业", "Pipeline transport"),
    ("58", "G", "多式联运和运输代理业", "Multimodal transport and transport agency"),
    ("59", "G", "装卸搬运和仓储业", "Loading, unloading and warehousing"),
    ("60", "G", "邮政业", "Postal services"),
    ("61", "H", "住宿业", "Accommodation"),
    ("62", "H", "餐饮业", "Catering"),
    ("63", "I", "电信、广播电视和卫星传输服务", "Telecommunications, broadcasting and satellite transmission"),
    ("64", "I", "互联网和相关服务", "Internet and related services"),
    ("65", "I", "软件和信息技术服务业", "Software and information technology services"),
    ("66", "J", "货币金融服务", "Monetary financial services"),
    ("67", "J", "资本市场服务", "Capital market services"),
    ("68", "J", "保险业", "Insurance"),
    ("69", "J", "其他金融业", "Other financial services"),
    ("70", "K", "房地产业", "Real estate"),
    ("71", "L", "租赁业", "Leasing"),
    ("72", "L", "商务服务业", "Business services"),
    ("73", "M", "研究和试验发展", "Research and experimental development"),
    ("74", "M", "专业技术服务业", "Professional technical services"),
    ("75", "M", "科技推广和应用服务业", "Technology promotion and application services"),
    ("76", "N", "水利管理业", "Water conservancy management"),
    ("77", "N", "生态保护和环境治理业", "Ecological protection and environmental treatment"),
    ("78", "N", "公共设施管理业", "Public facilities management"),
    ("79", "N", "土地管理业", "Land management"),
    ("80", "O", "居民服务业", "Resident services"),
    ("81", "O", "机动车、电子产品和日用产品修理业", "Repair of motor vehicles, electronic and household goods"),
    ("82", "O", "其他服务业", "Other services"),
    ("83", "P", "教育", "Education"),
    ("84", "Q", "卫生", "Health"),
    ("85", "Q", "社会工作", "Social work"),
    ("86", "R", "新闻和出版业", "News and publishing"),
    ("87", "R", "广播、电视、电影和录音制作业", "Radio, television, film and sound recording"),
    ("88", "R", "文化艺术业", "Culture and arts"),
    ("89", "R", "体育", "Sports"),
    ("90", "R", "娱乐业", "Entertainment"),
    ("91", "S", "中国共产党机关", "Organs of the Communist Party of China"),
    ("92", "S", "国家机构", "State organs"),
    ("93", "S", "人民政协、民主党派", "CPPCC and democratic parties"),
    ("94", "S", "社会保障", "Social security"),
    ("95", "S", "群众团体、社会团体和其他成员组织", "Mass, social and other membership organisations"),
    ("96", "S", "基层群众自治组织及其他组织", "Grassroots self-governing and other organisations"),
    ("97", "T", "国际组织", "International organisations"),
)

DIVISION_CODES = frozenset(code for code, *_ in DIVISIONS)

# IPC class -> the divisions it leads to, most direct first (see the module's docstring).
IPC_CLASS_DIVISIONS: dict[str, tuple[str, ...]] = {
    "A01": ("01", "02", "03", "04", "05"),
    "A21": ("14",),
    "A22": ("13",),
    "A23": ("13", "14", "15"),
    "A24": ("16",),
    "A41": ("18",),
    "A42": ("18",),
    "A43": ("19",),
    "A44": ("24", "18"),
    "A45": ("19", "24"),
    "A46": ("41",),
    "A47": ("21", "38", "33"),
    "A61": ("27", "35", "84"),
    "A62": ("35",),
    "A63": ("24",),
    "B01": ("35", "26"),
    "B02": ("35",),
    "B03": ("35", "10"),
    "B04": ("34",),
    "B05": ("34",),
    "B06": ("34",),
    "B07": ("35", "42"),
    "B08": ("34",),
    "B09": ("77", "42"),
    "B21": ("34", "33"),
    "B22": ("33", "34"),
    "B23": ("34",),
    "B24": ("34",),
    "B25": ("34", "33"),
    "B26": ("33",),
    "B27": ("20", "34"),
    "B28": ("30",),
    "B29": ("29",),
    "B30": ("34",),
    "B31": ("22",),
    "B32": ("29", "22"),
    "B33": ("34",),
    "B41": ("23", "35"),
    "B42": ("23",),
    "B43": ("24",),
    "B44": ("24",),
    "B60": ("36",),
    "B61": ("37",),
    "B62": ("36", "37"),
    "B63": ("37",),
    "B64": ("37",),
    "B65": ("34", "22", "59"),
    "B66": ("34",),
    "B67": ("34",),
    "B68": ("21",),
    "B81": ("39",),
    "B82": ("26", "39"),
    "C01": ("26",),
    "C02": ("46", "77"),
    "C03": ("30",),
    "C04": ("30",),
    "C05": ("26",),
    "C06": ("26",),
    "C07": ("26", "27"),
    "C08": ("26", "28", "29"),
    "C09": ("26",),
    "C10": ("25",),
    "C11": ("13", "26"),
    "C12": ("15", "27", "26"),
    "C13": ("13",),
    "C14": ("19",),
    "C21": ("31",),
    "C22": ("32", "31"),
    "C23": ("33",),
    "C25": ("32", "33"),
    "C30": ("39", "30"),
    "C40": ("73", "27"),
    "D01": ("28", "17"),
    "D02": ("17",),
    "D03": ("17",),
    "D04": ("17",),
    "D05": ("17", "35"),
    "D06": ("17",),
    "D07": ("17",),
    "D21": ("22",),
    "E01": ("48",),
    "E02": ("48", "76"),
    "E03": ("46", "48"),
    "E04": ("47", "50", "30"),
    "E05": ("33",),
    "E06": ("33", "20"),
    "E21": ("11", "35", "06"),
    "F01": ("34",),
    "F02": ("34", "36"),
    "F03": ("34", "38"),
    "F04": ("34",),
    "F15": ("34",),
    "F16": ("34",),
    "F17": ("33", "45"),
    "F21": ("38",),
    "F22": ("34",),
    "F23": ("34",),
    "F24": ("34", "38"),
    "F25": ("34", "38"),
    "F26": ("34",),
    "F27": ("34",),
    "F28": ("34",),
    "F41": ("33",),
    "F42": ("26",),
    "G01": ("40",),
    "G02": ("40", "39"),
    "G03": ("39", "40"),
    "G04": ("40",),
    "G05": ("40", "39"),
    "G06": ("65", "39", "64"),
    "G07": ("39", "40"),
    "G08": ("39",),
    "G09": ("39", "24"),
    "G10": ("24", "39"),
    "G11": ("39",),
    "G12": ("40",),
    "G16": ("65", "84"),
    "G21": ("44", "25"),
    "H01": ("38", "39"),
    "H02": ("38", "44"),
    "H03": ("39",),
    "H04": ("39", "63", "64"),
    "H05": ("39", "38"),
    "H10": ("39",),
}


def ipc_class_of(ipc: str) -> str:
    """The class (section letter and two digits) of an IPC symbol such as 'G06F 16/33'."""
    compact = "".join(ipc.split()).upper()
    return compact[:3] if len(compact) >= 3 and compact[0].isalpha() and compact[1:3].isdigit() else ""


def divisions_for_class(ipc_class: str) -> tuple[str, ...]:
    return IPC_CLASS_DIVISIONS.get(ipc_class, ())


@cache
def _classes_by_division() -> dict[str, tuple[str, ...]]:
    found: dict[str, list[str]] = {}
    for ipc_class, divisions in IPC_CLASS_DIVISIONS.items():
        for division in divisions:
            found.setdefault(division, []).append(ipc_class)
    return {division: tuple(sorted(classes)) for division, classes in found.items()}


def classes_for_divisions(divisions: list[str] | tuple[str, ...]) -> list[str]:
    """The IPC classes whose patents an enterprise in these divisions would make or use, sorted."""
    table = _classes_by_division()
    return sorted({ipc_class for division in divisions for ipc_class in table.get(division, ())})


def division_name(code: str, language: str) -> str:
    """'39 计算机、通信和其他电子设备制造业' or '39 Computers, …' by the reader's language."""
    for division, _section, zh, en in DIVISIONS:
        if division == code:
            return f"{code} {zh if language.startswith('zh') else en}"
    return code


def parse_divisions(value: str) -> list[str]:
    """Stored divisions ('26,39') as a list of known codes, in order."""
    return sorted({code for code in value.split(",") if code in DIVISION_CODES})
