#!/usr/bin/env bash
# Prepare this checkout to run gridgov on Debian/Ubuntu:
#   - OS packages, if missing: PostgreSQL server + PostGIS for its major
#     version (and with --with-browser, for development: Chromium for the
#     browser tests, wrk and gdal-bin for the benchmarks, QGIS's Python bindings
#     for the tests of /ogc and /tiles by QGIS itself);
#   - the virtual environment .venv with `pip install -e '.[test]'`, redone
#     only when pyproject.toml changed since the last install;
#   - the browser libraries of web/vendor/package.json (Leaflet.draw) from the
#     npm registry into web/vendor/node_modules, redone only when package.json
#     changed (npm itself from the OS packages if missing).
# Idempotent, and silent when there is nothing to do: one line per step done.
set -euo pipefail

with_browser=0
for arg in "$@"; do
  case "$arg" in
    --with-browser) with_browser=1 ;;
    -h | --help) echo "usage: scripts/setup.sh [--with-browser]"; exit 0 ;;
    *) echo "setup: unknown option: $arg" >&2; exit 2 ;;
  esac
done

cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { echo "setup: $*"; }
die() { echo "setup: $*" >&2; exit 1; }

# Output of apt-get and pip goes here, shown only when a step fails.
steplog=$(mktemp)
trap 'rm -f "$steplog"' EXIT
quietly() {
  "$@" >"$steplog" 2>&1 || { tail -n 25 "$steplog" >&2; die "failed: $*"; }
}

# --- OS packages ------------------------------------------------------------

# Highest PostgreSQL major version with a server installed (Debian layout).
pg_version() {
  local bin
  for bin in /usr/lib/postgresql/*/bin/postgres; do
    if [ -x "$bin" ]; then basename "$(dirname "$(dirname "$bin")")"; fi
  done | sort -n | tail -n 1
}

# A Python >= 3.11 (pyproject's requires-python), printed as a command name.
find_python() {
  local py
  for py in python3 python3.13 python3.12 python3.11; do
    if command -v "$py" >/dev/null \
      && "$py" -c 'import sys, ensurepip, venv; sys.exit(sys.version_info < (3, 11))' \
        2>/dev/null; then
      echo "$py"
      return
    fi
  done
}

# Run as root: directly, or through sudo (asking for a password only when
# there is a terminal to ask on).
as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null && { [ -t 0 ] || sudo -n true 2>/dev/null; }; then
    sudo "$@"
  else
    return 1
  fi
}

apt_updated=0
apt_install() {
  command -v apt-get >/dev/null \
    || die "install these packages with your system's package manager: $*"
  as_root true 2>/dev/null \
    || die "not root and no sudo: as root, run: apt-get install -y $*"
  if [ "$apt_updated" -eq 0 ]; then
    say "updating the package lists (apt-get update)"
    quietly as_root apt-get update
    apt_updated=1
  fi
  say "installing OS packages: $*"
  quietly as_root env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends "$@"
}

# Round 1: what can be named now. PostGIS's package is named after the server's
# major version, known only once the server is installed (round 2).
need=()
ver=$(pg_version)
if [ -z "$ver" ]; then
  need+=(postgresql)
elif [ ! -e "/usr/share/postgresql/$ver/extension/postgis.control" ]; then
  need+=("postgresql-$ver-postgis-3")
fi
# python3-venv: Debian splits venv/ensurepip out of python3.
[ -n "$(find_python)" ] || need+=(python3 python3-venv)
# Debian's own Chromium: the browser tests drive /usr/bin/chromium through
# Playwright; Playwright's downloaded browsers are never used.
if [ "$with_browser" -eq 1 ] && ! command -v chromium >/dev/null; then
  need+=(chromium)
fi
# wrk: the C load client of `python -m bench locate` (a Python client would take
# a third of the two cores the server is measured on); development machines only.
if [ "$with_browser" -eq 1 ] && ! command -v wrk >/dev/null; then
  need+=(wrk)
fi
# gdal-bin: ogr2ogr, the GDAL baseline of `python -m bench importing`;
# development machines only, as wrk.
if [ "$with_browser" -eq 1 ] && ! command -v ogr2ogr >/dev/null; then
  need+=(gdal-bin)
fi
# python3-qgis: QGIS 3.22 itself reads /ogc and /tiles in the tests
# (tests/integration/test_ogc_clients.py, system Python); development only.
if [ "$with_browser" -eq 1 ] && ! /usr/bin/python3 -c 'import qgis.core' 2>/dev/null; then
  need+=(python3-qgis)
fi
# The Chinese font the printed ranking (layers/ranking_print.py) asks for by name
# (Debian's package file, or the family anywhere fontconfig finds it); the browser
# tests' screenshots use it too, or they show boxes for text.
if [ ! -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] \
  && ! { command -v fc-list >/dev/null && [ -n "$(fc-list 'WenQuanYi Micro Hei' 2>/dev/null)" ]; }; then
  need+=(fonts-wqy-microhei)
fi
[ "${#need[@]}" -eq 0 ] || apt_install "${need[@]}"

# Round 2.
need=()
ver=$(pg_version)
[ -n "$ver" ] || die "PostgreSQL's server is still missing after installing it"
if [ ! -e "/usr/share/postgresql/$ver/extension/postgis.control" ]; then
  need+=("postgresql-$ver-postgis-3")
fi
# An older distribution (Ubuntu 22.04: 3.10) has 3.11 as a separate package.
[ -n "$(find_python)" ] || need+=(python3.11 python3.11-venv)
[ "${#need[@]}" -eq 0 ] || apt_install "${need[@]}"

# --- Python -----------------------------------------------------------------

py=$(find_python)
[ -n "$py" ] || die "no Python >= 3.11 with venv found: install python3.11-venv"

if ! .venv/bin/python -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  2>/dev/null; then
  # Missing, or broken (its Python was removed or upgraded away): recreate.
  say "creating the virtual environment .venv ($py)"
  quietly "$py" -m venv --clear .venv
fi

stamp=".venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)"
if [ ! -e "$stamp" ]; then
  say "installing Python packages into .venv (pip install -e '.[test]')"
  quietly .venv/bin/python -m pip install --disable-pip-version-check -e '.[test]'
  rm -f .venv/.installed-*
  touch "$stamp"
fi

# --- Browser libraries (npm) ------------------------------------------------

# Served by gridgov under /vendor (web/assets.py); never committed, and no
# package-lock (it would record the registry's address).
vendor=web/vendor
npm_stamp="$vendor/node_modules/.installed-$(sha256sum "$vendor/package.json" | cut -c1-16)"
if [ ! -e "$npm_stamp" ] \
  || [ ! -e "$vendor/node_modules/leaflet-draw/dist/leaflet.draw.js" ] \
  || [ ! -e "$vendor/node_modules/leaflet.vectorgrid/dist/Leaflet.VectorGrid.bundled.min.js" ]; then
  command -v npm >/dev/null || apt_install nodejs npm
  say "installing browser libraries into $vendor/node_modules (npm install)"
  # --ignore-scripts: the browser libraries need no install step, and one
  # dependency (swagger-ui-dist's) would otherwise try to phone home.
  quietly npm install --prefix "$vendor" --no-package-lock --omit=dev --ignore-scripts \
    --no-audit --no-fund
  rm -f "$vendor"/node_modules/.installed-*
  touch "$npm_stamp"
fi
