"""Chart geometry: bars to scale, reference marks where the reference value falls, and a long
series labelled sparsely enough to read."""

from decimal import Decimal

from licensing.reporting import charts


def test_bars_are_to_scale_and_the_reference_mark_falls_at_its_value():
    chart = charts.horizontal_bars(
        [("Medium", Decimal("61.4"), "61.4%", Decimal("61.4")), ("Large", Decimal("0"), "—", None)], maximum=100
    )

    medium, large = chart["bars"]
    assert medium.width == round(charts.BAR_AREA * 0.614, 1)
    assert medium.reference_x == medium.x + medium.width
    assert large.width == 0 and large.reference_x is None
    assert medium.text_x > medium.reference_x  # the figure is not hidden behind the mark


def test_the_tallest_column_fills_the_chart():
    chart = charts.columns([("2026-01", Decimal("500"), ""), ("2026-02", Decimal("1000"), "")])

    assert [bar.height for bar in chart["bars"]] == [charts.COLUMN_AREA_HEIGHT / 2, charts.COLUMN_AREA_HEIGHT]


def test_a_long_series_labels_at_most_twelve_columns():
    chart = charts.columns([(f"m{i}", Decimal(i), "") for i in range(30)])

    labelled = [bar.label for bar in chart["bars"] if bar.labelled]
    assert labelled == ["m0", "m3", "m6", "m9", "m12", "m15", "m18", "m21", "m24", "m27"]


def test_a_payment_dated_long_ago_does_not_draw_every_month_since(db):
    """A row written before dates had bounds (year 1) must not make the chart draw 24,000 months."""
    import datetime as dt
    from decimal import Decimal

    from licensing.reporting.dashboard import _months

    rows = [
        {"month": dt.date(1, 1, 1), "count": 1, "amount": Decimal("5.00")},
        {"month": dt.date(2026, 3, 1), "count": 2, "amount": Decimal("10.00")},
    ]
    assert [m for m, _n, _a in _months(rows)] == [dt.date(1, 1, 1), dt.date(2026, 3, 1)]
    rows[0]["month"] = dt.date(2025, 12, 1)
    assert len(_months(rows)) == 4  # Dec, Jan, Feb, Mar


def test_the_value_axis_climbs_in_round_steps_past_the_tallest_column():
    assert [charts.axis_step(Decimal(top)) for top in ("1000", "1234567", "80", "7")] == [500, 500000, 20, 2]
    chart = charts.columns([("2026-01", Decimal("1234567"), "")])
    assert [text for _y, text in chart["ticks"]] == ["0", "500,000", "1,000,000", "1,500,000"]
    assert chart["ticks"][0][0] == charts.COLUMN_AREA_HEIGHT and chart["ticks"][-1][0] == 0
    assert chart["bars"][0].x > charts.AXIS_WIDTH  # the columns start right of the axis labels
