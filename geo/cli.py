"""Command line: batch exports with the same functions the dashboard uses.

``python -m geo --data DIR COMMAND ...`` writes CSV (UTF-8 with BOM, so Excel reads the
Japanese names) to stdout or ``--out FILE``. Bad arguments and unknown office ids exit
with code 2 and one line on stderr; missing or invalid data exits with code 1.
"""

from __future__ import annotations

import argparse
import functools
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from . import demand, districts, layers, reorganisation, saved, scenarios
from . import engine as engine_module
from . import fetch as fetch_module
from .errors import (
    DataMissingError,
    MadoguchiError,
    SavedScenarioError,
    UnknownOfficeError,
)
from .io import write_csv

logger = logging.getLogger(__name__)

USAGE_ERROR = 2
DATA_ERROR = 1


class UsageError(Exception):
    """A command-line argument is wrong (exit code 2)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line instead of argparse's usage block
        raise UsageError(message)


def _id_list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _positive_km(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive: {text!r}")
    return value


def _load(args: argparse.Namespace) -> engine_module.Engine:
    return engine_module.load_engine(args.data, store_source=args.stores, network=args.network)


def _cmd_branch_distances(args: argparse.Namespace) -> pd.DataFrame:
    eng = _load(args)
    base = "fy2015" if args.year == "2015" else "now"
    return reorganisation.branch_distances(eng.model, base=base, threshold_km=args.threshold_km)


def _scenario_from_args(args: argparse.Namespace) -> scenarios.Scenario:
    base = "fy2015" if args.year == "2015" else "now"
    return scenarios.Scenario(base=base, closed=frozenset(args.close),
                              downgraded=frozenset(args.downgrade))


def _membership(eng: engine_module.Engine, by: str) -> pd.DataFrame:
    if by == "district":
        return districts.district_membership(eng.model, districts.build_districts(eng.data))
    return scenarios.zone_membership(eng.model, by=by)


def _cmd_districts(args: argparse.Namespace) -> pd.DataFrame:
    layer = districts.build_districts(args.data)
    for path, writer in ((args.geojson, districts.to_geojson),
                         (args.gpkg, districts.to_geopackage)):
        if path:
            writer(layer, path)
    table = districts.store_counts(layer, layers.load_stores(args.data, source=args.stores))
    table = table.rename(columns={"district_id": "district"})
    return table[["district", "ward", "population", "stores", "quality"]]


def _cmd_snaps(args: argparse.Namespace) -> pd.DataFrame:
    """Snap distance of every office and store, farthest first; ``far`` beyond 300 m."""
    eng = _load(args)
    model = eng.model
    offices = model.office_snap.merge(model.offices[["office_id", "name_ja", "kind"]],
                                      on="office_id").rename(columns={"office_id": "id"})
    stores = model.store_snap.merge(eng.stores[["store_id", "name"]], on="store_id").rename(
        columns={"store_id": "id", "name": "name_ja"}).assign(kind="store")
    table = pd.concat([offices, stores], ignore_index=True)
    table["snap_m"] = table["snap_m"].round(1)
    return table[["id", "name_ja", "kind", "snap_m", "far"]].sort_values(
        "snap_m", ascending=False, ignore_index=True)


def _cmd_blank_districts(args: argparse.Namespace) -> pd.DataFrame:
    """Districts without a store; nearest_store_km is the residents' mean road distance."""
    eng = _load(args)
    layer = districts.build_districts(eng.data)
    blank = districts.blank_districts(layer, eng.stores)
    access = districts.store_access(eng.model, layer).set_index("district_id")
    blank["nearest_store_km"] = access["mean_store_km"].reindex(blank["district_id"]).to_numpy()
    blank = blank.rename(columns={"district_id": "district"})
    return blank[["district", "ward", "population", "nearest_store_km"]]


def _cmd_scenario(args: argparse.Namespace) -> pd.DataFrame:
    eng = _load(args)
    scenario = _scenario_from_args(args)
    eng.model.office_index(list(scenario.closed) + list(scenario.downgraded))
    table = scenarios.compare(eng.model, scenario, measure=args.measure,
                              membership=_membership(eng, args.by))
    city = scenarios.summary(table)
    if city["status"] == scenarios.NO_FACILITY:
        print(f"warning: {scenarios.NO_FACILITY} for some or all residents under this scenario",
              file=sys.stderr)
    city_row = {"zone_id": "43100", "zone_name": "熊本市 (city total)", "ward": "", **city}
    return pd.concat([table, pd.DataFrame([city_row])], ignore_index=True)


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1: {text!r}")
    return value


