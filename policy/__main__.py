"""The k8s-lab policy pack: `pulumi preview --policy-pack policy`.

Only builds the pack. Constructing a PolicyPack starts the analyzer's gRPC server and
blocks, so nothing imports this file; the policies live in k8s_lab_policies.py.
"""

from pulumi_policy import PolicyPack

from k8s_lab_policies import PACK_NAME, policies

PolicyPack(name=PACK_NAME, policies=policies())
