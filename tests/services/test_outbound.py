"""The rule for where the platform sends requests others chose the address of (webhook endpoints,
device command URLs): never to the network it runs in, unless ICITY_WEBHOOK_PRIVATE_NETWORKS."""

from __future__ import annotations

import pytest

from icity.services import outbound


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/hooks",
        "http://localhost/hooks",
        "https://10.1.2.3/hooks",
        "http://192.168.0.10/",
        "http://172.16.5.4/",
        "http://169.254.169.254/latest/meta-data/",  # the cloud's metadata service
        "http://100.64.0.1/",  # shared address space (carrier-grade NAT)
        "http://0.0.0.0:8000/",
        "http://224.0.0.1/",
        "http://240.0.0.1/",
        "http://[::1]:8000/",
        "http://[fe80::1]/",
        "http://[fc00::1]/",
        "http://[::ffff:10.0.0.1]/",  # IPv4 written as IPv6
        "http://2130706433/",  # 127.0.0.1 as one number
    ],
)
def test_an_address_inside_the_platforms_network_is_refused(url: str):
    refused = outbound.refusal(url)
    assert refused is not None and "private, loopback, link-local, multicast or reserved" in refused


def test_a_public_address_and_a_host_that_does_not_resolve_are_not_refused():
    assert outbound.refusal("https://93.184.215.14/hooks") is None
    assert outbound.refusal("https://[2606:4700:4700::1111]/hooks") is None
    assert outbound.refusal("https://app.example/hooks") is None  # .example never resolves: the request fails by itself


def test_the_setting_allows_private_addresses(private_networks):
    assert outbound.refusal("http://127.0.0.1:9/hooks") is None
