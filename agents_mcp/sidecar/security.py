"""Where the sidecar may listen and which Host/Origin headers it accepts (DNS-rebinding guard)."""

from __future__ import annotations

import ipaddress

from mcp.server.transport_security import TransportSecuritySettings

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach (localhost, 127.0.0.0/8, ::1)."""
    host = host.strip().strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name other than localhost: assume it is reachable from outside


def bind_refusal(host: str, token_set: bool) -> str | None:
    """Why binding `host` is refused (None if it is fine): off loopback a token is mandatory."""
    if is_loopback(host) or token_set:
        return None
    return (
        f"refusing to listen on {host}: that address is reachable from other machines and "
        "AGENTS_MCP_AUTH_TOKEN is not set, so anyone who can reach the port could delete your "
        "agents and spend your credits. Set AGENTS_MCP_AUTH_TOKEN to a long random value "
        "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`), or bind to "
        "127.0.0.1."
    )


def _host_entry(host: str) -> str:
    """A bind address as it appears in a Host header (IPv6 in brackets)."""
    bare = host.strip("[]")
    try:
        return f"[{bare}]" if ipaddress.ip_address(bare).version == 6 else bare
    except ValueError:
        return host


def _has_port(entry: str) -> bool:
    return entry.rsplit("]", 1)[-1].count(":") == 1


def transport_security(bind_host: str, allowed_hosts: list[str]) -> TransportSecuritySettings:
    """Host/Origin checks: loopback names, the bind address (if specific) and allowed_hosts.

    An entry without a port allows any port (and the bare name, as sent for :80/:443 behind a
    proxy); `*` turns the Host/Origin check off (then the bearer token is the only guard).
    """
    if "*" in allowed_hosts:
        return TransportSecuritySettings(enable_dns_rebinding_protection=False)
    names = list(LOOPBACK_NAMES)
    bare = bind_host.strip("[]")
    if bare and bare not in ("0.0.0.0", "::") and not is_loopback(bare):
        names.append(_host_entry(bind_host))
    names.extend(_host_entry(h.strip().lower()) for h in allowed_hosts if h.strip())
    hosts: list[str] = []
    origins: list[str] = []
    for name in dict.fromkeys(names):
        if _has_port(name):
            hosts.append(name)
            origins += [f"http://{name}", f"https://{name}"]
        else:
            hosts += [name, f"{name}:*"]
            origins += [
                f"http://{name}",
                f"https://{name}",
                f"http://{name}:*",
                f"https://{name}:*",
            ]
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=origins
    )
