"""HTTPS with a custom CA bundle (a provincial CA, not the public ones): verified, and refused without it."""

from __future__ import annotations

import pytest

import datetime as dt
import ipaddress
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from station.store import Store
from sync.gateway.app import ServerThread
from sync.gateway.platform import Platform
from sync.service import sync_now
from sync.settings import configure
from sync.gateway.testing import file_cases, make_platform, make_station

pytestmark = pytest.mark.usefixtures("platform_store")  # every test on both platform stores


def _self_signed(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "测试省平台")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "gateway.pem", folder / "gateway.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def test_sync_over_https_with_a_custom_ca_bundle(tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    platform_home, keys = make_platform(tmp_path)
    with Platform.open(platform_home) as platform, ServerThread(platform, tls_cert=str(cert), tls_key=str(key)) as srv:
        assert srv.url.startswith("https://")
        village = make_station(tmp_path, platform_home, keys, "421381105201", url=srv.url)
        configure(village, srv.url, sync_retries=0)  # a certificate error is not worth retrying in a test
        with Store.open(village) as store:
            file_cases(store, 2)
            refused = sync_now(store)  # the system CAs do not know the provincial CA
            assert not refused.ok and refused.errors and refused.errors[0]["message"]
            assert refused.errors[0]["code"] == "tls_failed"
            assert store.meta_get("sync.acked_seq", "0") in ("0", None)
        configure(village, srv.url, sync_ca_bundle=str(cert))
        with Store.open(village) as store:
            summary = sync_now(store)
            assert summary.ok, summary.errors
            assert store.meta_get("sync.acked_seq") == str(store.last_local_seq())
