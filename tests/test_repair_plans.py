"""Every repair plan for every combination of what is lost: the exact URNs to replace, in
order, whether to refresh, and the reasons `up` prints (k8s_lab.repair.plan)."""

import itertools

import pytest

from k8s_lab import repair

CLUSTER = "urn:pulumi:kim::k8s-lab::k8s-lab:index:KindCluster$command:local:Command::cluster-cluster"
BUILT = "urn:pulumi:kim::k8s-lab::k8s-lab:index:IdeImage$docker:index/image:Image::ide-image-built"
PULLED = "urn:pulumi:kim::k8s-lab::k8s-lab:index:IdeImage$docker:index/remoteImage:RemoteImage::ide-image-pulled"
CLUSTER_REASON = "the kind cluster is gone: it is made again, and the IDE gets its new credentials"
IDE_REASON = "the IDE container is gone: it is made again"


def expected(cluster_missing, ide_missing, image_missing, prebuilt_image):
    replace, reasons = [], []
    if cluster_missing:
        replace.append(CLUSTER)
        reasons.append(CLUSTER_REASON)
    if image_missing:
        replace.append(PULLED if prebuilt_image else BUILT)
        reasons.append(f"the IDE image is not in Docker: it is {'pulled' if prebuilt_image else 'built'} again")
    if ide_missing:
        reasons.append(IDE_REASON)
    return repair.Repair(replace, refresh=bool(reasons), reasons=reasons)


@pytest.mark.parametrize("lost", list(itertools.product([False, True], repeat=4)), ids=lambda lost: "".join("CIMP"[i] if v else "-" for i, v in enumerate(lost)))
def test_every_combination_of_losses_has_its_plan(lost):
    findings = repair.Findings(*lost)
    plan = repair.plan("kim", findings)
    assert plan == expected(*lost)
    assert bool(plan) == any(lost[:3])  # a prebuilt image alone is nothing lost


def test_an_ide_lost_alone_is_a_refresh_without_a_replace():
    plan = repair.plan("kim", repair.Findings(cluster_missing=False, ide_missing=True, image_missing=False, prebuilt_image=False))
    assert plan.replace == [] and plan.refresh is True and bool(plan)


def test_the_urn_of_another_project_and_nested_parents():
    assert repair.urn("s", ["a:b:C", "d:e:F"], "g:h:I", "n", project="p") == "urn:pulumi:s::p::a:b:C$d:e:F$g:h:I::n"
    assert repair.child_urn("lee", repair.CLUSTER_COMMAND) == CLUSTER.replace("kim", "lee")


def test_a_replace_alone_is_a_repair():
    assert repair.Repair(replace=["urn:pulumi:kim::k8s-lab::command:local:Command::kim-cluster"])
    assert not repair.Repair() and repair.Repair(refresh=True)
