"""Open a PDF in the three engines residents' and councillors' viewers are built on, and
measure what they draw: MuPDF (PyMuPDF: SumatraPDF, many tablets and e-readers), poppler
(pdftoppm: Evince, Okular) and PDFium (pypdfium2: Chrome, Edge).

Used by the tests of geo.briefing, geo.leaflets and geo.report; needs the test extra
(pymupdf, pypdfium2) and Debian poppler-utils (scripts/setup.sh --test installs them).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pymupdf
import pypdfium2

JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uff00-\uffef]")
DPI = 100
AGREEMENT = 0.7
"""Least share of the ink the three engines may draw inside a Japanese span, against the
most any of them draws there (drawn right, they agree to 0.84 or better at 100 dpi; a
font one engine cannot draw gives 0)."""


@dataclass(frozen=True)
class Span:
    """One run of text as PyMuPDF extracts it: page, text, size (pt), box (pt), colour."""

    page: int
    text: str
    size: float
    box: tuple[float, float, float, float]
    colour: int


def spans(pdf: bytes) -> list[Span]:
    """Every text span of every page."""
    found = []
    with pymupdf.open(stream=pdf, filetype="pdf") as doc:
        for number, page in enumerate(doc):
            for block in page.get_text("dict")["blocks"]:
                for line in block.get("lines", []):
                    for span in line["spans"]:
                        if span["text"].strip():
                            found.append(Span(number, span["text"], float(span["size"]),
                                              tuple(span["bbox"]), int(span["color"])))
    return found


def page_lines(pdf: bytes) -> list[list[str]]:
    """The text of each page, line by line (spans on one baseline joined)."""
    pages = []
    with pymupdf.open(stream=pdf, filetype="pdf") as doc:
        for page in doc:
            rows: dict[float, list[tuple[float, str]]] = {}
            for block in page.get_text("dict")["blocks"]:
                for line in block.get("lines", []):
                    for span in line["spans"]:
                        if span["text"].strip():
                            key = round(span["origin"][1])
                            rows.setdefault(key, []).append((span["origin"][0], span["text"]))
            pages.append([" ".join(text for _, text in sorted(row)) for _, row in
                          sorted(rows.items())])
    return pages


def mupdf(pdf: bytes) -> tuple[list[np.ndarray], str]:
    """Grey pages drawn by MuPDF, and every warning it gave while opening and drawing."""
    pymupdf.TOOLS.mupdf_warnings(True)  # reset
    pymupdf.TOOLS.mupdf_display_warnings(False)
    images = []
    with pymupdf.open(stream=pdf, filetype="pdf") as doc:
        for page in doc:
            pixmap = page.get_pixmap(dpi=DPI, colorspace=pymupdf.csGRAY, alpha=False)
            images.append(np.frombuffer(pixmap.samples, dtype=np.uint8)
                          .reshape(pixmap.height, pixmap.width).copy())
    return images, pymupdf.TOOLS.mupdf_warnings()


def poppler(pdf: bytes) -> tuple[list[np.ndarray], str]:
    """Grey pages drawn by poppler's pdftoppm, and what it printed on stderr."""
    executable = shutil.which("pdftoppm")
    assert executable, "pdftoppm is missing: apt-get install poppler-utils (setup.sh --test)"
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "in.pdf"
        source.write_bytes(pdf)
        run = subprocess.run([executable, "-r", str(DPI), "-gray", str(source),
                              str(Path(folder) / "page")], capture_output=True, text=True,
                             timeout=300, check=True)
        images = [_read_pgm(path) for path in sorted(Path(folder).glob("page*.pgm"))]
    return images, run.stderr


def _read_pgm(path: Path) -> np.ndarray:
    data = path.read_bytes()
    header = re.match(rb"P5\s+(\d+)\s+(\d+)\s+(\d+)\s", data)
    assert header, path
    width, height = int(header.group(1)), int(header.group(2))
    return np.frombuffer(data[header.end():], dtype=np.uint8)[: width * height] \
        .reshape(height, width).copy()