def _cmd_load_shift(args: argparse.Namespace) -> pd.DataFrame:
    """Counters' load before / after; fit summary as ``# name,value`` lines on stderr."""
    eng = _load(args)
    scenario = _scenario_from_args(args)
    fit = demand.fit_demand(eng.model, reading=args.reading)
    shift = demand.load_shift(fit, eng.model, scenario, store_share=args.store_share,
                              allow_poor_fit=args.allow_poor_fit)
    check = demand.validate_fy2011(fit, eng.model)
    summary = shift.summary() | {f"fy2011_check_{k}": v for k, v in check.metrics.items()}
    if not fit.ok:
        print(f"warning: poor demand-model fit: {'; '.join(fit.problems)}", file=sys.stderr)
    for name, value in summary.items():
        print(f"# {name},{value}", file=sys.stderr)
    if args.summary_out:
        write_csv(demand.summary_rows(summary), args.summary_out)
    return shift.export_table()


def _fetch_sources(text: str) -> tuple[str, ...]:
    try:
        return fetch_module.parse_sources(text)
    except MadoguchiError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _cmd_fetch(args: argparse.Namespace) -> pd.DataFrame:
    """Download the open sources into ``--data``; one row per source (fetched or cached)."""
    results = fetch_module.fetch(args.data, only=args.only, force=args.force)
    return pd.DataFrame([{"source": r.source, "path": str(r.path), "status": r.status,
                          "sha256": r.sha256} for r in results])


def _cmd_bench(args: argparse.Namespace) -> pd.DataFrame:
    from . import bench

    figures = bench.run_benchmark(args.data, scenarios_count=args.scenarios, seed=args.seed)
    for line in bench.format_figures(figures):
        print(line, file=sys.stderr)
    return pd.DataFrame([figures])


# -- saved scenarios (geo.saved) ------------------------------------------------------------

