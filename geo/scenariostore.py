"""Saved scenarios kept in a SQLAlchemy database (SQLite or PostgreSQL), every version kept.

A :class:`ScenarioStore` keeps every version of a ``geo.saved.SavedScenario``: saving under
an existing name adds a version, deleting only hides the scenario until it is restored.
Writers of one name take turns, and ``export`` / ``merge`` move whole stores between
databases in the format of ``geo.exchange`` without losing anything.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import pandas as pd
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship

from .errors import SavedScenarioError, ScenarioNotFoundError, ScenarioStoreError
from .exchange import (
    EXPORT_FORMAT,
    EXPORT_FORMAT_VERSION,
    _check_export_offices,
    _ExportEntry,
    _parse_export,
)
from .saved import MAX_NAME_LENGTH, RECORDED_SINCE, SavedScenario, normalise_name
from .settings import PROJECT_DATA_DIR

logger = logging.getLogger(__name__)

DB_ENV_VAR = "MADOGUCHI_DB"
DEFAULT_DB_PATH = PROJECT_DATA_DIR / "scenarios" / "scenarios.sqlite"
"""Default SQLite file, in a folder git ignores."""
SAVE_ATTEMPTS = 10
"""Attempts at a write that loses a race with another writer (creating the same new name,
or the tables); a unique (name, version) constraint turns any other clash into a retry."""
_T = TypeVar("_T")
_CONTENT_COLUMNS = frozenset(SavedScenario().to_dict()) - {"name"}
"""The version columns holding a record's content (``SavedScenario.to_dict`` but the name)."""


class _Base(DeclarativeBase):
    pass


class _ScenarioRow(_Base):
    """One named scenario; its content lives in its versions."""

    __tablename__ = "saved_scenarios"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(MAX_NAME_LENGTH), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True))
    deleted_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    versions: Mapped[list[_VersionRow]] = relationship(
        back_populates="scenario", order_by="_VersionRow.version")


class _VersionRow(_Base):
    """One saved version of a scenario; never changed once written."""

    __tablename__ = "saved_scenario_versions"
    __table_args__ = (sa.UniqueConstraint("scenario_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scenario_id: Mapped[int] = mapped_column(sa.ForeignKey("saved_scenarios.id"))
    version: Mapped[int]
    saved_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True))
    base: Mapped[str] = mapped_column(sa.String(20))
    closed: Mapped[list[str]] = mapped_column(sa.JSON)
    downgraded: Mapped[list[str]] = mapped_column(sa.JSON)
    measure: Mapped[str] = mapped_column(sa.String(20))
    store_source: Mapped[str] = mapped_column(sa.String(40))  # "": the data's default
    network: Mapped[str] = mapped_column(sa.String(40))
    mode: Mapped[str] = mapped_column(sa.String(20))
    store_share: Mapped[float] = mapped_column(sa.Float)
    # the question's fields since issue 19: NULL in a version saved before them
    zones: Mapped[str | None] = mapped_column(sa.String(20), nullable=True)
    reading: Mapped[str | None] = mapped_column(sa.String(20), nullable=True)
    walk_kmh: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    briefing_title: Mapped[str] = mapped_column(sa.Text)
    note: Mapped[str] = mapped_column(sa.Text)
    author: Mapped[str] = mapped_column(sa.Text)
    phases: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON)
    scenario: Mapped[_ScenarioRow] = relationship(back_populates="versions")


@dataclass(frozen=True)
class StoredScenario:
    """One version of a saved scenario, as read from the store.

    Attributes
    ----------
    scenario
        The saved content.
    version
        Version number, 1 for the first save under this name.
    created_at
        When the name was first saved (UTC).
    updated_at
        When this version was saved (UTC).
    deleted
        Whether the scenario is deleted (hidden, restorable).
    """

    scenario: SavedScenario
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime
    deleted: bool


@dataclass(frozen=True)
class ImportReport:
    """What ``geo.exchange.import_scenarios`` did, in counts of versions (and of new scenario
    names)."""

    scenarios_created: int = 0
    added: int = 0
    renumbered: int = 0
    skipped: int = 0

    def summary(self) -> dict[str, int]:
        """Return the counts by name, for a table or a message."""
        return {"scenarios_created": self.scenarios_created, "versions_added": self.added,
                "versions_renumbered": self.renumbered, "versions_skipped_identical": self.skipped}


