"""The IDE container: code-server on the lab network with the student's volumes, the
password file and the in-network kubeconfig."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_docker as docker

from k8s_lab import docker_diff, ide_container, limits
from k8s_lab.names import LabNames
from k8s_lab.ports import SlotPorts


@dataclass
class IdeContainerArgs:
    names: LabNames
    image: pulumi.Input[str]
    network_name: pulumi.Input[str]
    src_volume: pulumi.Input[str]
    vscode_volume: pulumi.Input[str]
    password: pulumi.Input[str]  # secret
    kubeconfig: pulumi.Input[str]  # secret, in-network
    ports: SlotPorts
    bind_address: str
    timezone: str
    extra_env: tuple[tuple[str, str], ...]
    extra_env_secret: bool  # ideEnv was set with --secret
    mount_docker_socket: bool
    docker_hostname: str | None = None  # the Docker host's name, when it is another machine
    host_name: str = ""  # the hostName setting: the host in the IDE's URL when given
    memory_mb: int | None = None  # the IDE's share of labMemory (k8s_lab.limits); None: no cap
    cpus: str | None = None  # labCpus; None: no cap
    https: ide_container.Https | None = None  # None: plain HTTP (loopback without a certificate)


class IdeContainer(pulumi.ComponentResource):
    name: pulumi.Output[str]
    url: pulumi.Output[str]

    def __init__(self, name: str, args: IdeContainerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("k8s-lab:index:IdeContainer", name, None, opts)
        volumes = [
            docker.ContainerVolumeArgs(volume_name=args.vscode_volume, container_path=ide_container.CONFIG_DIR),
            docker.ContainerVolumeArgs(volume_name=args.src_volume, container_path=ide_container.SRC_DIR),
            *(
                docker.ContainerVolumeArgs(host_path=mount.host_path, container_path=mount.container_path)
                for mount in ide_container.host_mounts(args.mount_docker_socket)
            ),
        ]
        https = args.https is not None
        healthcheck = ide_container.healthcheck(https)
        bindings = ide_container.port_bindings(args.ports, args.bind_address, args.docker_hostname is not None)
        container = docker.Container(
            f"{name}-container",
            name=args.names.ide_container,
            image=args.image,
            envs=ide_container.environment(args.timezone, args.extra_env, args.extra_env_secret, https),
            working_dir=ide_container.WORKING_DIR,
            ports=[
                docker.ContainerPortArgs(internal=internal, external=external, ip=ip) for internal, external, ip in bindings
            ],  # ignored in diffs, a replacement trigger instead: k8s_lab.docker_diff
            volumes=volumes,
            networks_advanced=[docker.ContainerNetworksAdvancedArgs(name=args.network_name)],
            # Uploaded before the container starts, so code-server never runs without them.
            uploads=[
                docker.ContainerUploadArgs(
                    file=ide_container.PASSWORD_FILE,
                    content=pulumi.Output.secret(args.password),
                    permissions=ide_container.PASSWORD_FILE_MODE,
                ),
                docker.ContainerUploadArgs(
                    file=ide_container.KUBECONFIG_FILE,
                    content=pulumi.Output.secret(args.kubeconfig),
                    permissions=ide_container.KUBECONFIG_FILE_MODE,
                ),
                *(
                    docker.ContainerUploadArgs(
                        file=ide_container.secret_env_file(env_name),
                        content=pulumi.Output.secret(value),
                        permissions=ide_container.PASSWORD_FILE_MODE,
                    )
                    for env_name, value in (args.extra_env if args.extra_env_secret else ())
                ),
                *https_uploads(args.https),
            ],
            restart="unless-stopped",
            healthcheck=docker.ContainerHealthcheckArgs(
                tests=healthcheck.tests,
                interval=healthcheck.interval,
                timeout=healthcheck.timeout,
                start_period=healthcheck.start_period,
                retries=healthcheck.retries,
            ),
            # `up` returns once code-server answers, not merely once the process started.
            wait=True,
            wait_timeout=ide_container.WAIT_TIMEOUT_SECONDS,
            must_run=True,
            destroy_grace_seconds=ide_container.STOP_GRACE_SECONDS,
            # Caps only when set, so a lab without them registers the inputs it always had.
            # `cpus` is sent as the provider reads it back (k8s_lab.limits.provider_cpus),
            # swap as -1 (limits.IDE_MEMORY_SWAP says why): the second `up` changes nothing.
            memory=args.memory_mb,
            memory_swap=limits.IDE_MEMORY_SWAP if args.memory_mb else None,
            cpus=limits.provider_cpus(args.cpus) if args.cpus else None,
            # The container's name and host ports are fixed: a replacement made before the
            # old one is gone would collide with it (pulumi-docker issue 1356).
            # A changed memory cap replaces the container too (its volumes stay), as `cpus`
            # does (ForceNew): in place, a cap switched off would stay on while state said
            # none (moby's UpdateContainer ignores Memory=0: daemon/container/container_unix.go).
            # So does a changed health check, which Update would only write to state.
            opts=pulumi.ResourceOptions(
                parent=self,
                delete_before_replace=True,
                replace_on_changes=ide_container.REPLACE_ON_CHANGES,
                **docker_diff.ports_by_trigger(bindings),
            ),
        )
        self.name = container.name
        self.url = pulumi.Output.from_input(ide_container.ide_url(args.bind_address, args.ports, args.docker_hostname, https, args.host_name))
        self.register_outputs({"name": self.name, "url": self.url})


def https_uploads(https: ide_container.Https | None) -> list[docker.ContainerUploadArgs]:
    """code-server's config file that turns HTTPS on and, when the teacher gave them, the
    certificate and its key (secret, readable by root only). Uploads are written before the
    container starts and are never read back: terraform-provider-docker keeps `upload` as
    the state has it ("upload can't be imported", resourceDockerContainerRead) and any change
    replaces the container (ForceNew), so the second `up` changes nothing."""
    if https is None:
        return []
    uploads = [
        docker.ContainerUploadArgs(
            file=ide_container.HTTPS_CONFIG_FILE,
            content=ide_container.https_config(https),
            permissions=ide_container.PUBLIC_FILE_MODE,
        )
    ]
    if https.certificate is not None and https.key is not None:
        uploads += [
            docker.ContainerUploadArgs(
                file=ide_container.HTTPS_CERT_FILE, content=https.certificate, permissions=ide_container.PUBLIC_FILE_MODE
            ),
            docker.ContainerUploadArgs(
                file=ide_container.HTTPS_KEY_FILE,
                content=pulumi.Output.secret(https.key),
                permissions=ide_container.PASSWORD_FILE_MODE,
            ),
        ]
    return uploads