def _scenario_name(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("a saved scenario needs a name")
    return text


def _saved_store(args: argparse.Namespace) -> saved.ScenarioStore:
    return saved.ScenarioStore(args.db)


def _stamp(moment) -> str:
    return moment.isoformat(timespec="seconds")


def _saved_rows(records: list[saved.StoredScenario]) -> pd.DataFrame:
    return pd.DataFrame([{
        "name": r.scenario.name, "version": r.version, "base": r.scenario.base,
        "closed": ",".join(sorted(r.scenario.closed)),
        "downgraded": ",".join(sorted(r.scenario.downgraded)), "author": r.scenario.author,
        "note": r.scenario.note, "created_at": _stamp(r.created_at),
        "updated_at": _stamp(r.updated_at), "deleted": r.deleted} for r in records],
        columns=["name", "version", "base", "closed", "downgraded", "author", "note",
                 "created_at", "updated_at", "deleted"])


def _saved_save(args: argparse.Namespace) -> pd.DataFrame:
    scenario = saved.SavedScenario(
        name=args.name, base="fy2015" if args.year == "2015" else "now", closed=args.close,
        downgraded=args.downgrade, measure=args.measure, store_source=args.stores,
        network=args.network, mode=args.mode, store_share=args.store_share,
        briefing_title=args.title, note=args.note, author=args.author,
        phases=saved.read_phases(args.phases) if args.phases else ())
    try:
        saved.check_offices(scenario, layers.load_offices(args.data))
    except DataMissingError as e:
        print(f"warning: office ids not checked: {str(e).splitlines()[0]}", file=sys.stderr)
    return _saved_rows([_saved_store(args).save(scenario)])


def _saved_show(args: argparse.Namespace) -> pd.DataFrame:
    record = _saved_store(args).open(args.name, args.version, include_deleted=True)
    fields = {"version": record.version, "created_at": _stamp(record.created_at),
              "updated_at": _stamp(record.updated_at), "deleted": record.deleted}
    for key, value in record.scenario.to_dict().items():
        if key != "phases":
            fields[key] = ",".join(value) if isinstance(value, list) else value
    for number, phase in enumerate(record.scenario.phases, start=1):
        fields[f"phase {number}"] = (f"{phase.date} {phase.label}; "
                                     f"closed={','.join(sorted(phase.closed))}; "
                                     f"downgraded={','.join(sorted(phase.downgraded))}")
    return pd.DataFrame({"field": list(fields), "value": [str(v) for v in fields.values()]})


def _saved_set_deleted(args: argparse.Namespace) -> pd.DataFrame:
    store = _saved_store(args)
    (store.delete if args.action == "delete" else store.restore)(args.name)
    return pd.DataFrame([{"name": args.name, "status": f"{args.action}d"}])


def _saved_export(args: argparse.Namespace) -> None:
    if not args.out or args.out == "-":
        raise UsageError("scenarios export needs --out FILE.json")
    count = saved.export_scenarios(_saved_store(args), args.out)
    print(f"exported {count} scenario version(s) to {args.out}", file=sys.stderr)


def _saved_import(args: argparse.Namespace) -> pd.DataFrame:
    report = saved.import_scenarios(_saved_store(args), args.file)
    return pd.DataFrame([report.summary()])


def _cmd_saved(args: argparse.Namespace) -> pd.DataFrame | None:
    """Run a ``scenarios`` action; a bad scenario or unknown name is a usage error (exit 2)."""
    actions = {"save": _saved_save, "show": _saved_show, "delete": _saved_set_deleted,
               "restore": _saved_set_deleted, "export": _saved_export, "import": _saved_import,
               "list": lambda a: _saved_rows(_saved_store(a).list(include_deleted=a.all))}
    try:
        return actions[args.action](args)
    except SavedScenarioError as e:
        raise UsageError(str(e)) from e


def _add_saved_parser(commands, common: argparse.ArgumentParser) -> None:
    group = commands.add_parser("scenarios", help="saved scenarios: save, list, show, delete, "
                                                  "restore, export, import")
    db = _Parser(add_help=False)
    db.add_argument("--db", default=None, help=f"database URL (default: ${saved.DB_ENV_VAR}, "
                                               f"else SQLite {saved.DEFAULT_DB_PATH})")
    actions = group.add_subparsers(dest="action", required=True, parser_class=_Parser)

    def action(name: str, help: str) -> argparse.ArgumentParser:
        parser = actions.add_parser(name, parents=[common, db], help=help)
        parser.set_defaults(handler=_cmd_saved)
        return parser

    save = action("save", "save a scenario (a new version when the name exists)")
    save.add_argument("--name", required=True, type=_scenario_name)
    save.add_argument("--year", choices=("2015", "now"), default="2015",
                      help="base office set (default the FY2015 set)")
    save.add_argument("--close", type=_id_list, default=[], help="office ids, comma-separated")
    save.add_argument("--downgrade", type=_id_list, default=[],
                      help="office ids turned into certificate-only service corners")
    save.add_argument("--measure", choices=scenarios.MEASURES, default="counter")
    save.add_argument("--mode", choices=saved.MODES, default="drive")
    save.add_argument("--store-share", type=_share, default=0.0)
    save.add_argument("--title", default="", help="briefing title")
    save.add_argument("--note", default="")
    save.add_argument("--author", default="")
    save.add_argument("--phases", default=None,
                      help='JSON file of dated steps: [{"date": "2016-04-01", "label": "...", '
                           '"closed": [...], "downgraded": [...]}, ...]')
    action("list", "the latest version of every scenario").add_argument(
        "--all", action="store_true", help="include deleted scenarios")
    show = action("show", "every field of one version (default the latest)")
    show.add_argument("--name", required=True)
    show.add_argument("--version", type=int, default=None)
    action("delete", "hide a scenario (restorable)").add_argument("--name", required=True)
    action("restore", "list a deleted scenario again").add_argument("--name", required=True)
    action("export", "write every scenario and version as JSON to --out")
    action("import", "merge an export file into the database").add_argument("file")


def _add_common_options(parser: argparse.ArgumentParser, *, defaults: bool) -> None:
    """Options accepted before or after the command (after it, they override)."""
    def default(value):
        return value if defaults else argparse.SUPPRESS

    parser.add_argument("--data", default=default(None),
                        help="data directory (default: $MADOGUCHI_DATA or data/bundle)")
    parser.add_argument("--out", default=default(None), help="write CSV here instead of stdout")
    parser.add_argument("--stores", default=default("union"), choices=layers.STORE_SOURCES,
                        help="convenience-store layer for certificate access (default union)")
    parser.add_argument("--network", default=default("mlit"), choices=engine_module.NETWORKS,
                        help="road network (default: city-wide MLIT lines)")
    parser.add_argument("-v", "--verbose", action="store_true", default=default(False),
                        help="log progress to stderr")


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of ``python -m geo``."""
    parser = _Parser(prog="python -m geo", description=__doc__.splitlines()[0])
    _add_common_options(parser, defaults=True)
    common = _Parser(add_help=False)
    _add_common_options(common, defaults=False)
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    commands.add_parser = functools.partial(commands.add_parser, parents=[common])

    branch = commands.add_parser("branch-distances",
                                 help="branch -> nearest ward office, and 5 km rule candidates")
    branch.add_argument("--year", choices=("2015", "now"), default="2015")
    branch.add_argument("--threshold-km", type=_positive_km, default=reorganisation.RULE_THRESHOLD_KM)
    branch.set_defaults(handler=_cmd_branch_distances)

    scenario = commands.add_parser("scenario", help="distance per zone before/after closures")
    scenario.add_argument("--close", type=_id_list, default=[], help="office ids, comma-separated")
    scenario.add_argument("--downgrade", type=_id_list, default=[],
                          help="office ids turned into certificate-only service corners")
    scenario.add_argument("--year", choices=("2015", "now"), default="2015",
                          help="base office set (default the FY2015 set)")
    scenario.add_argument("--by", choices=("small-area", "ward", "district"),
                          default="small-area")
    scenario.add_argument("--measure", choices=scenarios.MEASURES, default="counter")
    scenario.set_defaults(handler=_cmd_scenario)

    load = commands.add_parser("load-shift",
                               help="annual transactions per counter before/after closures")
    load.add_argument("--close", type=_id_list, default=[], help="office ids, comma-separated")
    load.add_argument("--downgrade", type=_id_list, default=[],
                      help="office ids turned into certificate-only service corners")
    load.add_argument("--year", choices=("2015", "now"), default="2015",
                      help="base office set (default the FY2015 set)")
    load.add_argument("--store-share", type=_share, default=0.0,
                      help="share 0-1 of the closed counters' certificate transactions going to "
                           "convenience stores instead of another counter")
    load.add_argument("--reading", choices=demand.READINGS, default=demand.DEFAULT_READING,
                      help="which 城南/南部 reading of the FY2011-13 counts to fit")
    load.add_argument("--summary-out", default=None,
                      help="also write the fit summary as a name,value CSV file")
    load.add_argument("--allow-poor-fit", action="store_true",
                      help="predict even when the fit fails its quality check")
    load.set_defaults(handler=_cmd_load_shift)

    dist = commands.add_parser("districts", help="school districts: population, stores, quality")
    dist.add_argument("--geojson", help="also write the district polygons as GeoJSON (WGS84)")
    dist.add_argument("--gpkg", help="also write them as a GeoPackage layer (EPSG:6670)")
    dist.set_defaults(handler=_cmd_districts)

    snaps = commands.add_parser("snaps", help="how far each office and store is from a road")
    snaps.set_defaults(handler=_cmd_snaps)

    blank = commands.add_parser("blank-districts",
                                help="school districts without a convenience store (--stores)")
    blank.set_defaults(handler=_cmd_blank_districts)

    bench = commands.add_parser("bench", help="time graph build, precompute and re-evaluation")
    bench.add_argument("--scenarios", type=int, default=50)
    bench.add_argument("--seed", type=int, default=2015)
    bench.set_defaults(handler=_cmd_bench)

    fetch = commands.add_parser("fetch", help="download the open sources into --data (online)")
    fetch.add_argument("--only", type=_fetch_sources, default=None,
                       help=f"comma-separated, from {','.join(fetch_module.SOURCES)} (default all)")
    fetch.add_argument("--force", action="store_true",
                       help="download again even when a file is already present")
    fetch.set_defaults(handler=_cmd_fetch)
    _add_saved_parser(commands, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        for option in ("out", "geojson", "gpkg", "summary_out"):
            _check_out(getattr(args, option, None), option)
    except UsageError as e:
        print(f"error: {e}", file=sys.stderr)
        return USAGE_ERROR
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        table = args.handler(args)
    except (UnknownOfficeError, UsageError) as e:
        print(f"error: {e}", file=sys.stderr)
        return USAGE_ERROR
    except MadoguchiError as e:
        print(f"error: {e}", file=sys.stderr)
        return DATA_ERROR
    if table is None:  # the command wrote its own output file
        return 0
    try:
        write_csv(table, args.out)
    except OSError as e:
        print(f"error: cannot write {args.out}: {e.strerror}", file=sys.stderr)
        return USAGE_ERROR
    return 0


def _check_out(out: str | None, option: str) -> None:
    """Refuse an output file whose folder does not exist before any long computation starts."""
    if out and out != "-" and not Path(out).resolve().parent.is_dir():
        flag = "--" + option.replace("_", "-")
        msg = f"{flag} {out}: the folder {Path(out).resolve().parent} does not exist"
        raise UsageError(msg)
