"""Command line: batch exports with the same functions the dashboard uses.

``python -m geo --data DIR COMMAND ...`` writes CSV (UTF-8 with BOM, so Excel reads the
Japanese names) to stdout or ``--out FILE``. Bad arguments and unknown office ids exit
with code 2 and one line on stderr; missing or invalid data exits with code 1. A command
computed from the small areas' population ends with a ``note:`` line on stderr saying how
many residents of the 2015 census are in no figure.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import math
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import pandas as pd

from . import (
    demand,
    districts,
    exchange,
    gtfs,
    layers,
    network_check,
    reorganisation,
    saved,
    scenarios,
    scenariostore,
)
from . import engine as engine_module
from . import fetch as fetch_module
from . import stores as stores_module
from . import study as study_module
from .errors import (
    DataMissingError,
    MadoguchiError,
    OutputError,
    PoorFitError,
    QuestionError,
    SavedScenarioError,
    ScenarioNotFoundError,
    UnknownOfficeError,
)
from .io import (
    STDOUT,
    check_output_paths,
    to_geojson_bytes,
    write_bytes,
    write_csv,
    write_geopackage,
)
from .question import MODES, YEARS, Question, base_of_year
from .zones import ZONE_KINDS

if TYPE_CHECKING:  # optimise is imported when the command runs
    from .optimise import Problem, Solution

logger = logging.getLogger(__name__)

USAGE_ERROR = 2
DATA_ERROR = 1
INTERRUPTED = 130


class UsageError(Exception):
    """A command-line argument is wrong (exit code 2)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line instead of argparse's usage block
        raise UsageError(message)


def _id_list(text: str) -> list[str]:
    """Comma-separated ids; an empty list or an empty id (``--close ''``, ``a,,b``) is refused
    rather than read as nothing."""
    parts = [part.strip() for part in text.split(",")]
    if not any(parts):
        raise argparse.ArgumentTypeError(f"names nothing: {text!r}; give ids, comma-separated")
    if not all(parts):
        raise argparse.ArgumentTypeError(f"an empty id in {text!r}")
    return parts


def _positive_km(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of km: {text!r}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text!r}")
    return value


QUESTION_OPTIONS = {"year": "base", "close": "closed", "downgrade": "downgraded",
                    "measure": "measure", "by": "zones", "stores": "store_source",
                    "store_share": "store_share", "reading": "reading", "network": "network",
                    "mode": "mode", "walk_kmh": "walk_kmh"}
"""Command-line option (argparse dest) -> the ``geo.question.Question`` field it sets."""


def _question(args: argparse.Namespace, *, zones: str | None = None) -> Question:
    """The question the command line asks: the one reading of its question options.

    Options not given take the question's own defaults (``geo.question``); ``zones`` is
    the command's default for ``--by``. An invalid question is a usage error (exit 2).
    """
    given = {field: getattr(args, option) for option, field in QUESTION_OPTIONS.items()
             if getattr(args, option, None) is not None}
    if zones is not None:
        given.setdefault("zones", zones)
    try:
        if "base" in given:
            given["base"] = base_of_year(given["base"])
        return Question(**given)
    except QuestionError as e:
        raise UsageError(str(e)) from None


def _warn_of_network(network: str) -> None:
    if network == "mlit":
        print(f"warning: {engine_module.MLIT_DEFECT['en']}", file=sys.stderr)


def _load(args: argparse.Namespace, network: str | None = None) -> engine_module.Engine:
    question = _question(args)
    network = network or question.network
    _warn_of_network(network)
    eng = engine_module.load_engine(
        args.data, store_source=question.store_source or layers.default_store_source(args.data),
        network=network, mode="walk" if question.mode == "transit" else question.mode)
    args.population = layers.population_coverage(eng.small_areas)
    return eng


def _study(args: argparse.Namespace, question: Question | None = None) -> study_module.Study:
    """The study the question (default: the command line's) is answered on."""
    question = question or _question(args)
    _warn_of_network(question.network)
    built = study_module.build_study(args.data, network=question.network, mode=question.mode)
    args.population = built.population
    return built


def _cmd_branch_distances(args: argparse.Namespace) -> pd.DataFrame:
    eng = _load(args)
    return reorganisation.branch_distances(eng.model, base=base_of_year(args.year),
                                           threshold_km=args.threshold_km)


