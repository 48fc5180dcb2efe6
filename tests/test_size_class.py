"""MIIT 2011 thresholds (shared/reference/sme-size-classes.md), tested at their boundaries."""

from decimal import Decimal

import pytest

from licensing.domain.size_class import classify

from .factories import EnterpriseFactory


@pytest.mark.parametrize(
    ("industry", "employees", "revenue", "expected"),
    [
        ("industry", 1000, 40000, "large"),
        ("industry", 999, 50000, "medium"),
        ("industry", 300, 2000, "medium"),
        ("industry", 299, 2000, "small"),
        ("industry", 20, 300, "small"),
        ("industry", 19, 30000, "micro"),
        ("industry", 500, 299, "micro"),
        ("software_it", 300, 10000, "large"),
        ("software_it", 100, 1000, "medium"),
        ("software_it", 10, 50, "small"),
        ("software_it", 9, 5000, "micro"),
        ("wholesale", 200, 40000, "large"),
        ("wholesale", 20, 5000, "medium"),
        ("wholesale", 5, 1000, "small"),
        ("wholesale", 4, 1000, "micro"),
        ("retail", 300, 20000, "large"),
        ("retail", 50, 500, "medium"),
        ("retail", 10, 100, "small"),
        ("retail", 10, 99, "micro"),
    ],
)
def test_size_class_by_industry(industry, employees, revenue, expected):
    assert classify(industry, employees, Decimal(revenue)) == expected


def test_enterprise_stores_its_size_class_for_reports(db):
    enterprise = EnterpriseFactory(industry="software_it", employees=120, annual_revenue=Decimal("3000"))
    assert enterprise.size_class == "medium"

    enterprise.employees = 8
    enterprise.save()
    enterprise.refresh_from_db()
    assert enterprise.size_class == "micro"
