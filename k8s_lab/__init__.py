"""Pure logic for k8s-lab: naming, ports, config validation and rendering.

Nothing in this package imports Pulumi, so every rule here is tested directly and
shared by the Pulumi program, the engine tests and the tools around it.
"""
