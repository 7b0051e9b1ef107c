"""Serve Leaflet and its plugins from the app itself, so the map works without internet.

folium points every element's ``default_js`` / ``default_css`` at public CDNs; on a
machine without internet (LGWAN) the map frame then stays blank. This module

* installs the same asset versions from the npm registry at setup time
  (``python -m dashboard.vendor_assets``, which runs ``npm pack`` and unpacks the needed
  files into the git-ignored ``dashboard/static/vendor/``), and
* rewrites the CDN links of a built folium map to the app's static URLs
  (``/app/static/vendor/...``, served with ``server.enableStaticServing``). A CDN link with
  no local copy is dropped (and logged) rather than let through: the map never calls out.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"
VENDOR_DIR = STATIC_DIR / "vendor"
STATIC_URL = "/app/static/vendor"


@dataclass(frozen=True)
class Package:
    """One npm package: which files to copy, and which CDN URLs they replace."""

    spec: str
    folder: str
    files: tuple[str, ...]
    """Paths inside the package (a trailing ``/`` copies a folder)."""
    replaces: dict[str, str]
    """CDN URL -> path of the local copy, relative to ``folder``."""


PACKAGES: tuple[Package, ...] = (
    Package("leaflet@1.9.3", "leaflet", ("dist/leaflet.js", "dist/leaflet.css", "dist/images/"), {
        "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js": "dist/leaflet.js",
        "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.css": "dist/leaflet.css",
    }),
    Package("leaflet.markercluster@1.1.0", "leaflet.markercluster",
            ("dist/leaflet.markercluster.js", "dist/MarkerCluster.css",
             "dist/MarkerCluster.Default.css"), {
        "https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/1.1.0/"
        "leaflet.markercluster.js": "dist/leaflet.markercluster.js",
        "https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/1.1.0/"
        "MarkerCluster.css": "dist/MarkerCluster.css",
        "https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/1.1.0/"
        "MarkerCluster.Default.css": "dist/MarkerCluster.Default.css",
    }),
    Package("jquery@3.7.1", "jquery", ("dist/jquery.min.js",), {
        "https://code.jquery.com/jquery-3.7.1.min.js": "dist/jquery.min.js",
    }),
    Package("bootstrap@5.2.2", "bootstrap",
            ("dist/js/bootstrap.bundle.min.js", "dist/css/bootstrap.min.css"), {
        "https://cdn.jsdelivr.net/npm/bootstrap@5.2.2/dist/js/bootstrap.bundle.min.js":
            "dist/js/bootstrap.bundle.min.js",
        "https://cdn.jsdelivr.net/npm/bootstrap@5.2.2/dist/css/bootstrap.min.css":
            "dist/css/bootstrap.min.css",
    }),
    Package("@fortawesome/fontawesome-free@6.2.0", "fontawesome-free",
            ("css/all.min.css", "webfonts/"), {
        "https://cdn.jsdelivr.net/npm/@fortawesome/fontawesome-free@6.2.0/css/all.min.css":
            "css/all.min.css",
    }),
    Package("leaflet.awesome-markers@2.0.5", "leaflet.awesome-markers",
            ("dist/leaflet.awesome-markers.js", "dist/leaflet.awesome-markers.css",
             "dist/images/"), {
        "https://cdnjs.cloudflare.com/ajax/libs/Leaflet.awesome-markers/2.0.2/"
        "leaflet.awesome-markers.js": "dist/leaflet.awesome-markers.js",
        "https://cdnjs.cloudflare.com/ajax/libs/Leaflet.awesome-markers/2.0.2/"
        "leaflet.awesome-markers.css": "dist/leaflet.awesome-markers.css",
    }),
)
# Not vendored, dropped from maps: bootstrap 3 glyphicons CSS and folium's icon-rotation CSS
# (only used by folium.Icon with a glyphicon prefix or an angle, which the dashboard avoids).


def local_urls() -> dict[str, str]:
    """Return CDN URL -> app static URL for every vendored asset."""
    return {cdn: f"{STATIC_URL}/{p.folder}/{rel}" for p in PACKAGES for cdn, rel in
            p.replaces.items()}


def missing_files(vendor_dir: Path = VENDOR_DIR) -> list[Path]:
    """Return the vendored files that are not installed (empty when setup is complete)."""
    wanted = [vendor_dir / p.folder / rel for p in PACKAGES for rel in p.replaces.values()]
    return [path for path in wanted if not path.is_file()]


def localise(element, urls: dict[str, str] | None = None) -> None:
    """Point the JS/CSS links of a folium element tree at the app's vendored copies.

    Sets instance-level ``default_js`` / ``default_css`` on every element (class
    attributes are left alone); links with no local copy are removed.
    """
    urls = local_urls() if urls is None else urls
    for attribute in ("default_js", "default_css"):
        links = getattr(element, attribute, None)
        if links:
            kept = []
            for name, url in links:
                if url in urls:
                    kept.append((name, urls[url]))
                elif url.startswith("/"):
                    kept.append((name, url))
                else:
                    logger.info("dropping external asset %s (no local copy)", url)
            setattr(element, attribute, kept)
    for child in getattr(element, "_children", {}).values():
        localise(child, urls)


def _copy(package_root: Path, rel: str, target: Path) -> None:
    source = package_root / rel
    destination = target / rel
    if rel.endswith("/"):
        shutil.copytree(source, destination, dirs_exist_ok=True)
    else:
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, destination)


def fetch(vendor_dir: Path = VENDOR_DIR, *, npm: str = "npm", force: bool = False) -> list[str]:
    """Download the packages with ``npm pack`` and unpack the needed files.

    Returns
    -------
    list of str
        The package specs that were (re)installed.
    """
    installed = []
    with tempfile.TemporaryDirectory() as tmp:
        for package in PACKAGES:
            target = vendor_dir / package.folder
            done = all((target / rel).is_file() for rel in package.replaces.values())
            if done and not force:
                continue
            result = subprocess.run(
                [npm, "pack", package.spec, "--pack-destination", tmp, "--silent"],
                check=True, capture_output=True, text=True)
            tarball = Path(tmp) / result.stdout.strip().splitlines()[-1]
            unpacked = Path(tmp) / package.folder
            with tarfile.open(tarball) as archive:
                archive.extractall(unpacked, filter="data")
            if target.exists():
                shutil.rmtree(target)
            for rel in package.files:
                _copy(unpacked / "package", rel, target)
            installed.append(package.spec)
    return installed


def main(argv: list[str] | None = None) -> int:
    """Command line: install the web assets, or check that they are there."""
    parser = argparse.ArgumentParser(prog="python -m dashboard.vendor_assets",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report missing files")
    parser.add_argument("--force", action="store_true", help="reinstall every package")
    parser.add_argument("--dest", type=Path, default=VENDOR_DIR)
    args = parser.parse_args(argv)
    if not args.check:
        for spec in fetch(args.dest, force=args.force):
            print(f"installed {spec}")
    missing = missing_files(args.dest)
    for path in missing:
        print(f"missing {path}", file=sys.stderr)
    if not missing:
        print(f"web assets complete in {args.dest}")
    return 1 if missing else 0


if __name__ == "__main__":
    raise SystemExit(main())
