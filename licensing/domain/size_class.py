"""Enterprise size class by the MIIT 2011 SME classification rules (工信部联企业〔2011〕300号).

Y = employees, R = annual operating revenue in CNY 10,000. An enterprise is an SME when it is
under the upper bound on either measure; medium and small need both lower bounds.
"""

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Thresholds:
    sme_employees: int
    sme_revenue: int
    medium_employees: int
    medium_revenue: int
    small_employees: int
    small_revenue: int


THRESHOLDS = {
    "industry": Thresholds(1000, 40000, 300, 2000, 20, 300),
    "software_it": Thresholds(300, 10000, 100, 1000, 10, 50),
    "wholesale": Thresholds(200, 40000, 20, 5000, 5, 1000),
    "retail": Thresholds(300, 20000, 50, 500, 10, 100),
}


def classify(industry: str, employees: int, revenue_wan: Decimal) -> str:
    t = THRESHOLDS[industry]
    if employees >= t.sme_employees and revenue_wan >= t.sme_revenue:
        return "large"
    if employees >= t.medium_employees and revenue_wan >= t.medium_revenue:
        return "medium"
    if employees >= t.small_employees and revenue_wan >= t.small_revenue:
        return "small"
    return "micro"


# CNIPA survey 2024: industrialization rate of valid invention patents held by enterprises, by
# size (%). The dashboard sets the institution's conversion rates beside them.
NATIONAL_INDUSTRIALIZATION_RATE_2024 = {
    "medium": Decimal("61.4"),
    "small": Decimal("57.8"),
    "micro": Decimal("36.7"),
    "all": Decimal("53.3"),
}
