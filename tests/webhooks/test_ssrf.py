"""The SSRF guard: address classes refused, the allowlist, checks at registration and at connect time."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from empathy.core.model import Event
from empathy.webhooks.ssrf import AddressPolicy, BlockedAddress
from tests.webhooks.conftest import Running
from tests.webhooks.receiver import Receiver

BLOCKED = [
    "10.1.2.3",  # private
    "172.16.0.1",
    "192.168.1.1",
    "127.0.0.1",  # loopback
    "127.255.0.9",
    "::1",
    "169.254.169.254",  # link-local (cloud metadata)
    "fe80::1",
    "100.64.0.1",  # CGNAT
    "100.127.255.254",
    "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1 (ipaddress calls it global)
    "64:ff9b::808:808",  # NAT64 of a public address: the prefix itself is refused
    "::ffff:127.0.0.1",  # IPv4-mapped loopback
    "::ffff:10.0.0.1",
    "::ffff:169.254.169.254",
    "::ffff:8.8.8.8",  # every IPv4-mapped form: a real endpoint resolves to plain IPv4
    "::127.0.0.1",  # IPv4-compatible
    "192.0.0.8",
    "0.0.0.0",
    "198.18.0.1",
    "224.0.0.1",
    "fc00::1",
    "2002:7f00:1::",  # 6to4 of 127.0.0.1
    "255.255.255.255",
]


@pytest.mark.parametrize("address", BLOCKED)
def test_non_public_addresses_are_refused(address: str) -> None:
    with pytest.raises(BlockedAddress):
        AddressPolicy().check_ip(address)


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111"])
def test_public_addresses_pass(address: str) -> None:
    assert str(AddressPolicy().check_ip(address)) == address


def test_allowlist_admits_only_its_networks() -> None:
    policy = AddressPolicy.from_strings(["127.0.0.0/8"])
    policy.check_ip("127.0.0.1")
    policy.check_ip("::ffff:127.0.0.1")
    for other in ("10.0.0.1", "::1", "169.254.169.254", "64:ff9b::a00:1"):
        with pytest.raises(BlockedAddress):
            policy.check_ip(other)


def test_urls_are_resolved_before_the_check() -> None:
    policy = AddressPolicy()
    with pytest.raises(BlockedAddress, match="private, loopback"):
        policy.resolve("http://localhost:9/hook")  # a name that resolves to loopback
    with pytest.raises(BlockedAddress):
        policy.resolve("ftp://example.com/")
    with pytest.raises(BlockedAddress):
        policy.resolve("http://user:pw@8.8.8.8/")
    with pytest.raises(BlockedAddress, match="https"):
        AddressPolicy(https_only=True).resolve("http://8.8.8.8/")
    target, addresses = AddressPolicy.from_strings(["127.0.0.0/8"]).resolve("http://127.0.0.1:9/x?y=1")
    assert addresses == ["127.0.0.1"] and target.path == "/x?y=1"


def test_registration_refuses_loopback_without_the_allowlist(
    make_service: Callable[..., Running], receiver: Receiver
) -> None:
    running = make_service(allowed_subnets=[])
    for url in (receiver.url, receiver.url.replace("127.0.0.1", "localhost"), "http://[::ffff:127.0.0.1]:80/"):
        answer = running.client.post("/v1/endpoints", json={"url": url}, headers=running.auth)
        assert answer.status_code == 422 and "refused" in answer.text


def test_connect_time_check_stops_a_request(make_service: Callable[..., Running], receiver: Receiver) -> None:
    """An endpoint admitted at registration is checked again before each attempt."""
    running = make_service()
    endpoint = running.subscribe(receiver.url)
    running.service.worker.policy = AddressPolicy()  # the allowlist is withdrawn
    running.service.emit(Event("forecast.made", {"repo": "r", "path": "a"}, time.time()))
    deadline = time.time() + 5
    log: list[dict[str, object]] = []
    while time.time() < deadline and not log:
        log = running.client.get(f"/v1/endpoints/{endpoint['id']}/attempts", headers=running.auth).json()
        time.sleep(0.05)
    assert log and "SSRF guard" in str(log[0]["error"]) and log[0]["status_code"] is None
    assert receiver.received == []


def test_a_name_is_resolved_and_the_vetted_address_dialled(
    make_service: Callable[..., Running], receiver: Receiver
) -> None:
    """The request goes to the checked IP address; the Host header keeps the name the subscriber gave."""
    running = make_service()
    port = receiver.url.rsplit(":", 1)[1]
    running.subscribe(f"http://localhost:{port}/named")
    running.service.emit(Event("forecast.made", {"repo": "r", "path": "a"}, time.time()))
    (got,) = receiver.wait_for(1)
    assert got.path == "/named" and got.headers["host"] == f"localhost:{port}"