def _cmd_districts(args: argparse.Namespace) -> pd.DataFrame:
    layer = districts.build_districts(args.data)
    stores = _question(args).store_source or layers.default_store_source(args.data)
    table = stores_module.store_counts(layer, layers.load_stores(args.data, source=stores))
    args.population = layers.population_coverage(layers.load_small_areas(args.data))
    table = table.rename(columns={"district_id": "district"})
    # written only once everything is computed: a failed run leaves no file
    if args.geojson:
        write_bytes(args.geojson, to_geojson_bytes(layer.polygons))
    if args.gpkg:
        write_geopackage(layer.polygons, args.gpkg, layer="districts")
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
    return _study(args).blank_districts(_question(args).store_source)


def _answer(args: argparse.Namespace, question: Question) -> study_module.Result:
    """``geo.study.evaluate`` of the command line's question, on its study."""
    try:
        return study_module.evaluate(_study(args, question), question,
                                     allow_poor_fit=getattr(args, "allow_poor_fit", False))
    except QuestionError as e:  # zones or a store layer this data directory lacks
        raise UsageError(str(e)) from None


def _cmd_scenario(args: argparse.Namespace) -> pd.DataFrame:
    result = _answer(args, _question(args, zones="small-area"))
    if result.unreachable != "none":
        print(f"warning: {scenarios.NO_FACILITY} for {result.unreachable} residents under this "
              f"scenario", file=sys.stderr)
    city = pd.DataFrame([{"zone_id": "43100", "zone_name": "熊本市 (city total)", "ward": "",
                          **result.city}])
    return pd.concat([result.zone_table, city], ignore_index=True)


def _cmd_network_check(args: argparse.Namespace) -> pd.DataFrame:
    """Network-quality figures; walls and detours optionally to their own CSV files."""
    eng = _load(args)
    check = network_check.check_network(eng, base=base_of_year(args.year))
    if args.walls:
        write_csv(check.walls, args.walls)
    if args.detours:
        write_csv(check.detours, args.detours)
    table = check.figures_table()
    for other in args.against:
        within = None
        if other.startswith("osm-chuo"):
            within = (eng.model.origins["ward"] == "中央区").to_numpy()
        ratio = network_check.compare_networks(eng, _load(args, other), within=within)
        rows = pd.DataFrame({"figure": [f"vs_{other}_{k}" for k in ratio],
                             "value": [str(v) for v in ratio.values()]})
        table = pd.concat([table, rows], ignore_index=True)
    for name, value in zip(table["figure"], table["value"], strict=True):
        print(f"{name}: {value}", file=sys.stderr)
    return table


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
    question = _question(args, zones="ward")
    built = _study(args, question)
    result = _answer(args, question)
    fit = built.demand_fits[question.reading]
    if result.load_shift is None:
        raise PoorFitError(f"no load shift: {result.load_shift_reason}")
    shift = result.load_shift
    check = demand.validate_fy2011(fit, built.model(result.store_source))
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


def _progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _fetch_table(results: list[fetch_module.FetchResult]) -> pd.DataFrame:
    return pd.DataFrame([{"source": r.source, "path": str(path), "status": r.status,
                          "sha256": sha} for r in results for path, sha in r.files.items()],
                        columns=["source", "path", "status", "sha256"])


def _cmd_fetch(args: argparse.Namespace) -> pd.DataFrame:
    """Download the open sources into ``--data``; one row per file (fetched, cached, present)."""
    results = fetch_module.fetch(args.data, only=args.only, force=args.force,
                                 progress=_progress)
    return _fetch_table(results)


def _cmd_prepare(args: argparse.Namespace) -> pd.DataFrame:
    """Fetch what the default study lacks (asks first unless --yes); one row per file."""
    from . import prepare

    question = _question(args)
    results = prepare.prepare(args.data, network=question.network, stores=question.store_source,
                              yes=args.yes, progress=_progress)
    return _fetch_table(results)


def _cmd_bench(args: argparse.Namespace) -> pd.DataFrame:
    from . import bench

    figures = bench.run_benchmark(args.data, scenarios_count=args.scenarios, seed=args.seed)
    for line in bench.format_figures(figures):
        print(line, file=sys.stderr)
    return pd.DataFrame([figures])


# --- optimise: location-allocation (issue 11) ---------------------------------------------

