"""Who may talk to a grading cluster: mutual-TLS certificates, and the addresses ``grade`` accepts.

``python -m course_lib cluster-certs DIR`` makes a certificate authority for one cluster and two
certificates signed by it, each an ECDSA P-256 key (files ``0600``):

* ``node.pem`` / ``node.key``: the scheduler and every worker (they both listen and connect);
* ``client.pem`` / ``client.key``: the instructor's ``grade``;
* ``ca.pem``: the authority's certificate, which every member checks the others against.

The authority's private key is thrown away once both are signed: nobody, not even the
instructor, can add a certificate later (make a new folder and restart the cluster instead).
Dask checks that a peer's certificate comes from the authority, not its host name: anyone holding
``node.*`` or ``client.*`` is a member.
"""
from __future__ import annotations

import datetime
import ipaddress
import os
from pathlib import Path
from urllib.parse import urlsplit

FILES = ("ca.pem", "node.pem", "node.key", "client.pem", "client.key")
DAYS = 365


def make_certificates(folder: str | Path) -> list[Path]:
    """Write ``FILES`` into ``folder`` (made ``0700`` if new); refuse to overwrite any of them.

    Returns the paths written. Raises FileExistsError naming the first file already there."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    folder = Path(folder)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    for name in FILES:
        if (folder / name).exists():
            raise FileExistsError(f"{folder / name} exists; certificates are made once per cluster: "
                                  "choose an empty folder")
    now = datetime.datetime.now(datetime.timezone.utc)

    def certificate(common_name: str, key, issuer_name, issuer_key, ca: bool, usages: list):
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        builder = (x509.CertificateBuilder().subject_name(name).issuer_name(issuer_name or name)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(minutes=5))
                   .not_valid_after(now + datetime.timedelta(days=DAYS))
                   .add_extension(x509.BasicConstraints(ca=ca, path_length=0 if ca else None), critical=True))
        if usages:
            builder = builder.add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        return builder.sign(issuer_key or key, hashes.SHA256())

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = certificate("backprop-course grading CA", ca_key, None, None, True, [])
    both = [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
    out = {"ca.pem": ca_cert.public_bytes(serialization.Encoding.PEM)}
    for role, usages in (("node", both), ("client", [ExtendedKeyUsageOID.CLIENT_AUTH])):
        key = ec.generate_private_key(ec.SECP256R1())
        cert = certificate(f"backprop-course grading {role}", key, ca_cert.subject, ca_key, False, usages)
        out[f"{role}.pem"] = cert.public_bytes(serialization.Encoding.PEM)
        out[f"{role}.key"] = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption())
    written = []
    for name in FILES:
        fd = os.open(folder / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600 if name.endswith(".key") else 0o644)
        with os.fdopen(fd, "wb") as f:
            f.write(out[name])
        written.append(folder / name)
    return written


def _client_files_problem(folder: str | Path) -> str | None:
    missing = [name for name in ("ca.pem", "client.pem", "client.key") if not Path(folder, name).is_file()]
    if missing:
        return (f"--tls {folder} has no {', '.join(missing)}; make the certificates with "
                f"python -m course_lib cluster-certs {folder}")
    return None


def client_security(folder: str | Path):
    """The ``distributed.security.Security`` of ``grade --tls folder``: encryption required, the
    client certificate presented, the scheduler's checked against ``ca.pem``."""
    from distributed.security import Security

    if problem := _client_files_problem(folder):
        raise FileNotFoundError(problem)
    folder = Path(folder)
    return Security(tls_ca_file=str(folder / "ca.pem"), tls_client_cert=str(folder / "client.pem"),
                    tls_client_key=str(folder / "client.key"), require_encryption=True)


def address_problem(address: str, tls: str | None, insecure: bool) -> str | None:
    """Why ``grade`` must not connect to the scheduler at ``address`` as asked, if it must not.

    ``tls://`` needs ``--tls DIR``; plain ``tcp://`` (encrypted by nobody, open to anyone who can
    reach the port) only to a loopback address, unless ``insecure``."""
    scheme, host = urlsplit(address).scheme, urlsplit(address).hostname or ""
    if scheme == "tls":
        return _client_files_problem(tls) if tls else (f"--scheduler {address} needs --tls DIR, the "
                                                       "folder made by python -m course_lib cluster-certs DIR")
    if scheme != "tcp":
        return f"--scheduler {address}: expected tls://HOST:PORT (or tcp://127.0.0.1:PORT on this machine)"
    if tls:
        return f"--tls is for a tls:// scheduler; write --scheduler tls://{address[len('tcp://'):]}"
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if loopback or insecure:
        return None
    return (f"refusing plain tcp:// to {host}: anyone who can reach that port could run code on the "
            "workers, change scores and read the hidden tests. Make certificates with python -m "
            "course_lib cluster-certs DIR, start the scheduler and workers with them (see the README) "
            "and grade with --scheduler tls://HOST:PORT --tls DIR; or pass --insecure-cluster on a "
            "network you trust completely")
