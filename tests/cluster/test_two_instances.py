"""Two real instances on a fresh database: they race for the migrations, a withdrawal flow
alternates between them, and a rolling restart hands the leadership over."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.cluster.harness import JOB_INTERVAL, Cluster, WebhookSeller, running
from tests.cluster.test_multi_instance import shop
from tests.conftest import require_postgres

pytestmark = [pytest.mark.cluster, pytest.mark.xdist_group("cluster-two")]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    require_postgres()
    with running("two", 2, tmp_path_factory.mktemp("two")) as two:
        yield two


def test_a_withdrawal_alternating_between_instances_keeps_its_step_and_draft(
        cluster: Cluster) -> None:
    shop(cluster, "S-ALT", (8301,), "600")
    owner = WebhookSeller(cluster, 8301)
    a, b = (one.base for one in cluster.instances)

    owner.send(owner.message("/withdraw 40"), a)
    owner.press("Corporate bank account", b)
    owner.send(owner.message("Acme Trading Ltd"), a)
    owner.send(owner.message("ICBC 6222 1234"), b)
    before = owner.press("Confirm withdrawal", a)

    done = "\n".join(owner.texts(before))
    assert "ICBC 6222 1234" in "\n".join(owner.texts()) and "40" in done
    assert cluster.status("S-ALT")["in_withdrawal"] == "40.00"


def test_a_rolling_restart_hands_the_leadership_over_within_one_job_interval(
        cluster: Cluster) -> None:
    leader, _ = cluster.wait_leader(timeout=10)

    assert cluster.instances[leader].stop() == 0  # SIGINT: the lock is released on the way
    _, took = cluster.wait_leader(timeout=3 * JOB_INTERVAL)

    assert took <= JOB_INTERVAL
    cluster.instances[leader].spawn()  # the upgraded process comes back as a follower
    cluster.instances[leader].wait_up()
    assert len(cluster.leaders()) == 1
