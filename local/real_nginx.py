"""nginx for the integration tests (dev only): TLS with a certificate a CA made on the spot signs, gzip, redirects;
a child process on 127.0.0.1 at a free port, its configuration, pid, logs and temp paths in a temporary folder."""

from __future__ import annotations

import datetime
import ipaddress
import os
import shutil
import tempfile
from pathlib import Path

from local.real_servers import ServerProcess, binary, free_port

NGINX = "/usr/sbin/nginx"


def missing_nginx() -> str | None:
    if binary(NGINX, "nginx") is None:
        return "nginx is not installed (Debian: apt-get install nginx; .ci/run does it)"
    return None


class TestCa:
    """A certificate authority made on the spot, and a server certificate it signs for 127.0.0.1 / localhost."""

    __test__ = False  # not a pytest class

    def __init__(self, folder: Path) -> None:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        now = datetime.datetime.now(datetime.UTC)
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "profile-poller test CA")])
        ca = (
            x509.CertificateBuilder()
            .subject_name(ca_name)
            .issuer_name(ca_name)
            .public_key(ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        key = ec.generate_private_key(ec.SECP256R1())

        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(
                x509.SubjectAlternativeName(
                    [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
                ),
                critical=False,
            )
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        self.ca_pem = folder / "ca.pem"
        self.cert_pem = folder / "server.pem"
        self.key_pem = folder / "server.key"
        self.ca_pem.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
        self.cert_pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        self.key_pem.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )


class RealNginx:
    """nginx on 127.0.0.1:<free port> over TLS (a TestCa's certificate): files under `root/files/`, gzip for text,
    `/moved/NAME` redirects (302) to `/files/NAME`, `/loop/` redirects to itself, `/forbidden/` answers 403."""

    def __init__(self) -> None:
        self.work = Path(tempfile.mkdtemp(prefix="nginx-"))
        os.chmod(self.work, 0o755)  # nginx's workers run as another user when the master is root
        self.root = self.work / "html"
        (self.root / "files").mkdir(parents=True)
        (self.work / "logs").mkdir()
        (self.work / "temp").mkdir()
        self.ca = TestCa(self.work)
        self.port = 0
        self._process: ServerProcess | None = None

    def start(self) -> RealNginx:
        self.port = free_port()
        temp = self.work / "temp"
        conf = self.work / "nginx.conf"
        conf.write_text(
            f"""
worker_processes 1;
pid {self.work / "nginx.pid"};
error_log stderr notice;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    types {{ text/csv csv; application/octet-stream bin; }}
    gzip on;
    gzip_types text/csv;
    gzip_min_length 20;
    server {{
        listen 127.0.0.1:{self.port} ssl;
        server_name localhost;
        ssl_certificate {self.ca.cert_pem};
        ssl_certificate_key {self.ca.key_pem};
        root {self.root};
        location /files/ {{ }}
        location ~ ^/moved/(.*)$ {{ return 302 /files/$1; }}
        location /loop/ {{ return 302 /loop/; }}
        location /forbidden/ {{ return 403; }}
    }}
}}
"""
        )
        nginx = binary(NGINX, "nginx")
        assert nginx is not None
        args = [nginx, "-p", str(self.work), "-c", str(conf), "-e", "stderr", "-g", "daemon off;"]
        self._process = ServerProcess(args, "start worker process", self.work)
        self._process.wait_ready(self.port)
        return self

    def stop(self) -> None:
        if self._process is not None:
            self._process.stop()
        shutil.rmtree(self.work, ignore_errors=True)

    def __enter__(self) -> RealNginx:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def put(self, name: str, data: bytes) -> str:
        (self.root / "files" / name).write_bytes(data)
        return f"{self.base_url}/files/{name}"

    @property
    def base_url(self) -> str:
        return f"https://127.0.0.1:{self.port}"
