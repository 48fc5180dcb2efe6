"""HTML to PDF (WeasyPrint), with a CJK font embedded and nothing fetched while rendering.

The font is a file found once through fontconfig (Debian's fonts-wqy-microhei, installed by
`make fonts`) and embedded, subset, in every document: the PDF reads the same on a machine with no
Chinese font. The renderer fetches nothing but that file: a document holds user-typed text, and no
text may make the server open a URL (no network at render time, whatever the HTML says)."""

import functools
import subprocess
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

# fontconfig names of the CJK fonts we accept, in order of preference.
CJK_FONTS = ("WenQuanYi Micro Hei", "WenQuanYi Zen Hei", "Noto Sans CJK SC", "Source Han Sans SC")


@functools.cache
def cjk_font_file() -> Path:
    """The file of the first installed CJK font of CJK_FONTS."""
    for family in CJK_FONTS:
        try:
            found = subprocess.run(
                ["fc-match", "--format=%{family}\n%{file}", f"{family}:lang=zh-cn"],
                capture_output=True,
                text=True,
                timeout=10,
                check=True,
            ).stdout.splitlines()
        except (OSError, subprocess.SubprocessError):
            break
        if len(found) == 2 and family.lower() in found[0].lower() and Path(found[1]).is_file():
            return Path(found[1])
    raise ImproperlyConfigured(
        "No CJK font for contract PDFs: install Debian's fonts-wqy-microhei (make fonts). "
        "合同PDF缺少中文字体：请安装 fonts-wqy-microhei（make fonts）。"
    )


def font_face_css() -> str:
    return (
        f'@font-face {{ font-family: "Contract CJK"; src: url("{cjk_font_file().as_uri()}"); }}\n'
        'body { font-family: "Contract CJK", sans-serif; }\n'
    )


def _fetcher():
    from weasyprint.urls import URLFetcher, URLFetcherResponse  # imported on use, as below

    class OnlyTheFont(URLFetcher):
        """WeasyPrint's fetcher, allowed one file: the font. Anything else is refused, not fetched."""

        def fetch(self, url, headers=None):
            font = cjk_font_file()
            if url != font.as_uri():
                raise ValueError(f"not fetched while rendering a document: {url[:80]}")
            return URLFetcherResponse(url, font.read_bytes(), {"Content-Type": "font/ttf"})

    return OnlyTheFont()


def html_to_pdf(html: str) -> bytes:
    """The PDF of a complete HTML document (its <title> is the PDF's title)."""
    from weasyprint import CSS, HTML  # imported on use: loading Pango costs every process ~0.3 s

    fetcher = _fetcher()
    document = HTML(string=html, url_fetcher=fetcher, base_url="about:blank")
    pdf = document.write_pdf(stylesheets=[CSS(string=font_face_css(), url_fetcher=fetcher)])
    assert pdf is not None  # write_pdf without a target returns the bytes
    return pdf
