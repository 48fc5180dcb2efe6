"""How long one license contract takes to render (HTML in both languages, then the PDF with its
CJK font subset), and to issue (the number, the render, the file and its audit events, in one
transaction). Prints figures only.

    make bench   # or:
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tto_bench_10k .venv/bin/python bench/contract_bench.py
"""

import argparse
import io

import pypdf
from common import RUNS, ensure_book, median, ms, timed
from django.db import transaction

from licensing.models import Contract, License
from licensing.services import contracts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--licenses", type=int, default=0, help="book size (default: the demo book)")
    args = parser.parse_args()
    print(ensure_book(args.licenses))
    contract = Contract.objects.select_related("license", "institution").order_by("pk").first()
    assert contract is not None, "the demo book issues contracts"
    html, html_times = timed(lambda: contracts.render_contract_html(contract, 1, ""), RUNS)
    pdf, pdf_times = timed(lambda: contracts.render_contract_pdf(contract, 1, ""), RUNS)
    print(f"render one contract: HTML {ms(median(html_times))}, HTML + PDF {ms(median(pdf_times))} (median of {RUNS})")
    pages = len(pypdf.PdfReader(io.BytesIO(pdf)).pages)
    print(f"  {len(html):,} characters of HTML, {len(pdf):,} bytes of PDF, {pages} pages")
    staff = contract.institution.staff.select_related("user").first()
    bought = License.objects.filter(License.awaits_contract_q(), offer__patent__owner=contract.institution)
    candidates = list(bought.order_by("pk").values_list("pk", flat=True)[:RUNS])
    issue_times = []
    for license_id in candidates:  # issued and rolled back: the book is left as it was
        with transaction.atomic():
            _, took = timed(lambda lid=license_id: contracts.issue_contract(license_id=lid, by=staff.user))
            issue_times += took
            transaction.set_rollback(True)
    if issue_times:
        took = ms(median(issue_times))
        print(f"issue one contract (number, render, file, audit): {took} (median of {len(issue_times)})")


if __name__ == "__main__":
    main()
