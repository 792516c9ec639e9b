"""The IDE password: the configured secret, or one generated and kept in state as a secret."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_random as random

GENERATED_LENGTH = 24


@dataclass
class IdePasswordArgs:
    configured: str | None  # the idePassword config value; None generates one


class IdePassword(pulumi.ComponentResource):
    value: pulumi.Output[str]

    def __init__(self, name: str, args: IdePasswordArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("k8s-lab:index:IdePassword", name, None, opts)
        if args.configured is not None:
            self.value = pulumi.Output.secret(args.configured)
        else:
            # Letters and digits only: the password is typed by students and read by
            # code-server from a file, so nothing needs quoting anywhere.
            generated = random.RandomPassword(
                f"{name}-generated",
                length=GENERATED_LENGTH,
                special=False,
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.value = pulumi.Output.secret(generated.result)
        self.register_outputs({"value": self.value})
