"""PostgreSQL engines carry a connect timeout (services/store/engine.py), so a host that drops
packets fails a request within seconds instead of the OS's TCP timeout; a URL's own
`connect_timeout` wins, and a real PostgreSQL still connects with either.

A blackholed address cannot be had on loopback, so the timeout is checked where it ends up:
the parameters the dialect hands psycopg (seen by SQLAlchemy's `do_connect` event, against a
closed loopback port) and those of a live connection to the harness's PostgreSQL."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from harness.servers import free_port

from services.store.engine import CONNECT_TIMEOUT_S, make_engine


def connect_params(engine: sa.Engine) -> dict:
    """What the dialect passes to psycopg.connect for this engine (the port is closed: the
    attempt is refused at once, after the parameters are seen)."""
    seen: list[dict] = []
    sa.event.listen(engine, "do_connect",
                    lambda _dialect, _record, _cargs, cparams: seen.append(dict(cparams)))
    with pytest.raises(sa.exc.OperationalError, match="refused"):
        engine.connect().close()
    engine.dispose()
    (params,) = seen
    return params


def test_a_postgresql_engine_passes_a_connect_timeout_and_a_urls_own_wins():
    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/apollo"
    assert CONNECT_TIMEOUT_S == 5
    assert connect_params(make_engine(url))["connect_timeout"] == 5
    assert connect_params(make_engine(url + "?connect_timeout=17"))["connect_timeout"] == "17"
    given = connect_params(make_engine(url, connect_args={"application_name": "apollo-test"}))
    assert given["connect_timeout"] == 5 and given["application_name"] == "apollo-test"
    own = make_engine(url, connect_args={"connect_timeout": 2})
    assert connect_params(own)["connect_timeout"] == 2


def test_a_sqlite_engine_gets_no_connect_timeout(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'apollo.db'}")
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT 1")).scalar() == 1
    _, cparams = engine.dialect.create_connect_args(engine.url)
    assert "connect_timeout" not in cparams
    engine.dispose()


@pytest.mark.servers
@pytest.mark.parametrize(("query", "expected"), [("", "5"), ("?connect_timeout=17", "17")])
def test_the_harness_postgresql_connects_with_the_timeout_in_force(pg_url, query, expected):
    engine = make_engine(pg_url + query)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT 1")).scalar() == 1
        parameters = conn.connection.dbapi_connection.info.get_parameters()
    assert parameters["connect_timeout"] == expected
    engine.dispose()
