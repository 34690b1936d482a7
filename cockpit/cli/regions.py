"""`cockpit regions ...`: load, list and locate regions (boundaries in geo/)."""

from __future__ import annotations

import json
from pathlib import Path

import click
from sqlalchemy.orm import sessionmaker

from cockpit.cli import main
from cockpit.settings import Settings
from cockpit.store.db import make_engine


def _session_factory(settings: Settings) -> tuple[sessionmaker, object]:
    # SQL only: these commands never need Redis, so do not start the embedded one.
    if not settings.database_url:
        settings.var_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.sqlalchemy_url)
    return sessionmaker(engine, expire_on_commit=False), engine


@main.group()
def regions() -> None:
    """Regions (province / city / district, NYC borough / community district) and their boundaries."""


@regions.command("load-defaults")
@click.pass_obj
def load_defaults(settings: Settings) -> None:
    """Upsert the bundled regions (China provinces, Gansu, Beijing, NYC) into the regions table."""
    from geo.regions import load_default_regions

    factory, engine = _session_factory(settings)
    with factory() as session, session.begin():
        inserted, updated = load_default_regions(session)
    engine.dispose()
    click.echo(f"regions: {inserted} inserted, {updated} updated")


@regions.command("load")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--level", required=True, envvar="COCKPIT_REGIONS_LEVEL",
              help="Level of every feature: province, city, district (or borough).")
@click.option("--parent", default=None, envvar="COCKPIT_REGIONS_PARENT",
              help="Code of the parent region of every feature (e.g. the city for its districts).")
@click.option("--code-prop", default="code", show_default=True, envvar="COCKPIT_REGIONS_CODE_PROP",
              help="Feature property holding the region code (e.g. adcode).")
@click.option("--name-prop", default="name", show_default=True, envvar="COCKPIT_REGIONS_NAME_PROP",
              help="Feature property holding the display name.")
@click.option("--name-en-prop", default=None, envvar="COCKPIT_REGIONS_NAME_EN_PROP",
              help="Feature property holding the English name (optional).")
@click.option("--population-prop", default=None, envvar="COCKPIT_REGIONS_POPULATION_PROP",
              help="Feature property holding the resident population (optional).")
@click.option("--gcj02/--wgs84", default=False, envvar="COCKPIT_REGIONS_GCJ02",
              help="Coordinates are GCJ-02 (AMap/DataV) and must be converted; default WGS84.")
@click.pass_obj
def load(settings: Settings, file: Path, level: str, parent: str | None, code_prop: str, name_prop: str,
         name_en_prop: str | None, population_prop: str | None, gcj02: bool) -> None:
    """Load a GeoJSON FILE of regions: rows in `regions`, geometry in `region_shapes`. Idempotent."""
    from geo.regions import RegionFileError, read_region_file, store_region_features

    try:
        feats = read_region_file(file, level=level, parent=parent, code_prop=code_prop, name_prop=name_prop,
                                 name_en_prop=name_en_prop, population_prop=population_prop, gcj02=gcj02)
    except RegionFileError as exc:
        raise click.ClickException(str(exc)) from exc
    factory, engine = _session_factory(settings)
    with factory() as session, session.begin():
        inserted, updated = store_region_features(session, feats)
    engine.dispose()
    click.echo(f"{file.name}: {len(feats)} regions, {inserted} inserted, {updated} updated")


@regions.command("list")
@click.option("--parent", default=None, envvar="COCKPIT_REGIONS_PARENT",
              help="Only the children of this code.")
@click.option("--json", "as_json", is_flag=True, envvar="COCKPIT_REGIONS_JSON", help="Print a JSON array.")
@click.pass_obj
def list_cmd(settings: Settings, parent: str | None, as_json: bool) -> None:
    """List regions from the database (code, name, level, parent, population)."""
    from geo.regions import list_regions

    factory, engine = _session_factory(settings)
    with factory() as session:
        rows = list_regions(session, parent=parent)
    engine.dispose()
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False))
        return
    for r in rows:
        pop = "" if r["population"] is None else f"{r['population']:,}"
        click.echo(f"{r['code']:<10} {r['level']:<9} {r['parent'] or '':<10} {pop:>12}  {r['name']}")


@regions.command("locate", context_settings={"ignore_unknown_options": True})
@click.argument("lat", type=float)
@click.argument("lon", type=float)
@click.option("--json", "as_json", is_flag=True, envvar="COCKPIT_REGIONS_JSON", help="Print a JSON object.")
@click.pass_obj
def locate_cmd(settings: Settings, lat: float, lon: float, as_json: bool) -> None:
    """District and city of a WGS84 point (LAT LON in degrees; negative values are fine)."""
    from geo import boundaries
    from geo.locate import locate
    from geo.regions import register_stored_shapes

    factory, engine = _session_factory(settings)
    try:
        with factory() as session:
            register_stored_shapes(session)
    except Exception:  # noqa: BLE001 - no database yet: bundled boundaries still answer
        pass
    finally:
        engine.dispose()
    found = locate(lat, lon)
    result = {"lat": lat, "lon": lon, "district": None, "district_name": None,
              "city": None, "city_name": None}
    if found is not None:
        district, city = found
        result.update(district=district, city=city,
                      district_name=(boundaries.region_info(district) or {}).get("name"),
                      city_name=(boundaries.region_info(city) or {}).get("name"))
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False))
    elif found is None:
        click.echo("outside every known district")
    else:
        click.echo(f"{result['district']} {result['district_name']} / {result['city']} {result['city_name']}")
