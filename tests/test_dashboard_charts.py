"""Chart geometry: bars to scale, reference marks where the reference value falls, and a long
series labelled sparsely enough to read."""

from decimal import Decimal

from licensing import charts


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
