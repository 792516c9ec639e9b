"""The student's workspace: two host folders and the docker volumes bound to them."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_docker as docker

from k8s_lab import workspace
from k8s_lab.names import LabNames


@dataclass
class WorkspaceArgs:
    names: LabNames
    paths: workspace.WorkspacePaths
    # False on another Docker host: the student's folders are not on that machine, so the
    # volumes are plain Docker volumes there, kept on destroy (they hold the work).
    bind_folders: bool = True


class Workspace(pulumi.ComponentResource):
    src_volume: pulumi.Output[str]
    vscode_volume: pulumi.Output[str]

    def __init__(self, name: str, args: WorkspaceArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("k8s-lab:index:Workspace", name, None, opts)
        # The folders hold the student's work, so no resource owns them: they are made on
        # every `up` (a bind volume needs its folder to exist) and nothing ever deletes
        # them. A preview changes nothing on disk.
        if args.bind_folders and not pulumi.runtime.is_dry_run():
            workspace.ensure_folders(args.paths)
        child = pulumi.ResourceOptions(parent=self, retain_on_delete=not args.bind_folders)
        # Destroy removes these volumes; removing a bind volume leaves the folder's files.
        src, vscode = (
            docker.Volume(
                f"{name}-{purpose}",
                name=volume_name,
                driver="local",
                driver_opts=workspace.bind_volume_driver_opts(folder) if args.bind_folders else None,
                opts=child,
            )
            for purpose, volume_name, folder in (
                ("src", args.names.src_volume, args.paths.src),
                ("vscode", args.names.vscode_volume, args.paths.vscode),
            )
        )
        self.src_volume = src.name
        self.vscode_volume = vscode.name
        self.register_outputs({"src_volume": self.src_volume, "vscode_volume": self.vscode_volume})