def pdfium(pdf: bytes) -> list[np.ndarray]:
    """Grey pages drawn by PDFium."""
    images = []
    document = pypdfium2.PdfDocument(pdf)
    try:
        for index in range(len(document)):
            bitmap = document[index].render(scale=DPI / 72, grayscale=True)
            images.append(np.asarray(bitmap.to_numpy())[..., 0] if bitmap.to_numpy().ndim == 3
                          else np.asarray(bitmap.to_numpy()).copy())
    finally:
        document.close()
    return images


def pdfium_text(pdf: bytes) -> list[str]:
    """The text PDFium extracts from each page."""
    document = pypdfium2.PdfDocument(pdf)
    try:
        return [document[i].get_textpage().get_text_range() for i in range(len(document))]
    finally:
        document.close()


def ink(image: np.ndarray, box: tuple[float, float, float, float], colour: int = 0) -> int:
    """Pixels inside ``box`` (points) of a page drawn at ``DPI`` darker than half-way from
    the text's ``colour`` (0xRRGGBB) to white: the glyphs' coverage, whatever their grey."""
    red, green, blue = (colour >> 16) & 255, (colour >> 8) & 255, colour & 255
    threshold = (0.299 * red + 0.587 * green + 0.114 * blue + 255) / 2
    x0, y0, x1, y1 = (round(v * DPI / 72) for v in box)
    return int((image[max(y0, 0):y1, max(x0, 0):x1] < threshold).sum())


@dataclass(frozen=True)
class ViewerReport:
    """What the three engines made of a PDF."""

    pages: int
    mupdf_warnings: str
    poppler_warnings: str
    japanese_spans: int
    ink: dict[str, list[int]]
    """Engine -> dark pixels inside each Japanese span, in ``spans`` order."""
    worst_ratio: float
    """Smallest share, over the Japanese spans, of one engine's ink to the most any engine
    drew there (1.0: all three drew the same)."""


def check(pdf: bytes) -> ViewerReport:
    """Draw ``pdf`` in MuPDF, poppler and PDFium and compare the Japanese text they draw."""
    drawn_mupdf, warnings_mupdf = mupdf(pdf)
    drawn_poppler, warnings_poppler = poppler(pdf)
    drawn_pdfium = pdfium(pdf)
    assert len(drawn_mupdf) == len(drawn_poppler) == len(drawn_pdfium)
    japanese = [s for s in spans(pdf) if JAPANESE.search(s.text)]
    counts = {name: [ink(images[s.page], s.box, s.colour) for s in japanese]
              for name, images in (("mupdf", drawn_mupdf), ("poppler", drawn_poppler),
                                   ("pdfium", drawn_pdfium))}
    ratios = [min(c) / max(c) if max(c) else 0.0 for c in zip(*counts.values(), strict=True)]
    return ViewerReport(pages=len(drawn_mupdf), mupdf_warnings=warnings_mupdf,
                        poppler_warnings=warnings_poppler, japanese_spans=len(japanese),
                        ink=counts, worst_ratio=min(ratios, default=0.0))


def fonts(pdf: bytes) -> list[dict[str, str]]:
    """``pdffonts``' table: name, type, emb, uni of every font."""
    executable = shutil.which("pdffonts")
    assert executable, "pdffonts is missing: apt-get install poppler-utils (setup.sh --test)"
    with tempfile.NamedTemporaryFile(suffix=".pdf") as handle:
        handle.write(pdf)
        handle.flush()
        listing = subprocess.run([executable, handle.name], capture_output=True, text=True,
                                 timeout=60, check=True).stdout.splitlines()[2:]
    rows = []
    for line in listing:
        parts = line.split()
        # name, type (one or more words), encoding, emb, sub, uni, object id, generation
        rows.append({"name": parts[0], "type": " ".join(parts[1:-6]), "emb": parts[-5],
                     "uni": parts[-3]})
    return rows
