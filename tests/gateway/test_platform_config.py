"""platform.toml: every limit has a sane default written by `platform init`; a bad value stops the platform with
`bad_config` naming the key (in Chinese), never a traceback, and never a silently trusted proxy."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from station.cli import main
from sync.errors import SyncError
from sync.gateway import database
from sync.gateway.platform import PlatformConfig, read_platform_config
from sync.gateway.testing import make_platform


def test_init_writes_every_limit_and_reads_it_back(tmp_path: Path) -> None:
    phome, _ = make_platform(tmp_path)
    written = tomllib.loads((phome / "platform.toml").read_text(encoding="utf-8"))
    assert set(written) == set(PlatformConfig.__dataclass_fields__)
    assert written["trusted_proxies"] == []  # X-Forwarded-For believed from nobody until configured
    # SQLite ingests on the event loop; PostgreSQL in 2 threads (one parsed while another waits on the database)
    on_postgres = database.resolve(phome) is not None
    assert written["ingest_threads"] == (2 if on_postgres else 0)
    assert read_platform_config(phome) == PlatformConfig(name=written["name"], ingest_threads=written["ingest_threads"])


@pytest.mark.parametrize("line, key", [("header_timeout_s = 0", "header_timeout_s"),
                                       ("max_connections = -5", "max_connections"),
                                       ("flood_per_minute = \"many\"", "flood_per_minute"),
                                       ("trusted_proxies = \"127.0.0.1\"", "trusted_proxies"),
                                       ("trusted_proxies = [\"*\"]", "trusted_proxies"),
                                       # uvicorn would crash on a number, at the first request
                                       ("trusted_proxies = [1]", "trusted_proxies"),
                                       # a whole number of threads, connections, bytes: range(2.5) fails
                                       # at the first batch, every batch a 500
                                       ("ingest_threads = 2.5", "ingest_threads"),
                                       ("ingest_threads = -1", "ingest_threads"),  # 0 is the event loop
                                       ("db_pool_size = 1.5", "db_pool_size"),
                                       ("header_timeout_s = nan", "header_timeout_s"),  # never cuts anyone
                                       ("body_timeout_s = inf", "body_timeout_s"),
                                       ("id = 7", "id"),  # a traceback in the key file's code
                                       ("name = \"  \"", "name"),
                                       ("name = 5", "name")])
def test_a_bad_limit_is_a_clear_refusal(tmp_path: Path, line: str, key: str) -> None:
    phome, _ = make_platform(tmp_path)
    config = phome / "platform.toml"
    name = line.split(" = ")[0]
    lines = [x for x in config.read_text(encoding="utf-8").splitlines() if not x.startswith(name + " ")]
    config.write_text("\n".join(lines + [line]) + "\n", encoding="utf-8")
    with pytest.raises(SyncError) as err:
        read_platform_config(phome)
    assert err.value.code == "bad_config" and key in err.value.message
    result = CliRunner().invoke(main, ["platform", "cases", "--home", str(phome), "--json"])
    assert result.exit_code == 1 and json.loads(result.output)["error"]["code"] == "bad_config"


def test_a_proxy_network_written_with_host_bits_is_trusted_as_meant(tmp_path: Path) -> None:
    """``127.0.0.1/8`` passes the check (host bits allowed) but uvicorn takes it for a literal name and
    trusts nobody: every client behind the proxy would look like the proxy's own loopback address and
    read /metrics. The configured networks reach uvicorn normalised."""
    import requests

    from sync.gateway.app import ServerThread
    from sync.gateway.platform import Platform

    phome, _ = make_platform(tmp_path)
    config = phome / "platform.toml"
    config.write_text(config.read_text(encoding="utf-8").replace("trusted_proxies = []",
                                                                 'trusted_proxies = ["127.0.0.1/8"]'),
                      encoding="utf-8")
    with Platform.open(phome) as platform, ServerThread(platform) as server:
        far = requests.get(server.url + "/metrics", headers={"X-Forwarded-For": "203.0.113.7"}, timeout=10)
        assert far.status_code == 401
        assert any(r["peer"] == "203.0.113.7" for r in platform.store.refusals(10))
