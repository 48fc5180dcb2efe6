"""Chart geometry for the dashboard's inline SVG: the page draws rectangles from these numbers, so
charts need no script and no asset from outside the app. Every chart sits beside its table."""

from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal

LABEL_WIDTH, BAR_AREA, ROW_HEIGHT = 150, 360, 28
COLUMN_AREA_HEIGHT, COLUMN_PITCH, COLUMN_MIN_WIDTH, MAX_LABELS = 180, 32, 560, 12
AXIS_WIDTH, AXIS_TICKS = 90, 4  # the value axis left of a column chart: room for "12,000,000"


@dataclass(frozen=True)
class Bar:
    label: str
    text: str  # the value as printed
    x: float
    y: float
    width: float
    height: float
    reference_x: float | None = None  # where a reference value (e.g. the national rate) falls
    labelled: bool = True  # a long series labels every few columns only, so labels do not overlap

    @property
    def label_x(self) -> float:
        return self.x - 8

    @property
    def text_x(self) -> float:
        """Right of the bar, and of its reference mark, so neither hides the figure."""
        return max(self.x + self.width, self.reference_x or 0) + 4

    @property
    def bottom(self) -> float:
        return self.y + self.height


def _scale(values, fixed_max=None) -> Decimal:
    top = fixed_max if fixed_max is not None else max((v for v in values if v is not None), default=0)
    return Decimal(top) or Decimal(1)


def horizontal_bars(items, *, maximum=None) -> dict:
    """items: (label, value, text, reference or None). One bar a row, value to scale."""
    scale = _scale([v for _l, v, _t, _r in items] + [r for *_x, r in items if r is not None], maximum)
    bars = [
        Bar(
            label=str(label),
            text=text,
            x=LABEL_WIDTH,
            y=i * ROW_HEIGHT + 4,
            width=round(float(BAR_AREA * (value or 0) / scale), 1),
            height=ROW_HEIGHT - 8,
            reference_x=None if reference is None else round(LABEL_WIDTH + float(BAR_AREA * reference / scale), 1),
        )
        for i, (label, value, text, reference) in enumerate(items)
    ]
    return {"bars": bars, "width": LABEL_WIDTH + BAR_AREA + 110, "height": max(1, len(bars)) * ROW_HEIGHT}


def axis_step(top: Decimal, ticks: int = AXIS_TICKS) -> Decimal:
    """A round step (1, 2 or 5 times a power of ten) that reaches `top` in about `ticks` steps."""
    raw = Decimal(top) / ticks
    magnitude = Decimal(10) ** raw.adjusted()
    return next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)


def columns(items) -> dict:
    """items: (label, value, text). Vertical columns left to right (a time series), on a value
    axis of round steps: the axis tops the tallest column at the next step."""
    top = _scale([v for _l, v, _t in items])
    step = axis_step(top)
    scale = step * (top / step).to_integral_value(rounding=ROUND_CEILING)  # the next step up
    ticks = [
        (round(COLUMN_AREA_HEIGHT * (1 - float(k * step / scale)), 1), f"{(k * step).normalize():,f}")
        for k in range(int(scale / step) + 1)
    ]
    width = max(COLUMN_MIN_WIDTH, len(items) * COLUMN_PITCH)
    pitch = width / max(1, len(items))
    every = -(-len(items) // MAX_LABELS)  # ceiling division
    bars = []
    for i, (label, value, text) in enumerate(items):
        height = round(float(COLUMN_AREA_HEIGHT * (value or 0) / scale), 1)
        bars.append(
            Bar(
                label=str(label),
                text=text,
                x=round(AXIS_WIDTH + i * pitch + pitch * 0.15, 1),
                y=round(COLUMN_AREA_HEIGHT - height, 1),
                width=round(pitch * 0.7, 1),
                height=height,
                labelled=i % every == 0,
            )
        )
    return {
        "bars": bars,
        "width": AXIS_WIDTH + width,
        "height": COLUMN_AREA_HEIGHT,
        "pitch": pitch,
        "axis_x": AXIS_WIDTH,
        "ticks": ticks,
    }
