"""Benchmark: render every document kind with reportlab; the 10-member Kartu Keluarga also
as HTML through WeasyPrint (the usual alternative) for the ratio; and submitting a
rendered document to CUPS until the job id comes back.

Run with ``make bench-render`` (installs WeasyPrint, brings the rig up).
"""

from __future__ import annotations

import argparse
import html
import statistics
import time
from collections.abc import Callable
from typing import Any

from machine import header  # bench/ is the script's own folder

from printing.renderers import render
from sim import documents
from sim.documents import all_samples

FONT_DIR = "/usr/share/fonts/truetype/dejavu"


def timed(fn: Callable[[], object], n: int) -> list[float]:
    fn()  # warm-up: fonts registered, modules imported
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def ms(values: list[float]) -> str:
    ordered = sorted(values)
    p90 = ordered[round(0.9 * (len(ordered) - 1))]
    return f"median {statistics.median(values) * 1000:6.1f} ms, p90 {p90 * 1000:6.1f} ms"


def ten_member_kk() -> dict[str, Any]:
    p = documents.kartu_keluarga(2)
    members = p["family"]["members"]
    extra = []
    for i in range(10 - len(members)):
        m = dict(members[2 + i % 3])
        m["nik"] = f"3578010203000{10 + i:03d}"
        m["name"] = f"{m['name']} {('Putra', 'Putri', 'Jaya', 'Sari', 'Wati')[i % 5]}"
        extra.append(m)
    p["family"]["members"] = members + extra
    return p


def kk_html(p: dict[str, Any]) -> str:
    """The same KK as an HTML page (tables, header, QR as SVG) for WeasyPrint."""
    from reportlab.graphics import renderSVG
    from reportlab.graphics.barcode.qr import QrCodeWidget
    from reportlab.graphics.shapes import Drawing

    widget = QrCodeWidget(p["verification"])
    drawing = Drawing(85, 85)
    drawing.add(widget)
    qr_svg = renderSVG.drawToString(drawing)
    qr_svg = qr_svg[qr_svg.index("<svg") :]
    fam = p["family"]
    e = html.escape
    rows1 = "".join(
        f"<tr><td>{i + 1}</td><td>{e(m['name'])}</td><td>{m['nik']}</td><td>{e(m['sex'])}</td>"
        f"<td>{e(m['birth_place'])}</td><td>{m['birth_date']}</td><td>{e(m['religion'])}</td>"
        f"<td>{e(m['education'])}</td><td>{e(m['occupation'])}</td></tr>"
        for i, m in enumerate(fam["members"])
    )
    rows2 = "".join(
        f"<tr><td>{i + 1}</td><td>{e(m['marital_status'])}</td><td>{e(m['relationship'])}</td>"
        f"<td>{m['citizenship']}</td><td>-</td><td>-</td><td>{e(m['father'])}</td>"
        f"<td>{e(m['mother'])}</td></tr>"
        for i, m in enumerate(fam["members"])
    )
    a = fam["address"]
    return f"""<!doctype html><html><head><meta charset="utf-8"><style>
@font-face {{ font-family: DV; src: url(file://{FONT_DIR}/DejaVuSans.ttf); }}
@font-face {{ font-family: DV; font-weight: bold;
  src: url(file://{FONT_DIR}/DejaVuSans-Bold.ttf); }}
@page {{ size: A4 landscape; margin: 12mm; }}
body {{ font-family: DV; font-size: 8pt; }}
h1 {{ text-align: center; font-size: 18pt; margin: 0; }}
h2 {{ text-align: center; font-size: 12pt; }}
table {{ border-collapse: collapse; width: 100%; margin-top: 4mm; }}
td, th {{ border: 0.5pt solid black; padding: 1pt 2pt; font-size: 7pt; }}
th {{ background: #e0e0e0; }} .qr {{ position: absolute; right: 0; bottom: 0; width: 28mm; }}
</style></head><body><h1>KARTU KELUARGA</h1><h2>No. {fam["kk_number"]}</h2>
<p>Nama Kepala Keluarga: {e(fam["members"][0]["name"])} · Alamat: {e(a["street"])}
RT/RW {a["rt"]}/{a["rw"]} · {e(a["kelurahan"])} · {e(a["kecamatan"])} · {e(a["kabupaten"])}
· {e(a["province"])} {a["postal_code"]}</p>
<table><tr><th>No</th><th>Nama Lengkap</th><th>NIK</th><th>Jenis Kelamin</th><th>Tempat Lahir</th>
<th>Tanggal Lahir</th><th>Agama</th><th>Pendidikan</th><th>Jenis Pekerjaan</th></tr>{rows1}</table>
<table><tr><th>No</th><th>Status Perkawinan</th><th>Status Hubungan</th><th>Kewarganegaraan</th>
<th>No. Paspor</th><th>No. KITAP</th><th>Nama Ayah</th><th>Nama Ibu</th></tr>{rows2}</table>
<p>Dikeluarkan Tanggal: {p["issued_at"]} — {e(p["official"]["name"])}</p>
<div class="qr">{qr_svg}<br>{p["number"]}</div></body></html>"""


def bench_render(n: int) -> None:
    kk = ten_member_kk()
    times = timed(lambda: render(kk), n)
    print(f"{'kartu_keluarga (10 members)':30} {ms(times)}")
    reportlab_median = statistics.median(times)
    for kind, payload in all_samples().items():
        if kind == "kartu_keluarga":
            continue
        print(f"{kind:30} {ms(timed(lambda p=payload: render(p), n))}")
    try:
        import weasyprint
    except ImportError:
        print("WeasyPrint not installed: ratio not measured (make bench-render installs it)")
        return
    page = kk_html(kk)
    wp = timed(lambda: weasyprint.HTML(string=page).write_pdf(), max(10, n // 5))
    print(f"{'KK via WeasyPrint ' + weasyprint.__version__:30} {ms(wp)}")
    print(
        f"reportlab is {statistics.median(wp) / reportlab_median:.1f}x faster on the 10-member KK"
    )


def bench_submit(n: int) -> None:
    from printing.cups_spooler import CupsSpooler
    from sim.rig import Rig

    rig = Rig()
    rig.up()
    spooler = CupsSpooler(str(rig.cups_socket))
    spooler.open()
    pdf = render(all_samples()["test_page"])
    times = timed(lambda: spooler.submit("adm-a4", pdf, "bench test page"), n)
    print(f"{'CUPS submit → job id':30} {ms(times)} ({len(pdf)} bytes, {n + 1} jobs)")
    spooler.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=50)
    parser.add_argument("--submits", type=int, default=20)
    args = parser.parse_args()
    print(header())
    bench_render(args.n)
    bench_submit(args.submits)


if __name__ == "__main__":
    main()