def database_url(url: str | None = None) -> str:
    """Return the database URL: ``url``, else ``MADOGUCHI_DB``, else the default SQLite file.

    The default is ``data/scenarios/scenarios.sqlite`` in the project (git-ignored); its
    folder is created here.
    """
    if url:
        return url
    env = os.environ.get(DB_ENV_VAR)
    if env:
        return env
    DEFAULT_DB_PATH.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{DEFAULT_DB_PATH}"


def _utc(moment: dt.datetime) -> dt.datetime:
    """SQLite hands back naive datetimes; every stored time is UTC."""
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _content(row: _VersionRow, name: str) -> SavedScenario:
    """A version's record; a question field the version predates (NULL) is left out, so
    ``SavedScenario.from_dict`` gives it today's default and says so."""
    values = {column.key: getattr(row, column.key) for column in _VersionRow.__table__.columns
              if column.key in _CONTENT_COLUMNS}
    absent = [key for key in RECORDED_SINCE if values[key] is None]
    values["store_source"] = values["store_source"] or None
    return SavedScenario.from_dict({"name": name, **{k: v for k, v in values.items()
                                                     if k not in absent}})


def _locked_owner(session: Session, name: str) -> _ScenarioRow | None:
    """The scenario row, locked until commit, so that same-name writers take turns.

    PostgreSQL locks the row (``FOR UPDATE``); SQLite ignores that clause, but its
    transactions start with ``BEGIN IMMEDIATE`` and so run one writer at a time.
    """
    return session.scalars(sa.select(_ScenarioRow).where(_ScenarioRow.name == name)
                           .with_for_update()).one_or_none()


