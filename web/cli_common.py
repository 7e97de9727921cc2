"""What the `gridgov` commands share: where the database is, the secret key,
turning expected failures into one line, and their lines in both languages."""

import functools
import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import click
import psycopg

from geo.catalogue import CATALOGUE, say
from geo.vocab import bilingual
from layers.cluster import Cluster, ClusterError
from layers.errors import LayerError

__all__ = ["friendly", "external_url", "database_url", "masked", "secret_key",
           "line", "labelled"]


def line(key, /, **values):
    """The catalogue entry ``key`` as one line, ``中文（English）``
    (:func:`geo.catalogue.say`), where a value may also be a ``(中文, English)``
    pair, each language taking its own (a role, "everywhere")."""
    zh, en = CATALOGUE[key]
    return bilingual(
        zh.format_map({k: v[0] if isinstance(v, tuple) else v
                       for k, v in values.items()}),
        en.format_map({k: v[1] if isinstance(v, tuple) else v
                       for k, v in values.items()}))


def labelled(key, text):
    """``标签（label）：text``: a label before what is already bilingual or needs
    no words (a list, codes, a token)."""
    return f"{line(key)}：{text}"


def friendly(func):
    """Turn the errors a user can act on into ``click`` errors (one line, exit 1)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except (ClusterError, LayerError) as exc:
            raise click.ClickException(str(exc)) from None
        except psycopg.OperationalError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
            raise click.ClickException(
                say("err_db_unreachable", first=first)
            ) from None

    return wrapper


def external_url():
    return os.environ.get("GRIDGOV_DATABASE_URL") or None


def database_url():
    """The database to use: GRIDGOV_DATABASE_URL, else the private cluster (started)."""
    return external_url() or Cluster.default().start()


def masked(url):
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(":" + parts.password + "@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def secret_key():
    """GRIDGOV_SECRET_KEY, else a random key kept in the data directory (mode 600),
    so that sessions survive restarts and no key is ever built in."""
    if os.environ.get("GRIDGOV_SECRET_KEY"):
        return os.environ["GRIDGOV_SECRET_KEY"]
    path = Path(Cluster.default().home) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
    return path.read_text().strip()
