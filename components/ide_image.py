"""The IDE image: built here from ide/ (shared by every stack on the host), or pulled."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_docker as docker

from k8s_lab import ide_image


@dataclass
class IdeImageArgs:
    prebuilt: str | None  # the ideImage config value: pull this instead of building
    platform: str | None = None  # the idePlatform config value: the Docker host's (None: the provider's default)
    build_args: dict[str, str] = field(default_factory=lambda: dict(ide_image.BUILD_ARGS))


class IdeImage(pulumi.ComponentResource):
    ref: pulumi.Output[str]  # what a container's `image` takes

    def __init__(self, name: str, args: IdeImageArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("k8s-lab:index:IdeImage", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        if args.prebuilt:
            # keep_locally: other students' stacks on this host use the same image.
            pulled = docker.RemoteImage(f"{name}-pulled", name=args.prebuilt, keep_locally=True, opts=child)
            self.ref = pulled.image_id
        else:
            # The tag is a hash of ide/ and the build arguments: the same content gives the
            # same tag on every stack, and docker.Image never deletes an image on destroy.
            built = docker.Image(
                f"{name}-built",
                image_name=ide_image.image_name(ide_image.IDE_DIR, args.build_args, args.platform),
                # platform: pulumi-docker's Check would fill in this machine's GOARCH
                # (provider/provider.go:212-233), so a preview on another machine would differ.
                build=docker.DockerBuildArgs(context="ide", args=args.build_args, platform=args.platform),
                skip_push=True,
                opts=child,
            )
            self.ref = built.image_name
        self.register_outputs({"ref": self.ref})