def _sqlite_writers_take_turns(engine: sa.Engine) -> None:
    """Start every SQLite transaction with ``BEGIN IMMEDIATE`` (the SQLAlchemy recipe).

    Otherwise two writers both read the same latest version number before either takes
    the write lock.
    """
    @sa.event.listens_for(engine, "connect")
    def _no_driver_transactions(connection: Any, _record: Any) -> None:
        connection.isolation_level = None

    @sa.event.listens_for(engine, "begin")
    def _begin_immediate(connection: sa.Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _version_row(owner: _ScenarioRow, version: int, saved_at: dt.datetime,
                 scenario: SavedScenario) -> _VersionRow:
    content = {k: v for k, v in scenario.to_dict().items() if k != "name"}
    content["store_source"] = content["store_source"] or ""
    return _VersionRow(scenario=owner, version=version, saved_at=saved_at, **content)


def _stored(row: _VersionRow) -> StoredScenario:
    owner = row.scenario
    return StoredScenario(scenario=_content(row, owner.name), version=row.version,
                          created_at=_utc(owner.created_at), updated_at=_utc(row.saved_at),
                          deleted=owner.deleted_at is not None)


class ScenarioStore:
    """Saved scenarios in one database, every version kept.

    Parameters
    ----------
    url
        SQLAlchemy URL, e.g. ``sqlite:///scenarios.sqlite`` or
        ``postgresql+psycopg2://user:password@host/db``; default ``database_url()``.
        Tables are created on first use.
    """

    def __init__(self, url: str | None = None) -> None:
        self.url = database_url(url)
        try:
            sqlite = self.url.startswith("sqlite")
            options = {"connect_args": {"timeout": 30}} if sqlite else {}
            self._engine = sa.create_engine(self.url, **options)
            if sqlite:
                _sqlite_writers_take_turns(self._engine)
            self._create_tables()
        except (sa_exc.ArgumentError, sa_exc.SQLAlchemyError, ImportError) as e:
            msg = f"cannot open the scenario database {self._safe_url()}: {_first_line(e)}"
            raise ScenarioStoreError(msg) from e

    def _create_tables(self) -> None:
        """Create missing tables and columns; other writers at the same moment are fine."""
        for attempt in range(1, SAVE_ATTEMPTS):
            try:
                _Base.metadata.create_all(self._engine)
                self._add_missing_columns()
                return
            except sa_exc.SQLAlchemyError:
                logger.info("another writer is creating the tables (attempt %d)", attempt)
        _Base.metadata.create_all(self._engine)
        self._add_missing_columns()

    def _add_missing_columns(self) -> None:
        """Add the question's newer columns to a database made before them (NULL in the
        versions already saved: they open with today's defaults and say so)."""
        table = cast(sa.Table, _VersionRow.__table__)
        present = {column["name"] for column in sa.inspect(self._engine).get_columns(
            table.name)}
        missing = [table.c[name] for name in RECORDED_SINCE if name not in present]
        with self._engine.begin() as connection:
            for column in missing:
                kind = column.type.compile(dialect=self._engine.dialect)
                connection.exec_driver_sql(
                    f"ALTER TABLE {table.name} ADD COLUMN {column.name} {kind}")

    def _safe_url(self) -> str:
        try:
            return sa.make_url(self.url).render_as_string(hide_password=True)
        except sa_exc.ArgumentError:
            return repr(self.url)

    def close(self) -> None:
        """Release the database connections."""
        self._engine.dispose()

    def save(self, scenario: SavedScenario) -> StoredScenario:
        """Save ``scenario`` under its name as a new version (1 for a new name).

        Saving under a deleted name restores it. Two writers saving the same name at once
        both get their own version: they take turns on the scenario's row, and a writer
        that loses the race to create a new name retries.

        Raises
        ------
        SavedScenarioError
            The name is empty.
        """
        if not scenario.name.strip():
            raise SavedScenarioError("a saved scenario needs a name")
        return self._write(lambda session: _stored(
            self._add_version(session, scenario, saved_at=_now())), f"save {scenario.name!r}")

    def _write(self, work: Callable[[Session], _T], what: str) -> _T:
        """Run ``work`` in a transaction, again if another writer took a version number."""
        for attempt in range(1, SAVE_ATTEMPTS + 1):
            try:
                with self._session() as session, session.begin():
                    return work(session)
            except sa_exc.IntegrityError:
                logger.info("%s: another writer took the version number (attempt %d)",
                            what, attempt)
        msg = f"could not {what}: {SAVE_ATTEMPTS} attempts lost to other writers"
        raise ScenarioStoreError(msg)

    @contextlib.contextmanager
    def _session(self) -> Iterator[Session]:
        """A session whose database failures (other than a lost race) are ``ScenarioStoreError``."""
        try:
            with Session(self._engine) as session:
                yield session
        except sa_exc.IntegrityError:
            raise
        except sa_exc.SQLAlchemyError as e:
            msg = f"scenario database {self._safe_url()}: {_first_line(e)}"
            raise ScenarioStoreError(msg) from e

    def _add_version(self, session: Session, scenario: SavedScenario, *,
                     saved_at: dt.datetime) -> _VersionRow:
        owner = _locked_owner(session, scenario.name)
        if owner is None:
            owner = _ScenarioRow(name=scenario.name, created_at=saved_at)
            session.add(owner)
            session.flush()
        owner.deleted_at = None
        latest = session.scalar(sa.select(sa.func.max(_VersionRow.version)).where(
            _VersionRow.scenario_id == owner.id))
        row = _version_row(owner, (latest or 0) + 1, saved_at, scenario)
        session.add(row)
        session.flush()
        return row

    def open(self, name: str, version: int | None = None, *,
             include_deleted: bool = False) -> StoredScenario:
        """Return version ``version`` of scenario ``name`` (default its latest).

        Raises
        ------
        ScenarioNotFoundError
            No such name or version, or the scenario is deleted and ``include_deleted``
            is false.
        """
        with self._session() as session:
            owner = self._owner(session, name, include_deleted=include_deleted)
            rows = {row.version: row for row in owner.versions}
            chosen = max(rows) if version is None else version
            if chosen not in rows:
                msg = (f"scenario {name!r} has no version {version!r} "
                       f"(versions {', '.join(map(str, sorted(rows)))})")
                raise ScenarioNotFoundError(msg)
            return _stored(rows[chosen])

    def history(self, name: str) -> list[StoredScenario]:
        """Return every version of ``name``, oldest first (deleted scenarios included)."""
        with self._session() as session:
            owner = self._owner(session, name, include_deleted=True)
            return [_stored(row) for row in owner.versions]

    def list(self, *, include_deleted: bool = False) -> list[StoredScenario]:
        """Return the latest version of every scenario, by name."""
        with self._session() as session:
            query = sa.select(_ScenarioRow)
            if not include_deleted:
                query = query.where(_ScenarioRow.deleted_at.is_(None))
            return [_stored(owner.versions[-1]) for owner in _by_name(session.scalars(query))]

    def delete(self, name: str) -> None:
        """Hide scenario ``name`` from ``list``; every version is kept (see ``restore``)."""
        self._set_deleted(name, _now())

    def restore(self, name: str) -> None:
        """Undo ``delete``: scenario ``name`` is listed again."""
        self._set_deleted(name, None)

    def _set_deleted(self, name: str, when: dt.datetime | None) -> None:
        with self._session() as session, session.begin():
            owner = self._owner(session, name, include_deleted=True)
            if (owner.deleted_at is None) == (when is None):
                state = "deleted" if when is None else "listed"
                raise ScenarioNotFoundError(f"scenario {name!r} is not {state}")
            owner.deleted_at = when

    @staticmethod
    def _owner(session: Session, name: str, *, include_deleted: bool) -> _ScenarioRow:
        try:
            stored_name = normalise_name(name)
        except SavedScenarioError:  # no saved scenario can have such a name
            stored_name = None
        owner = session.scalars(sa.select(_ScenarioRow).where(
            _ScenarioRow.name == stored_name)).one_or_none() if stored_name else None
        if owner is None:
            raise ScenarioNotFoundError(f"no saved scenario named {name!r}")
        if owner.deleted_at is not None and not include_deleted:
            raise ScenarioNotFoundError(f"scenario {name!r} is deleted (restore it to open it)")
        return owner

    def export(self) -> dict[str, Any]:
        """Return every scenario and every version, deleted ones flagged, as JSON-ready data."""
        with self._session() as session:
            owners = _by_name(session.scalars(sa.select(_ScenarioRow)))
            return {"format": EXPORT_FORMAT, "format_version": EXPORT_FORMAT_VERSION,
                    "exported_at": _now().isoformat(),
                    "scenarios": [_export_owner(owner) for owner in owners]}

    def merge(self, exported: Mapping[str, Any], *,
              offices: pd.DataFrame | None = None) -> ImportReport:
        """Merge ``export()`` output from another store into this one, losing nothing here.

        A version whose name and number exist here with the same content is skipped, as is
        one already imported under another number (same content and save time). A version
        whose number is taken by different content is added as the next version. A new
        name keeps its creation time and deleted flag; an existing one keeps its own.
        The whole file is validated first and merged in one transaction.

        Parameters
        ----------
        exported
            ``export()`` output.
        offices
            Office register (``geo.layers.load_offices``): every office id of every
            version, phases included, must be in it. ``None``: ids are not checked.

        Raises
        ------
        SavedScenarioError
            ``exported`` is not a valid export (every problem listed).
        geo.errors.UnknownOfficeError
            A version names an office the register lacks (every one listed).
        """
        entries = _parse_export(exported)
        if offices is not None:
            _check_export_offices(entries, offices)

        def merge_all(session: Session) -> ImportReport:
            counts = {"scenarios_created": 0, "added": 0, "renumbered": 0, "skipped": 0}
            for entry in entries:
                self._merge_one(session, entry, counts)
            return ImportReport(**counts)

        return self._write(merge_all, "import the scenarios")

    def _merge_one(self, session: Session, entry: _ExportEntry, counts: dict[str, int]) -> None:
        owner = _locked_owner(session, entry.name)
        if owner is None:
            owner = _ScenarioRow(name=entry.name, created_at=entry.created_at,
                                 deleted_at=entry.deleted_at)
            session.add(owner)
            session.flush()
            counts["scenarios_created"] += 1
        here = {row.version: (_content(row, entry.name), _utc(row.saved_at))
                for row in owner.versions}
        for version, saved_at, scenario in entry.versions:
            if here.get(version, (None,))[0] == scenario or (scenario, saved_at) in here.values():
                counts["skipped"] += 1
                continue
            number = version if version not in here else max(here) + 1
            counts["added" if number == version else "renumbered"] += 1
            session.add(_version_row(owner, number, saved_at, scenario))
            here[number] = (scenario, saved_at)
        session.flush()


def _by_name(owners: Iterable[_ScenarioRow]) -> list[_ScenarioRow]:
    """Sort by code point: the same order on every database, whatever its collation."""
    return sorted(owners, key=lambda owner: owner.name)


def _first_line(error: BaseException) -> str:
    return str(getattr(error, "orig", None) or error).strip().splitlines()[0]


def _export_owner(owner: _ScenarioRow) -> dict[str, Any]:
    deleted = None if owner.deleted_at is None else _utc(owner.deleted_at).isoformat()
    return {"name": owner.name, "created_at": _utc(owner.created_at).isoformat(),
            "deleted_at": deleted,
            "versions": [{"version": row.version, "saved_at": _utc(row.saved_at).isoformat(),
                          "scenario": {k: v for k, v in _content(row, owner.name).to_dict().items()
                                       if k != "name"}}
                         for row in owner.versions]}