def _site(text: str) -> tuple[str, float, float]:
    name, sep, coords = text.rpartition(":")
    try:
        lat, lon = (float(part) for part in coords.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected NAME:lat,lon, got {text!r}") from None
    if not sep or not name.strip() or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise argparse.ArgumentTypeError(f"expected NAME:lat,lon, got {text!r}")
    return name.strip(), lat, lon


def _candidate_sources(text: str) -> list[str]:
    sources = _id_list(text)
    unknown = sorted(set(sources) - {"offices", "schools"})
    if unknown or "offices" not in sources:
        raise argparse.ArgumentTypeError(f"expected offices or offices,schools, got {text!r}")
    return sources


def _optimise_problem(args: argparse.Namespace, eng: engine_module.Engine) -> Problem:
    from . import optimise

    problem = optimise.problem_from_model(eng.model, base=base_of_year(args.year),
                                          weight=args.weight)
    points = [optimise.school_points(eng.data)] if "schools" in args.candidates else []
    if args.site:
        names = [name for name, _, _ in args.site]
        if len(set(names)) < len(names):
            raise UsageError("--site names must be different")
        points.append(optimise.site_points({name: (lat, lon) for name, lat, lon in args.site}))
    for layer in points:
        problem = optimise.with_points(problem, eng, layer)
    clash = sorted(set(args.fix) & set(args.exclude))
    if clash:
        raise UsageError(f"both fixed and excluded: {', '.join(clash)}")
    problem = optimise.with_choices(problem, fix=args.fix, exclude=args.exclude)
    low, high = problem.open_range
    if args.open is not None and not low <= args.open <= high:
        raise UsageError(f"--open {args.open}: between {low} (fixed open) and {high} "
                         f"(candidates not excluded) counters can be open")
    return problem


def _check_optimise_args(args: argparse.Namespace) -> None:
    if args.model == "set-cover":
        if args.open is not None or args.range:
            raise UsageError("set-cover finds the number of counters: drop --open/--range")
    elif (args.open is None) == (not args.range):
        raise UsageError(f"{args.model} needs exactly one of --open K or --range")
    if args.model in ("coverage", "set-cover") and args.within_km is None:
        raise UsageError(f"{args.model} needs --within-km")
    if args.range and args.capacity:
        raise UsageError("--capacity applies to one solution, not to --range")
    if not args.max_growth > 0:
        raise UsageError(f"--max-growth must be positive, got {args.max_growth}")


def _optimise_capacitated(args: argparse.Namespace, problem: Problem, solution: Solution,
                          fit: demand.DemandFit) -> Solution:
    """The best set overloading no counter, printed beside the uncapacitated optimum."""
    from . import optimise

    try:
        capped = optimise.solve_capacitated(problem, args.model, fit, open_count=args.open,
                                            within_m=solution.within_m,
                                            max_growth=args.max_growth)
    except MadoguchiError:
        raise
    except ValueError as e:
        raise UsageError(str(e)) from None
    print(f"# uncapacitated_objective,{solution.objective}", file=sys.stderr)
    print(f"# uncapacitated_selected,{','.join(solution.selected)}", file=sys.stderr)
    return capped


def _print_optimise_summary(args: argparse.Namespace, problem: Problem,
                            solution: Solution) -> None:
    from . import optimise

    for name, value in solution.summary().items():
        print(f"# {name},{value}", file=sys.stderr)
    if args.model == "set-cover":
        return
    ties = optimise.near_ties(problem, args.model, open_count=args.open,
                              within_m=solution.within_m)
    print(f"# near_ties_method,{ties.method}", file=sys.stderr)
    for row in ties.table.itertuples():
        print(f"# near_tie_{row.rank},{row.above_optimum_pct:.3f}%,{row.selected}",
              file=sys.stderr)


def _cmd_optimise(args: argparse.Namespace) -> pd.DataFrame:
    """Optimal set of counters (one row per candidate) or, with --range, the frontier."""
    from . import optimise
    from .errors import InfeasibleError, SiteError

    _check_optimise_args(args)
    within_m = None if args.within_km is None else 1000.0 * args.within_km
    eng = _load(args)
    fit = demand.fit_demand(eng.model) if args.capacity else None
    try:
        problem = _optimise_problem(args, eng)
        if args.range:
            return optimise.frontier(problem, args.model, within_m=within_m)
        solution = optimise.solve(problem, args.model, open_count=args.open, within_m=within_m,
                                  share=args.share)
        if fit is not None and args.model != "set-cover":
            solution = _optimise_capacitated(args, problem, solution, fit)
    except (InfeasibleError, SiteError) as e:
        raise UsageError(str(e)) from None
    _print_optimise_summary(args, problem, solution)
    table = optimise.candidate_table(problem, solution)
    if fit is not None:
        loads = optimise.counter_loads(problem, solution, fit, max_growth=args.max_growth)
        if loads["overloaded"].any():
            print("warning: overloaded counters: "
                  + ", ".join(loads.loc[loads["overloaded"], "office_id"]), file=sys.stderr)
        table = table.merge(loads.drop(columns=["name_ja", "kind", "selected"]),
                            on="office_id", how="left")
    figures = {f"solution_{k}": v for k, v in solution.summary().items() if k != "selected"}
    return table.assign(**figures)


def _add_optimise_parser(commands: _Commands) -> None:
    opt = commands.add_parser("optimise", help="which counters to keep: location-allocation")
    opt.add_argument("--year", choices=("2015", "now"), default="2015",
                     help="candidate counters: the FY2015 set (default) or today's")
    opt.add_argument("--model", choices=("p-median", "coverage", "set-cover", "p-center"),
                     default="p-median")
    count = opt.add_mutually_exclusive_group()
    count.add_argument("--open", type=int, default=None,
                       help="counters open in all, fixed ones (ward offices) included")
    count.add_argument("--range", action="store_true",
                       help="write the frontier: the optimum for every number of counters")
    opt.add_argument("--within-km", type=_positive_km, default=None,
                     help="distance of coverage and set-cover")
    opt.add_argument("--share", type=_share, default=1.0,
                     help="set-cover: share of the weight that must be within --within-km")
    opt.add_argument("--weight", choices=("population", "65plus"), default="population")
    opt.add_argument("--fix", type=_id_list, default=[], help="ids fixed open, comma-separated")
    opt.add_argument("--exclude", type=_id_list, default=[], help="ids never opened")
    opt.add_argument("--candidates", type=_candidate_sources, default=["offices"],
                     help="offices (default) or offices,schools")
    opt.add_argument("--site", type=_site, action="append", default=[],
                     help="a new candidate site NAME:lat,lon (WGS84); repeatable")
    opt.add_argument("--capacity", action="store_true",
                     help="the best set whose predicted loads (demand model) grow no counter "
                          "by more than --max-growth; adds each counter's load")
    opt.add_argument("--max-growth", type=float, default=0.5,
                     help="--capacity: largest growth of a counter's predicted load (0.5 = +50%%)")
    opt.set_defaults(handler=_cmd_optimise)


# -- saved scenarios (geo.saved, geo.scenariostore, geo.exchange) -----------------------------

def _scenario_name(text: str) -> str:
    try:
        name = saved.normalise_name(text)
    except SavedScenarioError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    if not name:
        raise argparse.ArgumentTypeError("a saved scenario needs a name")
    return name


def _saved_store(args: argparse.Namespace) -> scenariostore.ScenarioStore:
    return scenariostore.ScenarioStore(args.db)


def _stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def _saved_rows(records: list[scenariostore.StoredScenario]) -> pd.DataFrame:
    return pd.DataFrame([{
        "name": r.scenario.name, "version": r.version, "base": r.scenario.question.base,
        "closed": ",".join(sorted(r.scenario.question.closed)),
        "downgraded": ",".join(sorted(r.scenario.question.downgraded)),
        "author": r.scenario.author,
        "note": r.scenario.note, "created_at": _stamp(r.created_at),
        "updated_at": _stamp(r.updated_at), "deleted": r.deleted} for r in records],
        columns=["name", "version", "base", "closed", "downgraded", "author", "note",
                 "created_at", "updated_at", "deleted"])


def _saved_save(args: argparse.Namespace) -> pd.DataFrame:
    question = _question(args)
    if question.store_source is None:  # a record names its store layer
        question = question.replace(store_source=layers.default_store_source(args.data))
    scenario = saved.SavedScenario(
        question=question, name=args.name, briefing_title=args.title, note=args.note,
        author=args.author, phases=exchange.read_phases(args.phases) if args.phases else ())
    offices = _office_register(args)
    if offices is not None:
        saved.check_offices(scenario, offices)
    return _saved_rows([_saved_store(args).save(scenario)])


def _office_register(args: argparse.Namespace) -> pd.DataFrame | None:
    """The office register that saved and imported ids are checked against, if any."""
    try:
        offices: pd.DataFrame = layers.load_offices(args.data)
        return offices
    except DataMissingError as e:
        print(f"warning: office ids not checked: {str(e).splitlines()[0]}", file=sys.stderr)
        return None


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
    count = exchange.export_scenarios(_saved_store(args), args.out)
    print(f"exported {count} scenario version(s) to {args.out}", file=sys.stderr)


def _saved_import(args: argparse.Namespace) -> pd.DataFrame:
    exported = exchange.read_json(args.file)  # a bad file first: no warning before its error
    merged = _saved_store(args).merge(exported, offices=_office_register(args))
    return pd.DataFrame([merged.summary()])


def _cmd_saved(args: argparse.Namespace) -> pd.DataFrame | None:
    """Run a ``scenarios`` action; a bad scenario or unknown name is a usage error (exit 2)."""
    actions = {"save": _saved_save, "show": _saved_show, "delete": _saved_set_deleted,
               "restore": _saved_set_deleted, "export": _saved_export, "import": _saved_import,
               "list": _saved_list}
    try:
        return actions[args.action](args)
    except SavedScenarioError as e:
        raise UsageError(str(e)) from e


def _saved_list(args: argparse.Namespace) -> pd.DataFrame:
    return _saved_rows(_saved_store(args).list(include_deleted=args.all))


def _add_saved_parser(commands: _Commands, common: _Parser) -> None:
    group = commands.add_parser("scenarios", help="saved scenarios: save, list, show, delete, "
                                                  "restore, export, import")
    db = _Parser(add_help=False)
    db.add_argument("--db", default=None,
                    help=f"database URL (default: ${scenariostore.DB_ENV_VAR}, "
                         f"else SQLite {scenariostore.DEFAULT_DB_PATH})")
    actions = group.add_subparsers(dest="action", required=True, parser_class=_Parser)

    def action(name: str, help: str) -> argparse.ArgumentParser:
        parser = actions.add_parser(name, parents=[common, db], help=help)
        parser.set_defaults(handler=_cmd_saved)
        return parser

    save = action("save", "save a scenario (a new version when the name exists)")
    save.add_argument("--name", required=True, type=_scenario_name)
    _add_question_options(save, by=Question().zones)
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
    def default(value: object) -> object:
        return value if defaults else argparse.SUPPRESS

    parser.add_argument("--data", default=default(None),
                        help="data directory (default: $MADOGUCHI_DATA or data/bundle)")
    parser.add_argument("--out", default=default(None), help="write CSV here instead of stdout")
    parser.add_argument("--stores", default=default(None), choices=layers.STORE_SOURCES,
                        help="convenience-store layer for certificate access (default union, "
                             "or osm where the data directory has no Overture stores)")
    parser.add_argument("--network", default=default(None), choices=engine_module.NETWORKS,
                        help="road network (default: the city-wide OSM drive network)")
    parser.add_argument("--mode", default=default(None), choices=MODES,
                        help="drive (one-way streets respected, default), walk, or transit "
                             "(bus, tram and rail with walks; a lower bound: 産交バス is missing)")
    parser.add_argument("--walk-kmh", type=_positive_km, default=default(None),
                        help=f"walking speed for minutes on foot (default {scenarios.WALK_KMH})")
    parser.add_argument("-v", "--verbose", action="store_true", default=default(False),
                        help="log progress to stderr")
    parser.add_argument("--debug", action="store_true", default=default(False),
                        help="show the traceback of an unexpected error")


class _Commands:
    """The sub-commands of ``python -m geo``; each also takes the common options."""

    def __init__(self, commands: argparse._SubParsersAction[_Parser], common: _Parser) -> None:
        self._commands = commands
        self._common = common

    def add_parser(self, name: str, **kwargs: Any) -> _Parser:
        return self._commands.add_parser(name, parents=[self._common], **kwargs)


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of ``python -m geo``."""
    parser = _Parser(prog="python -m geo", description=__doc__.splitlines()[0])
    _add_common_options(parser, defaults=True)
    common = _Parser(add_help=False)
    _add_common_options(common, defaults=False)
    commands = _Commands(parser.add_subparsers(dest="command", required=True,
                                               parser_class=_Parser), common)

    branch = commands.add_parser("branch-distances",
                                 help="branch -> nearest ward office, and 5 km rule candidates")
    branch.add_argument("--year", choices=("2015", "now"), default="2015")
    branch.add_argument("--threshold-km", type=_positive_km,
                        default=reorganisation.RULE_THRESHOLD_KM)
    branch.set_defaults(handler=_cmd_branch_distances)

    scenario = commands.add_parser("scenario", help="distance per zone before/after closures")
    _add_question_options(scenario, by="small-area")
    scenario.set_defaults(handler=_cmd_scenario)

    load = commands.add_parser("load-shift",
                               help="annual transactions per counter before/after closures")
    _add_question_options(load, by="ward")
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

    check = commands.add_parser("network-check",
                                help="network quality: size, snaps, walls, detour index")
    check.add_argument("--year", choices=("2015", "now"), default="2015",
                       help="office set whose counters the detour index uses")
    check.add_argument("--walls", help="also write the wall node pairs as CSV")
    check.add_argument("--detours", help="also write the detour index per origin as CSV")
    check.add_argument("--against", type=_id_list, default=[],
                       help="networks to compare distances with, comma-separated")
    check.set_defaults(handler=_cmd_network_check)

    bench = commands.add_parser("bench", help="time graph build, precompute and re-evaluation")
    bench.add_argument("--scenarios", type=_positive_int, default=50)
    bench.add_argument("--seed", type=int, default=2015)
    bench.set_defaults(handler=_cmd_bench)
    _add_fetch_parsers(commands)
    _add_optimise_parser(commands)
    _add_transit_check(commands)
    _add_saved_parser(commands, common)
    _add_report_parser(commands)
    return parser


def _add_question_options(parser: argparse.ArgumentParser, *, by: str) -> None:
    """The options of a question (``QUESTION_OPTIONS``; the network, travel mode, store
    layer and walking speed are common options); ``by`` is the command's default zones."""
    defaults = Question()
    parser.add_argument("--year", choices=tuple(YEARS), default=None,
                        help="base office set: 2015 (the FY2015 set, default) or now")
    parser.add_argument("--close", type=_id_list, default=None,
                        help="office ids closed, comma-separated")
    parser.add_argument("--downgrade", type=_id_list, default=None,
                        help="office ids turned into certificate-only service corners")
    parser.add_argument("--measure", choices=scenarios.MEASURES, default=None,
                        help=f"counter or certificate (default {defaults.measure})")
    parser.add_argument("--by", choices=ZONE_KINDS, default=None,
                        help=f"zones figures are summed over (default {by})")
    parser.add_argument("--store-share", type=_share, default=None,
                        help="share 0-1 of the closed counters' certificate transactions going "
                             f"to convenience stores (default {defaults.store_share:g})")
    parser.add_argument("--reading", choices=demand.READINGS, default=None,
                        help="which 城南/南部 reading of the FY2011-13 counts the demand model is "
                             f"fitted on (default {defaults.reading})")


def _add_fetch_parsers(commands: _Commands) -> None:
    fetch = commands.add_parser("fetch", help="download the open sources into --data (online)")
    fetch.add_argument("--only", type=_fetch_sources, default=None,
                       help=f"comma-separated, from {','.join(fetch_module.SOURCES)} (default all)")
    fetch.add_argument("--force", nargs="?", const=True, default=False, type=_fetch_sources,
                       metavar="SOURCES",
                       help="download again even when present: all, or the sources named")
    fetch.set_defaults(handler=_cmd_fetch)

    prepare = commands.add_parser("prepare", help="first run: fetch what the study lacks")
    prepare.add_argument("--yes", action="store_true",
                         help="download without asking (also MADOGUCHI_FETCH=1)")
    prepare.set_defaults(handler=_cmd_prepare)


REPORT_OPTIONS = {"xlsx": "Excel workbook", "pdf": "16:9 slide as PDF",
                  "png": "16:9 slide as PNG", "handout": "planners' A4 handout PDF",
                  "residents": "residents' A4 handout PDF (plain words, 住民向け)",
                  "leaflets": "school-district leaflets PDF (one A4 page per district)"}


def _add_report_parser(commands: _Commands) -> None:
    parser = commands.add_parser(
        "report", help="the council files: workbook, slide (PDF/PNG), A4 handouts, leaflets")
    parser.add_argument("--scenario", type=_scenario_name, default=None,
                        help="a saved scenario's name (see 'scenarios list')")
    parser.add_argument("--version", type=_positive_int, default=None,
                        help="version of --scenario (default its latest)")
    parser.add_argument("--db", default=None, help="database URL of --scenario (default: "
                                                   f"${scenariostore.DB_ENV_VAR}, else SQLite)")
    _add_question_options(parser, by="district")
    parser.add_argument("--title", default=None,
                        help="title (default: the saved title, a preset's name or the counts)")
    parser.add_argument("--lang", choices=("ja", "en"), default="ja")
    for option, what in REPORT_OPTIONS.items():
        parser.add_argument(f"--{option}", default=None, help=f"write the {what} here")
    parser.add_argument("--districts", type=_id_list, default=None,
                        help="the leaflets' school districts, comma-separated as the "
                             "attendance-zone table names them (e.g. 大江小), or all "
                             "(default: those whose counter changes or gets farther)")
    parser.add_argument("--author", default=None,
                        help="the PDFs' author (default 熊本市 / Kumamoto City)")
    parser.set_defaults(handler=_cmd_report)


def _report_targets(args: argparse.Namespace) -> dict[str, str]:
    targets = {key: getattr(args, key) for key in REPORT_OPTIONS if getattr(args, key)}
    if not targets:
        raise UsageError("report: give at least one of "
                         + ", ".join(f"--{key}" for key in REPORT_OPTIONS))
    given = ["--" + option.replace("_", "-") for option in QUESTION_OPTIONS
             if getattr(args, option, None) is not None]
    if args.scenario is None:
        if args.version is not None:
            raise UsageError("report: --version needs --scenario")
    elif given:
        raise UsageError(f"report: --scenario asks its own question; drop {', '.join(given)}")
    if args.districts is not None and "leaflets" not in targets:
        raise UsageError("report: --districts needs --leaflets")
    return targets


def _cmd_report(args: argparse.Namespace) -> pd.DataFrame:
    from . import report  # the renderer needs matplotlib: loaded only for this command

    targets = _report_targets(args)
    if args.scenario is not None:
        try:
            chosen = scenariostore.ScenarioStore(args.db).open(args.scenario, args.version).scenario
        except ScenarioNotFoundError as e:
            raise UsageError(str(e)) from None
        for field in chosen.defaulted:
            print(f"note: {args.scenario} was saved before its {field} was recorded: today's "
                  f"default {getattr(chosen.question, field)!r} is used", file=sys.stderr)
        question, custom = chosen.question, args.title or chosen.briefing_title
    else:
        question, custom = _question(args, zones="district"), args.title
    if "leaflets" in targets and question.zones != "district":
        raise UsageError("report: --leaflets needs --by district (one leaflet per school "
                         "district)")
    built = _study(args, question)
    result = _answer(args, question)
    title = report.default_title(built, result, lang=args.lang, custom=custom)
    if "leaflets" in targets:
        try:  # an unknown district, or none affected: before anything is rendered
            districts = report.leaflet_districts(built, result, args.districts)
        except ValueError as e:
            raise UsageError(f"report: {e}") from None
    else:
        districts = None
    written = report.write_report(built, result, targets, title=title, lang=args.lang,
                                  districts=districts, author=args.author)
    return pd.DataFrame({"output": list(targets), "file": [str(p) for p in written]})


def _service_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date YYYY-MM-DD: {text!r}") from None


def _add_transit_check(commands: _Commands) -> None:
    check = commands.add_parser("transit-check",
                                help="GTFS feeds used, trips on the service date, 産交 caveat")
    check.add_argument("--date", type=_service_date, default=None,
                       help=f"service date (default {gtfs.DEFAULT_SERVICE_DATE} when every feed "
                            "runs then, else the first Wednesday they all run)")
    check.add_argument("--bench", action="store_true",
                       help="also time the transit precompute and scenario re-evaluation")
    check.set_defaults(handler=_cmd_transit_check)


def _cmd_transit_check(args: argparse.Namespace) -> pd.DataFrame:
    """One row per feed; the caveat (and with --bench the timings) on stderr."""
    from . import transit

    timetable = gtfs.load_timetable(args.data, service_date=args.date)
    day = timetable.service_date
    print(f"service date {day} ({day:%A})", file=sys.stderr)
    for text in transit.transit_caveat(timetable).values():
        if text:
            print(text, file=sys.stderr)
    if args.bench:
        for name, value in transit.run_benchmark(_load(args)).items():
            print(f"{name}: {value:.3g}", file=sys.stderr)
    return pd.DataFrame([{**vars(r), "agencies": "/".join(r.agencies), "repairs": r.repairs}
                         for r in timetable.reports])


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit code.

    Whatever goes wrong ends as one line on stderr: exit 2 for a bad argument or output
    path, 1 for bad data and for any unexpected error (whose traceback ``--debug`` shows).
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        return _main(argv)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return INTERRUPTED
    except Exception as e:
        if "--debug" in argv:
            raise
        print(f"error: unexpected {type(e).__name__}: {_first_line(e)} (python -m geo --debug "
              f"... shows where)", file=sys.stderr)
        return DATA_ERROR


def _main(argv: list[str]) -> int:
    try:
        args = build_parser().parse_args(argv)
        _check_outputs(args)
        unknown = [n for n in getattr(args, "against", []) if n not in engine_module.NETWORKS]
        if unknown:
            msg = (f"unknown network(s) {', '.join(unknown)}; choose from "
                   f"{', '.join(engine_module.NETWORKS)}")
            raise UsageError(msg)
    except (UsageError, OutputError) as e:
        print(f"error: {e}", file=sys.stderr)
        return USAGE_ERROR
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    return _run(args)


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else "no message"


def _run(args: argparse.Namespace) -> int:
    """Run the chosen command and write its table; return the exit code."""
    try:
        table = args.handler(args)
    except (UnknownOfficeError, UsageError, OutputError) as e:
        print(f"error: {e}", file=sys.stderr)
        return USAGE_ERROR
    except MadoguchiError as e:
        print(f"error: {e}", file=sys.stderr)
        return DATA_ERROR
    except OSError as e:
        where = f" {e.filename}" if e.filename else ""
        print(f"error: cannot read or write{where}: {e.strerror or e}", file=sys.stderr)
        return DATA_ERROR
    if table is not None:  # else the command wrote its own output file
        try:
            write_csv(table, args.out)
        except OSError as e:
            print(f"error: cannot write {args.out}: {e.strerror or e}", file=sys.stderr)
            return USAGE_ERROR
    if (coverage := getattr(args, "population", None)) is not None:
        print(f"note: {coverage.notice('en')}", file=sys.stderr)
    return 0


OUTPUT_OPTIONS = {"out": "csv", "geojson": "geojson", "gpkg": "gpkg", "summary_out": "csv",
                  "walls": "csv", "detours": "csv", "xlsx": "xlsx", "pdf": "pdf", "png": "png",
                  "handout": "pdf", "residents": "pdf", "leaflets": "pdf"}
"""Options naming an output file, and the format written there."""
INPUT_OPTIONS = {"phases": "--phases", "file": "the import file"}
"""Options naming a file read (besides the data directory), which no output may replace."""


def _check_outputs(args: argparse.Namespace) -> None:
    """Refuse bad output paths, all together, before any long computation starts.

    ``geo.io.check_output_paths`` checks each path (not input data, not a file of another
    format, not a folder) and that no two outputs, nor an output and an input, are one
    file; the table goes to standard output when ``--out`` is not given. Each file's
    folder must exist.
    """
    outputs: dict[str, tuple[str, str]] = {}
    for option, fmt in OUTPUT_OPTIONS.items():
        value = getattr(args, option, None)
        if value:
            outputs["--" + option.replace("_", "-")] = (value, fmt)
        elif option == "out":
            outputs["--out (not given: standard output)"] = (STDOUT, fmt)
    if getattr(args, "action", None) == "export" and args.out:
        outputs["--out"] = (args.out, "json")
    inputs = {label: getattr(args, dest) for dest, label in INPUT_OPTIONS.items()
              if getattr(args, dest, None)}
    checked = check_output_paths(outputs, data=args.data, inputs=inputs)
    for label, path in checked.items():
        if path != Path(STDOUT) and not path.parent.is_dir():
            msg = f"{label} {outputs[label][0]}: the folder {path.parent} does not exist"
            raise UsageError(msg)
