"""Write-side permissions are decided in the service, whichever adapter calls: a viewer or an
analyst calling the library's write operations directly is refused with the role it needs."""

from __future__ import annotations

from pathlib import Path

import pytest

from reffy.auth import Role, User
from reffy.errors import PermissionDenied
from reffy.service import ReffyService
from reffy.service.library import RefreshHooks

VIEWER = User("vic", Role.viewer)
ANALYST = User("ana", Role.analyst)
ADMIN = User("ada", Role.admin)


@pytest.mark.parametrize(
    ("call", "who"),
    [
        (lambda s, u: s.ingest(["nothing"], user=u), ANALYST),
        (lambda s, u: s.score(user=u), ANALYST),
        (lambda s, u: s.build(user=u), ANALYST),
        (lambda s, u: s.index(user=u), ANALYST),
        (lambda s, u: s.tune(user=u), ANALYST),
        (lambda s, u: s.refresh(["nothing"], user=u), ANALYST),
        (lambda s, u: s.set_override("x", "industry", "finance", reason="r", user=u), VIEWER),
        (lambda s, u: s.remove_override("x", "industry", user=u), VIEWER),
        (lambda s, u: s.apply_overrides(user=u), VIEWER),
        (lambda s, u: s.overrides(user=u), VIEWER),
        (lambda s, u: s.config(user=u), VIEWER),
        (lambda s, u: s.create_token("bob", Role.viewer, user=u), ANALYST),
        (lambda s, u: s.list_tokens(user=u), ANALYST),
        (lambda s, u: s.revoke_token(1, user=u), ANALYST),
        (lambda s, u: s.remove_user("bob", user=u), ANALYST),
    ],
)
def test_write_operations_refuse_a_lower_role(settings, call, who: User) -> None:
    svc = ReffyService(settings)
    try:
        with pytest.raises(PermissionDenied) as info:
            call(svc, who)
        assert "role" in str(info.value) and who.name in str(info.value)  # says who and which role is needed
    finally:
        svc.close()
    assert not settings.db_path.exists()  # refused before anything was written


def test_refresh_runs_the_stages_in_order_and_tells_the_hooks(settings, tmp_path: Path) -> None:
    folder = tmp_path / "lib"
    folder.mkdir()
    (folder / "a.md").write_text(
        "---\ntitle: Nordvik Bank answers in a day\ncustomer: Nordvik Bank\n---\n"
        + "Nordvik Bank cut its answer time from five days to one with Quillon. " * 20,
        encoding="utf-8",
    )
    heard: list[tuple[str, str]] = []

    class Hooks(RefreshHooks):
        def started(self, stage: str, total: int | None) -> None:
            heard.append(("started", stage))

        def finished(self, stage: str, summary: object) -> None:
            heard.append(("finished", stage))

    svc = ReffyService(settings)
    try:
        done = svc.refresh([str(folder)], user=ADMIN, stages=("index", "ingest", "score", "build"), hooks=Hooks())
        assert list(done) == ["ingest", "score", "build", "index"]  # pipeline order, whatever order was asked
        assert done["ingest"].new == 1 and done["build"].stories + done["build"].below_threshold >= 1
        assert heard == [(e, s) for s in ("ingest", "score", "build", "index") for e in ("started", "finished")]
        with pytest.raises(Exception, match="Unknown pipeline stage 'embed': the stages are ingest, score"):
            svc.refresh(user=ADMIN, stages=("embed",))
    finally:
        svc.close()
