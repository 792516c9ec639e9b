"""The read-back model (tests/readback_model.py) against a real Docker Engine: a container
made as pulumi-docker makes the IDE (NanoCPUs, Memory, MemorySwap, health check in
nanoseconds: terraform-provider-docker v4.5.0 resource_docker_container_funcs.go Create),
and the lab network as components/network.py asks for it; what `docker inspect` shows is
what the provider's Read stores."""

from __future__ import annotations

import uuid

import pytest

from k8s_lab import ide_container, limits, network
from readback_model import MIB, Host, go_duration, nano_to_decimal_string, parse_cpus, stored_memory_swap

pytestmark = pytest.mark.engine

SECONDS = 1_000_000_000


def make_container(docker_client, image, *, cpus: str, memory_mb: int, memory_swap: int):
    api = docker_client.api
    check = ide_container.HEALTHCHECK
    host_config = api.create_host_config(
        nano_cpus=parse_cpus(cpus), mem_limit=memory_mb * MIB, memswap_limit=memory_swap * MIB if memory_swap > 0 else memory_swap
    )
    healthcheck = {
        "Test": ["CMD", "true"],
        "Interval": int(check.interval.rstrip("s")) * SECONDS,
        "Timeout": int(check.timeout.rstrip("s")) * SECONDS,
        "StartPeriod": int(check.start_period.rstrip("s")) * SECONDS,
        "Retries": check.retries,
    }
    made = api.create_container(image, ["sleep", "60"], name=f"k8slabtest-rb-{uuid.uuid4().hex[:6]}", host_config=host_config, healthcheck=healthcheck)
    return made["Id"]


@pytest.mark.parametrize("cpus", ["2", "1.5", "0.25", "10"])
def test_cpus_read_back_as_the_model_and_the_program_say(docker_client, base_image, cpus):
    if float(cpus) > docker_client.info()["NCPU"]:
        pytest.skip(f"Docker refuses {cpus} CPUs on a host with {docker_client.info()['NCPU']}")
    container = make_container(docker_client, base_image, cpus=cpus, memory_mb=256, memory_swap=limits.IDE_MEMORY_SWAP)
    try:
        nano = docker_client.api.inspect_container(container)["HostConfig"]["NanoCpus"]  # the API's JSON name
        assert nano_to_decimal_string(nano) == limits.provider_cpus(cpus)
    finally:
        docker_client.api.remove_container(container, force=True)


def test_memory_swap_and_health_check_read_back_as_modelled(docker_client, base_image):
    swap_accounting = bool(docker_client.info().get("SwapLimit"))
    host = Host(swap_accounting, "this engine")
    for swap in (limits.IDE_MEMORY_SWAP, 300):
        container = make_container(docker_client, base_image, cpus="1", memory_mb=300, memory_swap=swap)
        try:
            inspected = docker_client.api.inspect_container(container)
            stored_swap = inspected["HostConfig"]["MemorySwap"]
            read_back = stored_swap // MIB if stored_swap > 0 else stored_swap  # tpd funcs.go:940-944
            assert read_back == stored_memory_swap(swap, host), f"memory_swap {swap} on a host with swap accounting={swap_accounting}"
            assert inspected["HostConfig"]["Memory"] // MIB == 300
            check = inspected["Config"]["Healthcheck"]
            for key, given in (("Interval", ide_container.HEALTHCHECK.interval), ("Timeout", ide_container.HEALTHCHECK.timeout), ("StartPeriod", ide_container.HEALTHCHECK.start_period)):
                assert go_duration(f"{check[key] // 1_000_000}ms") == go_duration(given)
        finally:
            docker_client.api.remove_container(container, force=True)


def test_the_lab_network_reads_back_its_options_as_given(docker_client):
    for mtu in (None, 1450):
        options = network.network_options(mtu)
        made = docker_client.networks.create(f"k8slabtest-rb-{uuid.uuid4().hex[:6]}", driver=network.DRIVER, options=options, enable_ipv6=False)
        try:
            made.reload()
            assert made.attrs["Options"] == options  # tpd resource_docker_network_funcs.go:193 Read
            assert made.attrs["EnableIPv6"] is False and made.attrs["Driver"] == network.DRIVER
        finally:
            made.remove()
